"""The one search service: chat, the API, tools and evaluation all call `search`.

dense ANN + full text (both ACL-filtered in SQL) -> reciprocal rank fusion -> optional rerank ->
optional MMR -> the requested page, with highlights. Runs in the current tenant's schema only.
"""

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connection

from core.api import ServiceError
from retrieval import rerank, sql
from retrieval.condense import CondensedQuery, query_condense
from retrieval.embeddings import embedder
from retrieval.filters import SearchFilters
from retrieval.selectors import active_embedding_model

MODES = ("hybrid", "dense", "lexical")
# Reciprocal rank fusion constants, chosen on the even-numbered covid-qa-dev questions and checked
# on the odd-numbered ones (docs/benchmarks.md): a small k trusts each list's top ranks more, and
# full-text ranks (by stems held, then cover density) weigh a little more than dense ones.
RRF_K = 5
FULL_TEXT_WEIGHT = 1.5
MAX_QUERY_CHARS = 2000
MAX_POOL = 200
NEAR_DUPLICATE = 0.95


class SearchError(ServiceError):
    status_code = 400
    code = "invalid_search"


@dataclass
class Passage:
    chunk_id: str
    document_id: str
    version: int
    ordinal: int
    page: int | None
    section: str
    text: str
    title: str
    filename: str
    file_type: str
    tags: list[str]
    token_count: int
    scores: dict[str, float | None]
    highlights: list[dict] = field(default_factory=list)
    safety_flags: list[str] = field(default_factory=list)  # set at ingestion (safety.injection)


@dataclass
class SearchOutcome:
    query: CondensedQuery
    mode: str
    reranker: str
    passages: list[Passage]
    total: int
    candidates: list[dict]
    timings_ms: dict[str, float]


@dataclass
class _Candidate:
    chunk_id: str
    dense_rank: int | None = None
    dense_score: float | None = None
    lexical_rank: int | None = None
    lexical_score: float | None = None
    fused: float = 0.0
    rerank_score: float | None = None

    def as_trace(self) -> dict:
        return {
            "chunk_id": self.chunk_id,
            "dense_rank": self.dense_rank,
            "dense_score": self.dense_score,
            "lexical_rank": self.lexical_rank,
            "lexical_score": self.lexical_score,
            "fused": round(self.fused, 6),
            "rerank_score": self.rerank_score,
        }


def _fuse(dense_rows, lexical_rows) -> list[_Candidate]:
    """Weighted reciprocal rank fusion: each list adds weight / (RRF_K + rank); scores of different
    scales never mix."""
    candidates: dict[str, _Candidate] = {}
    for rank, (chunk_id, distance) in enumerate(dense_rows, start=1):
        candidate = candidates.setdefault(chunk_id, _Candidate(chunk_id))
        candidate.dense_rank, candidate.dense_score = rank, round(1.0 - float(distance), 6)
        candidate.fused += 1.0 / (RRF_K + rank)
    for rank, (chunk_id, score) in enumerate(lexical_rows, start=1):
        candidate = candidates.setdefault(chunk_id, _Candidate(chunk_id))
        candidate.lexical_rank, candidate.lexical_score = rank, round(float(score), 6)
        candidate.fused += FULL_TEXT_WEIGHT / (RRF_K + rank)
    return sorted(candidates.values(), key=lambda c: (-c.fused, c.chunk_id))


def _mmr(candidates: list[_Candidate], embeddings: dict, query_vector: np.ndarray, *, keep: int, weight: float = 0.7):
    """Maximal marginal relevance (similarity to the query against similarity to passages already
    chosen); a near-duplicate of a chosen passage (cosine >= NEAR_DUPLICATE) goes to the end."""
    vectors = np.array([embeddings[c.chunk_id] for c in candidates], dtype=np.float32)
    relevance = vectors @ query_vector
    chosen: list[int] = []
    duplicates: list[int] = []
    remaining = list(range(len(candidates)))
    while remaining and len(chosen) < keep:
        penalty = (vectors[remaining] @ vectors[chosen].T).max(axis=1) if chosen else np.zeros(len(remaining))
        duplicates += [index for index, similar in zip(remaining, penalty, strict=True) if similar >= NEAR_DUPLICATE]
        scores = [
            (weight * relevance[index] - (1 - weight) * similar, index)
            for index, similar in zip(remaining, penalty, strict=True)
            if similar < NEAR_DUPLICATE
        ]
        remaining = [index for index in remaining if index not in duplicates]
        if not scores:
            break
        best = max(scores)[1]
        chosen.append(best)
        remaining.remove(best)
    return [candidates[i] for i in chosen + remaining + duplicates]


def _highlight_spans(headline: str | None) -> list[dict]:
    """ts_headline's marked fragments as plain text plus match offsets (no HTML to escape or inject)."""
    if not headline or sql.MARK_START not in headline:
        return []
    fragments = []
    for fragment in headline.split(" ... "):
        text, matches, position = [], [], 0
        for index, piece in enumerate(fragment.split(sql.MARK_START)):
            if index == 0:
                text.append(piece)
                position += len(piece)
                continue
            marked, _, rest = piece.partition(sql.MARK_END)
            matches.append([position, position + len(marked)])
            text.append(marked + rest)
            position += len(marked) + len(rest)
        if matches:
            fragments.append({"text": "".join(text), "matches": matches})
    return fragments


def _passage(row, candidate: _Candidate, headline: str | None) -> Passage:
    metadata = json.loads(row.metadata) if isinstance(row.metadata, str) else row.metadata
    return Passage(
        chunk_id=row.id,
        document_id=row.document_id,
        version=row.version,
        ordinal=row.ordinal,
        page=row.page,
        section=row.section,
        text=row.text,
        title=metadata.get("title", ""),
        filename=metadata.get("filename", ""),
        file_type=metadata.get("kind", ""),
        tags=metadata.get("tags", []),
        token_count=row.token_count,
        safety_flags=list(row.safety_flags or []),
        scores={
            "dense": candidate.dense_score,
            "lexical": candidate.lexical_score,
            "fused": round(candidate.fused, 6),
            "rerank": candidate.rerank_score,
        },
        highlights=_highlight_spans(headline),
    )


def _check(query: str, principals: list[str], mode: str) -> None:
    if connection.schema_name == "public":
        raise SearchError("search runs inside a tenant")
    if not principals:
        raise SearchError("the caller has no principals")
    if mode not in MODES:
        raise SearchError(f"mode must be one of {', '.join(MODES)}")
    if not query.strip():
        raise SearchError("the query is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError(f"the query is longer than {MAX_QUERY_CHARS} characters")


class _Stopwatch(dict):
    @contextmanager
    def lap(self, name: str):
        started = time.perf_counter()
        yield
        self[name] = round((time.perf_counter() - started) * 1000, 2)


def _reranker(name: str | None):
    try:
        return rerank.reranker(name)
    except LookupError as exc:
        raise SearchError(str(exc)) from exc


def _candidates(cursor, *, text, vector, model_name, principals, filters, mode, pool, timings) -> list[_Candidate]:
    dense_rows, lexical_rows = [], []
    common = {"model": model_name, "principals": principals, "filters": filters, "limit": pool}
    if mode in ("hybrid", "dense"):
        dense_rows, timings["dense_sql"] = sql.dense_candidates(cursor, vector=vector, **common)
    if mode in ("hybrid", "lexical"):
        lexical_rows, timings["lexical_sql"] = sql.lexical_candidates(cursor, text=text, **common)
    return _fuse(dense_rows, lexical_rows)[:pool]


def search(
    query: str,
    *,
    principals: list[str],
    filters: SearchFilters | None = None,
    history: list[dict] | None = None,
    mode: str = "hybrid",
    limit: int = 10,
    offset: int = 0,
    pool: int | None = None,
    reranker: str | None = None,
    diversify: bool = False,
    highlight: bool = True,
) -> SearchOutcome:
    """Passages the caller (`principals`) may read that best answer `query`, best first.

    `history` (earlier turns, oldest first, as {"role", "content"}) makes a follow-up standalone
    first. `reranker` names a reranker (see retrieval.rerank); None uses the configured default.
    """
    _check(query, principals, mode)
    chosen_reranker = _reranker(reranker)
    timings = _Stopwatch()
    started = time.perf_counter()
    with timings.lap("condense"):
        condensed = query_condense(query, history or [])
    text = condensed.standalone
    pool = min(MAX_POOL, max(pool or settings.ENCLAVE_SEARCH_POOL, limit + offset))
    model_name = active_embedding_model()
    principals = sorted(set(principals))
    query_vector = None
    if mode != "lexical" or diversify:
        with timings.lap("embed"):
            query_vector = embedder(model_name).embed([text])[0]

    with sql.search_transaction(
        ef_search=max(sql.MIN_EF_SEARCH, 2 * pool), max_scan_tuples=settings.ENCLAVE_SEARCH_MAX_SCAN
    ) as cursor:
        candidates = _candidates(
            cursor,
            text=text,
            vector=sql.vector_literal(query_vector) if query_vector is not None else None,
            model_name=model_name,
            principals=principals,
            filters=filters or SearchFilters(),
            mode=mode,
            pool=pool,
            timings=timings,
        )
        with timings.lap("fetch_sql"):
            ids = [c.chunk_id for c in candidates]
            rows = sql.passages(cursor, ids=ids, principals=principals, with_embedding=diversify)
        candidates = [c for c in candidates if c.chunk_id in rows]
        if chosen_reranker is not None and candidates:
            with timings.lap("rerank"):
                texts = {chunk_id: row.text for chunk_id, row in rows.items()}
                candidates = rerank.apply(chosen_reranker, text, candidates, texts)
        if diversify and candidates:
            embeddings = {chunk_id: row.embedding for chunk_id, row in rows.items()}
            candidates = _mmr(candidates, embeddings, query_vector, keep=offset + limit)
        page = candidates[offset : offset + limit]
        headlines = {}
        if highlight and page:
            with timings.lap("highlight_sql"):
                headlines = sql.highlights(cursor, ids=[c.chunk_id for c in page], text=text, principals=principals)
    timings["total"] = round((time.perf_counter() - started) * 1000, 2)
    return SearchOutcome(
        query=condensed,
        mode=mode,
        reranker=chosen_reranker.name if chosen_reranker else rerank.NONE,
        passages=[_passage(rows[c.chunk_id], c, headlines.get(c.chunk_id)) for c in page],
        total=len(candidates),
        candidates=[c.as_trace() for c in candidates],
        timings_ms=dict(timings),
    )
