"""The answer loop as a package of stages (see loop.py); callers use these three names."""

from chat.answer.loop import answer_events
from chat.answer.record import Turn


def answer_collect(events) -> dict:
    """An answer's events gathered for callers that do not stream: sources, message, error (or None)."""
    found = {"sources": [], "message": None, "error": None}
    for event in events:
        if event["event"] in found:
            found[event["event"]] = event["data"]
    return found


def collected_status(collected: dict) -> tuple[int, dict]:
    """(HTTP status, headers) for a collected answer: 429 with Retry-After when the model server could not
    take it yet (the tenant's answers in flight), so an API caller knows to come back; else 200."""
    retry_after = (collected.get("error") or {}).get("retry_after")
    return (429, {"Retry-After": str(retry_after)}) if retry_after else (200, {})


__all__ = ["Turn", "answer_collect", "answer_events", "collected_status"]
