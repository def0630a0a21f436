"""Stage 2: the conversation's history, then hybrid search with the reader's principals."""

from django.conf import settings

from chat.answer import support
from chat.answer.record import Retrieval, Turn
from chat.conversations import selectors
from retrieval.search import Passage, search

MIN_RELEVANCE = 0.4


def history_load(turn: Turn) -> tuple[list[dict], bool]:
    """The turns before the question, and whether they came from an API caller (then what they drew on is
    not known, and the answer is kept out of training)."""
    if turn.history is not None:
        return turn.history, bool(turn.history)
    before = turn.regenerate_of.created_at if turn.regenerate_of else None
    history = selectors.history(
        tenant=turn.tenant, conversation=turn.conversation, principals=turn.principals, before=before
    )
    return (history[:-1] if turn.regenerate_of else history), False  # without the question itself


def _relevance(question: str, passage: Passage) -> float:
    wanted = support.stems(question)
    lexical = len(wanted & support.stems(passage.text)) / len(wanted) if wanted else 0.0
    return max(passage.scores.get("dense") or 0.0, lexical)


def passages_retrieve(turn: Turn, history: list[dict]) -> Retrieval:
    outcome = search(
        turn.question,
        principals=turn.principals,
        history=history,
        limit=settings.ENCLAVE_CHAT_PASSAGES,
        pool=turn.variant.settings.retrieval_pool,
        reranker=turn.variant.settings.reranker,
        highlight=False,  # answers show whole passages; highlights would be a wasted statement
    )
    standalone = outcome.query.standalone
    return Retrieval(
        standalone_question=standalone,
        passages=tuple(p for p in outcome.passages if _relevance(standalone, p) >= MIN_RELEVANCE),
        trace={
            "condensed_by": outcome.query.method,
            "reranker": outcome.reranker,
            "candidates": outcome.candidates[:20],
            "candidate_ids": [c["chunk_id"] for c in outcome.candidates],  # all of them, for the diagnosis
            "retrieval_ms": outcome.timings_ms.get("total"),
        },
    )


def source(number: int, passage: Passage) -> dict:
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
