"""The answer loop: moderate -> retrieve -> select evidence -> generate -> verify -> decide -> store.

`answer_events` yields events for any transport (SSE, JSON, the OpenAI-compatible endpoint):
  sources    the passages the answer may cite, numbered, sent before the model is asked (when the best
             evidence is strong enough, the answer quotes it and the model is not asked at all)
  tool       a tool the router ran (calculator, date and time) with its input and output
  token      a verified sentence (or a piece of an ungrounded answer) that may be shown now
  citations  each checked draft sentence: the citations it keeps and drops, or that it was removed
  message    the stored answer: text (with its note), status, kind, note, citations, usage
  error      the model or moderation failed; what was shown is stored as incomplete
  safety     output moderation stopped the answer: the category and the notice that replaces the rest
Closing the generator (the client went away or pressed stop) stops the model and stores what was
shown as incomplete.
"""

from collections.abc import Iterator
from dataclasses import asdict

from django.conf import settings

from chat.answer import arms, decide, evidence, generate, moderate, prompt, retrieve, store, tools
from chat.answer.record import Answer, Turn
from chat.memory import services as memory
from safety import moderation


def answer_events(turn: Turn) -> Iterator[dict]:
    if turn.variant is None:
        arms.turn_variant_choose(turn)
    answer = Answer(turn=turn)
    retrieve.history_load(answer)
    moderate.request_moderate(answer)
    store.question_store(answer)
    if answer.error is not None or moderate.refused(answer):
        yield {"event": "sources", "data": []}
        yield from _finish(answer)
        return
    to_remember = memory.request_to_remember(turn.question)
    if to_remember is not None:
        yield {"event": "sources", "data": []}
        _remember(answer, to_remember)
        yield from _finish(answer)
        return
    calls = tools.route(turn.question)
    if calls:
        yield {"event": "sources", "data": []}
        yield from ({"event": "tool", "data": asdict(call)} for call in calls)
        answer.direct_text = tools.answer_text(calls)
        answer.direct_trace = {"tools": [asdict(call) for call in calls]}
        yield from _finish(answer)
        return
    retrieve.passages_retrieve(answer)
    answer.mark("sources")
    yield {"event": "sources", "data": [retrieve.source(n, p) for n, p in enumerate(answer.passages, start=1)]}
    if not answer.passages:
        if turn.tenant.allow_ungrounded_answers:
            answer.ungrounded = True
            yield {"event": "token", "data": {"text": prompt.UNGROUNDED_LABEL}}
            yield from _generated(answer, generate.ungrounded_messages(answer), generate.as_is)
        else:
            yield from _finish(answer)
        return
    answer.evidence = evidence.evidence_select(
        answer.standalone_question, answer.passages, most=answer.turn.variant.settings.evidence_count
    )
    answer.mark("evidence")
    if not evidence.strong(answer.evidence):
        answer.weak_evidence = True
        yield from _finish(answer)
        return
    if evidence.quotable(answer.evidence, settings.ENCLAVE_QUOTE_SCORE):
        answer.extractive = decide.extractive_text(answer)
        if answer.extractive:
            answer.quoted_first = True
            answer.timings_ms.setdefault("first_token", _elapsed(answer))
            yield {"event": "token", "data": {"text": answer.extractive}}
            yield from _finish(answer)
            return
    yield from _generated(answer, generate.grounded_messages(answer), generate.verified_release(answer))


def _generated(answer: Answer, messages: list[dict], release) -> Iterator[dict]:
    """Stream, then finish; when the reader goes away, the model stops and what was shown is stored."""
    checked = 0
    try:
        for piece in generate.shown_pieces(answer, messages, release):
            answer.timings_ms.setdefault("first_token", _elapsed(answer))
            yield {"event": "token", "data": {"text": piece}}
            checked = yield from _checks(answer, checked)
        checked = yield from _checks(answer, checked)
    except GeneratorExit:
        answer.stopped_by_user = True
        decide.decide(answer)
        store.answer_store(answer)
        raise
    if decide.extractive_wanted(answer):
        answer.extractive = decide.extractive_text(answer)
        if answer.extractive:
            answer.timings_ms.setdefault("first_token", _elapsed(answer))
            yield {"event": "token", "data": {"text": answer.extractive}}
    yield from _finish(answer)


def _checks(answer: Answer, already: int) -> Iterator[dict]:
    """One `citations` event per draft sentence checked since the last call."""
    for check in answer.sentence_checks[already:]:
        yield {"event": "citations", "data": check}
    return len(answer.sentence_checks)


def _elapsed(answer: Answer) -> float:
    answer.mark("_now")
    return answer.timings_ms.pop("_now")


def _remember(answer: Answer, text: str) -> None:
    turn = answer.turn
    answer.context_private = True
    if memory.enabled(user=turn.user):
        memory.remember(tenant=turn.tenant, user=turn.user, text=text)
        answer.direct_trace = {"memory": "stored"}
        answer.direct_text = f"I will remember that: {text}. You can see and delete what I remember under Memory."
    else:
        answer.direct_trace = {"memory": "off"}
        answer.direct_text = (
            "Memory is off for you, so I did not keep that. Turn memory on first if you want me to remember things."
        )


def _finish(answer: Answer) -> Iterator[dict]:
    decide.decide(answer)
    message = store.answer_store(answer)
    guard_stop = answer.guard.stopped if answer.guard else None
    if guard_stop:
        notice = moderation.stopped_notice(guard_stop)
        yield {"event": "safety", "data": {"category": guard_stop.category, "notice": notice}}
    yield {
        "event": "message",
        "data": {
            "id": str(message.public_id),
            "status": message.status,
            "kind": answer.kind,
            "text": answer.text,
            "note": answer.note,
            "removed_sentences": len(answer.removed),
            "citations": answer.citations,
            "usage": store.usage(answer),
        },
    }
    if answer.error is not None:
        error = {"code": answer.error.code, "message": str(answer.error)}
        if getattr(answer.error, "retry_after", None):
            error["retry_after"] = answer.error.retry_after
        yield {"event": "error", "data": error}
