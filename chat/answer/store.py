"""Stage 7: store the answer, its citations and its trace (what a wrong answer is traced back with)."""

from dataclasses import asdict

from django.conf import settings

from chat.answer import prompt
from chat.answer.record import Answer, Verdict
from chat.answer.verify import SentenceRelease
from chat.conversations import services
from chat.models import Message


def question_store(answer: Answer, status: str) -> None:
    turn = answer.turn
    if turn.regenerate_of is not None:
        return
    services.message_add(
        tenant=turn.tenant, conversation=turn.conversation, role=Message.Role.USER, content=turn.question, status=status
    )


def citation_rows(text: str, answer: Answer) -> list[dict]:
    """A row per passage the shown text cites, with the stretch of the passage that supports it."""
    release = SentenceRelease([p.text for p in answer.passages])
    kept = {}
    for checked in release.feed(text) + release.flush():
        for number, found in checked.kept.items():
            kept.setdefault(number, found)
    rows = []
    for number, found in sorted(kept.items()):
        passage = answer.passages[number - 1]
        rows.append(
            {
                "number": number,
                "chunk_id": passage.chunk_id,
                "document_id": passage.document_id,
                "version": passage.version,
                "page": passage.page,
                "section": passage.section[:500],
                "title": passage.title[:300],
                "quote": found.quote,
                "support": found.score,
            }
        )
    return rows


def trace_of(answer: Answer, verdict: Verdict) -> dict:
    turn, draft = answer.turn, answer.draft
    retrieval = answer.retrieval
    trace = {
        "question": turn.question,
        "standalone_query": retrieval.standalone_question if retrieval else "",
        "prompt_version": (turn.variant and turn.variant.settings.prompt_version) or prompt.PROMPT_VERSION,
        "model": settings.LLM_MODEL,
        "variant": turn.variant.as_dict() if turn.variant else None,
        "kind": verdict.kind,
        **(retrieval.trace if retrieval else {}),
        **(answer.direct.trace if answer.direct else {}),
        "passages_sent": [p.chunk_id for p in answer.passages],
        "flagged_passages": {p.chunk_id: p.safety_flags for p in answer.passages if p.safety_flags},
        "evidence": [asdict(e) for e in answer.evidence],
        "weak_evidence": bool(answer.grounds and answer.grounds.weak),
        "draft_abandoned": bool(draft and draft.abandoned),
        "quoted_first": bool(answer.quote and answer.quote.first),
        "sentence_checks": list(draft.sentence_checks) if draft else [],
        "removed_sentences": [asdict(r) for r in draft.removed] if draft else [],
        "tools_allowed": False,  # tools answer only questions that need no documents
        "safety": answer.moderation.trace,
        "timings_ms": dict(answer.timings_ms),
    }
    if draft and draft.ungrounded:
        trace["ungrounded"] = True
    if draft and draft.stopped_by_user:
        trace["stopped_by_user"] = True
    if draft is not None:
        trace["safety"] = answer.moderation.trace | {"output": draft.guard.trace()}
        if draft.guard_stop:
            trace["safety_stop"] = {"category": draft.guard_stop.category}
        if draft.generation is not None:
            trace["timings_ms"]["ttft_model"] = draft.generation.ttft_ms
            trace["tokens"] = usage(answer)
    if answer.error is not None:
        trace["error"] = {"code": answer.error.code, "message": str(answer.error)[:300]}
    return trace


def usage(answer: Answer) -> dict:
    generation = answer.draft.generation if answer.draft else None
    if generation is None:
        return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    prompt_tokens, completion_tokens = generation.prompt_tokens or 0, generation.completion_tokens or 0
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def moderation_of(answer: Answer) -> tuple[str, str]:
    """The most severe decision that was not "allow": a stopped answer, else the question's, else a caution
    raised while the answer streamed."""
    guard = answer.draft.guard if answer.draft else None
    if guard is not None and guard.stopped:
        return guard.stopped.action, guard.stopped.category or ""
    decision = answer.moderation.decision
    if decision is not None and decision.action != "allow":
        return decision.action, decision.category or ""
    if guard is not None and guard.notes:
        return "caution", sorted(guard.notes)[0]
    return "", ""


def sizes_of(answer: Answer) -> dict:
    generation = answer.draft.generation if answer.draft else None
    if generation is None:
        return {}
    ttft = generation.ttft_ms
    return {"first_token_ms": None if ttft is None else round(ttft), "total_tokens": usage(answer)["total_tokens"]}


def answer_store(answer: Answer, verdict: Verdict) -> Message:
    turn = answer.turn
    answer.mark("total")
    shown = answer.quote.text if answer.quote else answer.draft.shown if answer.draft else ""
    answer.citations = citation_rows(shown, answer) if answer.passages else []
    return services.answer_store(
        tenant=turn.tenant,
        conversation=turn.conversation,
        content=verdict.text,
        status=verdict.status,
        error_code=answer.error.code if answer.error else "",
        citations=answer.citations,
        trace=trace_of(answer, verdict),
        context_documents=None if answer.context_private else [p.document_id for p in answer.passages],
        regenerated_from=turn.regenerate_of,
        moderation=moderation_of(answer),
        experiment_arm=turn.experiment_arm,
        sizes=sizes_of(answer),
    )
