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
from chat.answer.record import Answer, Direct, Grounds, Quote, Turn
from chat.memory import services as memory
from safety import moderation


def answer_events(turn: Turn) -> Iterator[dict]:
    if turn.variant is None:
        arms.turn_variant_choose(turn)
    answer = Answer(turn=turn)
    answer.history, answer.context_private = retrieve.history_load(turn)
    answer.moderation = moderate.request_moderate(turn)
    store.question_store(answer, decide.question_status(answer.moderation))
    if answer.moderation.error is not None or answer.moderation.refused:
        yield {"event": "sources", "data": []}
        yield from _finish(answer)
        return
    to_remember = memory.request_to_remember(turn.question)
    if to_remember is not None:
        yield {"event": "sources", "data": []}
        answer.context_private = True
        answer.direct = _remember(turn, to_remember)
        yield from _finish(answer)
        return
    calls = tools.route(turn.question)
    if calls:
        yield {"event": "sources", "data": []}
        yield from ({"event": "tool", "data": asdict(call)} for call in calls)
        answer.direct = Direct(text=tools.answer_text(calls), trace={"tools": [asdict(call) for call in calls]})
        yield from _finish(answer)
        return
    answer.retrieval = retrieve.passages_retrieve(turn, answer.history)
    answer.mark("sources")
    yield {"event": "sources", "data": [retrieve.source(n, p) for n, p in enumerate(answer.passages, start=1)]}
    if not answer.passages:
        if turn.tenant.allow_ungrounded_answers:
            yield {"event": "token", "data": {"text": prompt.UNGROUNDED_LABEL}}
            yield from _generated(answer, generate.ungrounded_messages(answer), grounded=False)
        else:
            yield from _finish(answer)
        return
    texts = [p.text for p in answer.passages]
    chosen = evidence.evidence_select(
        answer.retrieval.standalone_question, texts, most=turn.variant.settings.evidence_count
    )
    answer.grounds = Grounds(evidence=tuple(chosen), weak=not evidence.strong(chosen))
    answer.mark("evidence")
    if answer.grounds.weak:
        yield from _finish(answer)
        return
    if evidence.quotable(chosen, settings.ENCLAVE_QUOTE_SCORE):
        quoted = decide.extractive_text(chosen, texts)
        if quoted:
            answer.quote = Quote(text=quoted, first=True)
            answer.timings_ms.setdefault("first_token", _elapsed(answer))
            yield {"event": "token", "data": {"text": quoted}}
            yield from _finish(answer)
            return
    messages, remembered = generate.grounded_messages(answer)
    answer.context_private = answer.context_private or remembered
    yield from _generated(answer, messages, grounded=True)


def _generated(answer: Answer, messages: list[dict], *, grounded: bool) -> Iterator[dict]:
    """Stream, then finish; when the reader goes away, the model stops and what was shown is stored."""
    drafting = generate.Drafting(answer, messages, grounded=grounded)
    checked = 0
    try:
        for piece in drafting.pieces():
            answer.timings_ms.setdefault("first_token", _elapsed(answer))
            yield {"event": "token", "data": {"text": piece}}
            checked = yield from _checks(drafting.sentence_checks, checked)
        checked = yield from _checks(drafting.sentence_checks, checked)
    except GeneratorExit:
        answer.draft = drafting.finished(stopped_by_user=True)
        store.answer_store(answer, decide.decide(answer))
        raise
    answer.draft = drafting.finished()
    if decide.extractive_wanted(answer):
        quoted = decide.extractive_text(answer.evidence, [p.text for p in answer.passages])
        if quoted:
            answer.quote = Quote(text=quoted, first=False)
            answer.timings_ms.setdefault("first_token", _elapsed(answer))
            yield {"event": "token", "data": {"text": quoted}}
    yield from _finish(answer)


def _checks(sentence_checks: list[dict], already: int) -> Iterator[dict]:
    """One `citations` event per draft sentence checked since the last call."""
    for check in sentence_checks[already:]:
        yield {"event": "citations", "data": check}
    return len(sentence_checks)


def _elapsed(answer: Answer) -> float:
    answer.mark("_now")
    return answer.timings_ms.pop("_now")


def _remember(turn: Turn, text: str) -> Direct:
    if memory.enabled(user=turn.user):
        memory.remember(tenant=turn.tenant, user=turn.user, text=text)
        receipt = f"I will remember that: {text}. You can see and delete what I remember under Memory."
        return Direct(text=receipt, trace={"memory": "stored"})
    return Direct(
        text="Memory is off for you, so I did not keep that. Turn memory on first if you want me to remember things.",
        trace={"memory": "off"},
    )


def _finish(answer: Answer) -> Iterator[dict]:
    verdict = answer.verdict = decide.decide(answer)
    message = store.answer_store(answer, verdict)
    guard_stop = answer.draft.guard_stop if answer.draft else None
    if guard_stop:
        notice = moderation.stopped_notice(guard_stop)
        yield {"event": "safety", "data": {"category": guard_stop.category, "notice": notice}}
    yield {
        "event": "message",
        "data": {
            "id": str(message.public_id),
            "status": message.status,
            "kind": verdict.kind,
            "text": verdict.text,
            "note": verdict.note,
            "removed_sentences": len(answer.draft.removed) if answer.draft else 0,
            "citations": answer.citations,
            "usage": store.usage(answer),
        },
    }
    if answer.error is not None:
        error = {"code": answer.error.code, "message": str(answer.error)}
        if getattr(answer.error, "retry_after", None):
            error["retry_after"] = answer.error.retry_after
        yield {"event": "error", "data": error}
