"""The answer loop (DESIGN.md): condense -> retrieve with the user's ACLs -> prompt with numbered
passages within the context budget -> stream -> verify citations -> store message, citations, trace.

`answer_events` yields events for any transport (SSE, JSON, the OpenAI-compatible endpoint):
  sources    the passages the answer may cite, numbered
  tool       a tool the router ran (calculator, date and time) with its input and output
  token      a piece of the draft answer
  citations  as each sentence of the draft completes: the citations it keeps and drops (provisional)
  message    the stored answer after verification (text with kept citations, status, citations)
  error      the model failed; the partial answer is stored as incomplete
  safety     output moderation stopped the answer: the category and the notice that replaces the rest
Closing the generator (the client went away or pressed stop) stops the model and stores what
arrived as incomplete.

Safety: the question is moderated before anything else (a refused question reaches neither search
nor the model); the answer streams through a `StreamGuard` that releases it a window at a time;
passages flagged at ingestion (injected instructions, hidden text) go into the prompt neutralised,
and tools never run on an answer with retrieved context.
"""

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from django.conf import settings

from chat import citations, memory, prompt, selectors, services, tools
from chat.models import Conversation, Message
from inference import budget
from inference.client import chat_stream
from inference.errors import LlmError
from retrieval.search import Passage, search
from safety import moderation
from safety.injection import neutralize, scan
from safety.policy import policy_current
from tenants.accounts.models import User
from tenants.models import Tenant

MIN_RELEVANCE = 0.4


@dataclass
class Turn:
    tenant: Tenant
    conversation: Conversation
    user: User
    principals: list[str]
    question: str
    history: list[dict] | None = None  # given by the caller (OpenAI-compatible API) instead of the stored turns
    regenerate_of: Message | None = None  # answer `question` again, beside this earlier answer
    safety: dict = field(default_factory=dict)  # filled by the loop: what moderation decided, for the trace
    # The answer's context held something the stored context documents do not show (the user's memories,
    # history sent by an API caller): the training gate then treats the answer as ineligible.
    context_private: bool = False


def _moderate_request(turn: Turn, policy) -> moderation.Decision:
    """The question, and every user message of history an API caller sent with it: the most severe decision."""
    texts = [turn.question] + [m["content"] for m in (turn.history or []) if m.get("role") == "user"]
    decisions = [moderation.moderate(text, policy=policy) for text in texts]
    return max(decisions, key=lambda d: moderation.ACTION_ORDER.index(d.action))


def _relevance(question: str, passage: Passage) -> float:
    return max(passage.scores.get("dense") or 0.0, citations.support(question, passage.text))


def _source(number: int, passage: Passage) -> dict:
    return {
        "number": number,
        "chunk_id": passage.chunk_id,
        "document_id": passage.document_id,
        "title": passage.title,
        "version": passage.version,
        "page": passage.page,
        "section": passage.section,
        "text": passage.text,
    }


def _citation_rows(verified: citations.Verified, passages: list[Passage]) -> list[dict]:
    rows = []
    for number, kept in sorted(verified.citations.items()):
        passage = passages[number - 1]
        rows.append(
            {
                "number": number,
                "chunk_id": passage.chunk_id,
                "document_id": passage.document_id,
                "version": passage.version,
                "page": passage.page,
                "section": passage.section[:500],
                "title": passage.title[:300],
                "quote": kept.quote,
                "support": kept.support,
            }
        )
    return rows


def _message_event(message: Message, text: str, rows: list[dict]) -> dict:
    return {
        "event": "message",
        "data": {
            "id": str(message.public_id),
            "status": message.status,
            "text": text,
            "citations": rows,
        },
    }


def answer_collect(events) -> dict:
    """An answer's events gathered for callers that do not stream: sources, message, error (or None)."""
    found = {"sources": [], "message": None, "error": None}
    for event in events:
        if event["event"] in found:
            found[event["event"]] = event["data"]
    return found


def answer_events(turn: Turn) -> Iterator[dict]:
    started = time.perf_counter()
    if turn.history is not None:
        history = turn.history
    else:
        before = turn.regenerate_of.created_at if turn.regenerate_of else None
        history = selectors.history(tenant=turn.tenant, conversation=turn.conversation, before=before)
        if turn.regenerate_of:
            history = history[:-1]  # the question itself
    policy = policy_current()
    decision = _moderate_request(turn, policy)
    turn.safety = {"policy_version": policy.version, "input": decision.trace(), "notes": {}}
    if turn.regenerate_of is None:
        # A refused question is stored as refused, so no later turn carries it in its history.
        status = Message.Status.REFUSED if decision.action == "refuse" else Message.Status.COMPLETE
        services.message_add(
            tenant=turn.tenant,
            conversation=turn.conversation,
            role=Message.Role.USER,
            content=turn.question,
            status=status,
        )
    if turn.history:
        turn.context_private = True  # history from an API caller: what it drew on is not known
    if decision.action == "refuse":
        yield {"event": "sources", "data": []}
        yield from _finish(
            turn,
            {"question": turn.question, "timings_ms": {}},
            text="",
            status=Message.Status.REFUSED,
            passages=[],
            started=started,
            appendix=decision.refusal,
        )
        return
    if decision.action == "caution":
        turn.safety["notes"][decision.category] = decision.note
    to_remember = memory.request_to_remember(turn.question)
    if to_remember is not None:
        yield from _remember(turn, to_remember, started)
        return
    calls = tools.route(turn.question)
    if calls:
        yield from _tool_answer(turn, calls, started)
        return
    outcome = search(
        turn.question,
        principals=turn.principals,
        history=history,
        limit=settings.ENCLAVE_CHAT_PASSAGES,
        highlight=False,  # answers show whole passages; highlights would be a wasted statement
    )
    question = outcome.query.standalone
    passages = [p for p in outcome.passages if _relevance(question, p) >= MIN_RELEVANCE]
    trace = {
        "question": turn.question,
        "standalone_query": question,
        "condensed_by": outcome.query.method,
        "reranker": outcome.reranker,
        "candidates": outcome.candidates[:20],
        "passages_sent": [p.chunk_id for p in passages],
        "prompt_version": prompt.PROMPT_VERSION,
        "model": settings.LLM_MODEL,
        "timings_ms": {"retrieval": outcome.timings_ms.get("total")},
    }
    yield {"event": "sources", "data": [_source(n, p) for n, p in enumerate(passages, start=1)]}
    if not passages:
        if turn.tenant.allow_ungrounded_answers:
            yield from _ungrounded(turn, trace, question, history, started)
        else:
            yield from _finish(
                turn, trace, text=prompt.ABSTAIN, status=Message.Status.ABSTAINED, passages=[], started=started
            )
        return

    remembered = []
    if memory.enabled(user=turn.user):
        facts = memory.facts(tenant=turn.tenant, user=turn.user, limit=memory.MAX_FACTS_IN_PROMPT)
        remembered = [text for _fact, text in facts]
        turn.context_private = turn.context_private or bool(remembered)
    system = prompt.system(remembered)
    fitted = budget.fit(
        system=system,
        question=question,
        passages=[_prompt_block(n, p) for n, p in enumerate(passages, start=1)],
        history=history,
        max_tokens=settings.ENCLAVE_CHAT_MAX_TOKENS,
        context_tokens=settings.LLM_CONTEXT_TOKENS,
    )
    passages = passages[: len(fitted.passages)]
    trace["passages_sent"] = [p.chunk_id for p in passages]
    trace["flagged_passages"] = {p.chunk_id: p.safety_flags for p in passages if p.safety_flags}
    trace["tools_allowed"] = False  # tools answer only questions that need no documents
    trace["history_turns_sent"] = len(fitted.history)
    stream = chat_stream(
        prompt.messages(system=system, question=question, passages=fitted.passages, history=fitted.history),
        max_tokens=settings.ENCLAVE_CHAT_MAX_TOKENS,
        purpose="chat",
        user_id=turn.user.public_id,
        conversation=str(turn.conversation.public_id),
    )
    error = None
    guard = moderation.StreamGuard(policy)
    sentences = citations.SentenceChecker([p.text for p in passages])
    try:
        for released in _guarded(stream, guard):
            yield {"event": "token", "data": {"text": released}}
            yield from _checked(sentences, released)
    except LlmError as exc:
        error = exc
        tail = _flushed(guard)  # what arrived before the failure, once it passes moderation
        if tail:
            yield {"event": "token", "data": {"text": tail}}
            yield from _checked(sentences, tail)
    except GeneratorExit:
        stream.close()
        trace["stopped_by_user"] = True
        _store(turn, trace, guard.released, Message.Status.INCOMPLETE, passages, started, stream, guard=guard)
        raise
    complete = stream.generation.complete and not guard.failed
    status = Message.Status.COMPLETE if complete else Message.Status.INCOMPLETE
    if error and not guard.released:
        status = Message.Status.FAILED
    yield from _finish(
        turn,
        trace,
        text=guard.released,
        status=status,
        passages=passages,
        started=started,
        stream=stream,
        error=error,
        guard=guard,
    )


def _flushed(guard: moderation.StreamGuard) -> str:
    try:
        return guard.flush()
    except LlmError:
        return ""  # moderation is out of reach too: nothing more is shown


def _checked(sentences: citations.SentenceChecker, released: str) -> Iterator[dict]:
    """Citation checks of the sentences a released window completes (a window ends at a sentence end)."""
    ending = " " if moderation.SENTENCE_END.search(released) else ""
    for checked in sentences.feed(released + ending):
        yield {"event": "citations", "data": checked}


def _prompt_block(number: int, passage: Passage) -> str:
    """A passage flagged at ingestion goes in with its injected instructions and hidden characters removed;
    so does a title that carries them (titles can change after indexing, so they are screened here)."""
    title = neutralize(passage.title) if scan(passage.title) else passage.title
    text = neutralize(passage.text) if passage.safety_flags else passage.text
    return prompt.passage_block(number, title, passage.page, text)


def _guarded(stream, guard: moderation.StreamGuard) -> Iterator[str]:
    """The answer's text as the guard releases it; the model stops when a window is refused, or when
    moderation itself fails (a guard model that cannot be reached): then the answer is incomplete."""
    try:
        for delta in stream:
            released = guard.feed(delta)
            if released:
                yield released
            if guard.stopped:
                stream.close()
                return
        released = guard.flush()
    except LlmError:
        stream.close()
        raise
    if released:
        yield released


def _ungrounded(turn: Turn, trace: dict, question: str, history: list[dict], started: float) -> Iterator[dict]:
    """The tenant allows answers from the model's own knowledge: labelled, never cited."""
    trace["ungrounded"] = True
    messages = [
        {"role": "system", "content": prompt.UNGROUNDED_SYSTEM},
        *history[-4:],
        {"role": "user", "content": question},
    ]
    stream = chat_stream(
        messages, max_tokens=settings.ENCLAVE_CHAT_MAX_TOKENS, purpose="chat", user_id=turn.user.public_id
    )
    error = None
    guard = moderation.StreamGuard(policy_current())
    yield {"event": "token", "data": {"text": prompt.UNGROUNDED_LABEL}}
    try:
        for released in _guarded(stream, guard):
            yield {"event": "token", "data": {"text": released}}
    except LlmError as exc:
        error = exc
        tail = _flushed(guard)
        if tail:
            yield {"event": "token", "data": {"text": tail}}
    status = Message.Status.UNGROUNDED if stream.generation.complete and not guard.failed else Message.Status.INCOMPLETE
    yield from _finish(
        turn,
        trace,
        text=prompt.UNGROUNDED_LABEL + guard.released,
        status=status,
        passages=[],
        started=started,
        error=error,
        guard=guard,
    )


def _remember(turn: Turn, text: str, started: float) -> Iterator[dict]:
    turn.context_private = True
    trace = {"question": turn.question, "memory": "stored", "prompt_version": prompt.PROMPT_VERSION, "timings_ms": {}}
    if memory.enabled(user=turn.user):
        memory.remember(tenant=turn.tenant, user=turn.user, text=text)
        reply = f"I will remember that: {text}. You can see and delete what I remember under Memory."
    else:
        trace["memory"] = "off"
        reply = "Memory is off for you, so I did not keep that. Turn memory on first if you want me to remember things."
    yield {"event": "sources", "data": []}
    yield from _finish(turn, trace, text=reply, status=Message.Status.COMPLETE, passages=[], started=started)


def _tool_answer(turn: Turn, calls: list[tools.ToolCall], started: float) -> Iterator[dict]:
    """A question only tools answer (arithmetic, the date): no documents, no model."""
    trace = {
        "question": turn.question,
        "tools": [asdict(call) for call in calls],
        "prompt_version": prompt.PROMPT_VERSION,
        "timings_ms": {},
    }
    yield {"event": "sources", "data": []}
    for call in calls:
        yield {"event": "tool", "data": asdict(call)}
    yield from _finish(
        turn, trace, text=tools.answer_text(calls), status=Message.Status.COMPLETE, passages=[], started=started
    )


def _store(turn, trace, text, status, passages, started, stream=None, error=None, guard=None, appendix=""):
    if guard is not None:
        turn.safety["output"] = guard.trace()
        turn.safety["notes"] |= guard.notes
        if guard.stopped:
            status, appendix = Message.Status.REFUSED, moderation.stopped_notice(guard.stopped)
            trace["safety_stop"] = {"category": guard.stopped.category, "notice": appendix}
    verified = citations.verify(text, [p.text for p in passages])
    if status == Message.Status.COMPLETE and passages and not verified.citations:
        trace["unsupported_answer"] = text
        verified = citations.Verified(text=prompt.ABSTAIN)
        status = Message.Status.ABSTAINED
    if status in (Message.Status.COMPLETE, Message.Status.UNGROUNDED) and turn.safety.get("notes"):
        appendix = "\n\n".join(sorted(set(turn.safety["notes"].values())))
    if appendix:
        verified = citations.Verified(
            text=f"{verified.text}\n\n{appendix}".strip(), citations=verified.citations, dropped=verified.dropped
        )
    trace["safety"] = turn.safety
    rows = _citation_rows(verified, passages)
    trace["citations_kept"] = [{"number": r["number"], "support": r["support"]} for r in rows]
    trace["citations_dropped"] = verified.dropped
    trace["timings_ms"]["total"] = round((time.perf_counter() - started) * 1000, 1)
    if stream is not None:
        trace["timings_ms"]["ttft"] = stream.generation.ttft_ms
        trace["tokens"] = {"prompt": stream.generation.prompt_tokens, "completion": stream.generation.completion_tokens}
    message = services.answer_store(
        tenant=turn.tenant,
        conversation=turn.conversation,
        content=verified.text,
        status=status,
        error_code=error.code if error else "",
        citations=rows,
        trace=trace,
        context_documents=None if turn.context_private else [p.document_id for p in passages],
        regenerated_from=turn.regenerate_of,
    )
    return message, verified.text, rows


def _finish(
    turn, trace, *, text, status, passages, started, stream=None, error=None, guard=None, appendix=""
) -> Iterator[dict]:
    message, final_text, rows = _store(turn, trace, text, status, passages, started, stream, error, guard, appendix)
    if guard is not None and guard.stopped:
        yield {"event": "safety", "data": trace["safety_stop"]}
    yield _message_event(message, final_text, rows)
    if error:
        yield {"event": "error", "data": {"code": error.code, "message": str(error)}}
