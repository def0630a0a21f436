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


__all__ = ["Turn", "answer_collect", "answer_events"]
