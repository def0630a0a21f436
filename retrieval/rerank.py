"""Rerankers, by name: a second look at the fused candidates with the query.

- `term-coverage` (the default): how much of the query's weight a passage covers, with each term
  weighted by its rarity among the candidates, added to the fused rank. No model, ~1 ms.
- `cross-encoder`: a sentence-transformers cross-encoder from a local folder (ENCLAVE_RERANKER_MODEL),
  for deployments that can provide the weights. The reader trained here (retrieval/reader) reads
  sentences, not passages, and is not used to rerank search (docs/benchmarks.md, "The reader").
- `none` keeps the fused order.

A reranker only reorders candidates the caller was already allowed to see; it never adds any, and
term rarity is counted among those candidates only, so hidden chunks cannot influence the order.
"""

import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from retrieval.condense import content_words

NONE = "none"
STEM_CHARS = 6


@dataclass
class Reranker:
    name: str
    score: Callable[[str, list[str]], list[float]]
    depth: int


_LOADERS: dict[str, Callable[[], Reranker]] = {}
_loaded: dict[str, Reranker] = {}
_lock = threading.RLock()


def register(name: str, loader: Callable[[], Reranker]) -> None:
    _LOADERS[name] = loader


def known() -> list[str]:
    return [NONE, *sorted(_LOADERS)]


def reranker(name: str | None = None) -> Reranker | None:
    """The named reranker, or the configured default (ENCLAVE_RERANKER); None for `none`."""
    name = name or settings.ENCLAVE_RERANKER
    if name == NONE:
        return None
    with _lock:
        if name not in _loaded:
            if name not in _LOADERS:
                raise LookupError(f"unknown reranker {name!r}; known: {', '.join(known())}")
            _loaded[name] = _LOADERS[name]()
        return _loaded[name]


def apply(chosen: Reranker, query: str, candidates: list, texts: dict[str, str]) -> list:
    """Reorder the first `depth` candidates by the reranker's score; the rest keep their order after them."""
    head, tail = candidates[: chosen.depth], candidates[chosen.depth :]
    scores = chosen.score(query, [texts[c.chunk_id] for c in head])
    for candidate, score in zip(head, scores, strict=True):
        candidate.rerank_score = round(float(score), 6)
    return sorted(head, key=lambda c: (-c.rerank_score, c.chunk_id)) + tail


def _terms(text: str) -> set[str]:
    return {word[:STEM_CHARS] for word in content_words(text)}


def term_coverage_scores(query: str, texts: list[str]) -> list[float]:
    """Coverage of the query's terms (weighted by rarity among `texts`) plus the fused position, in [0, 2]."""
    wanted = _terms(query)
    passages = [_terms(text) for text in texts]
    count = len(passages)
    rarity = {}
    for term in wanted:
        having = sum(term in passage for passage in passages)
        rarity[term] = math.log(1 + (count - having + 0.5) / (having + 0.5))
    weight = sum(rarity.values()) or 1.0
    return [
        sum(rarity[term] for term in wanted & passage) / weight + (1 - position / count)
        for position, passage in enumerate(passages)
    ]


def _load_cross_encoder() -> Reranker:
    folder = settings.ENCLAVE_RERANKER_MODEL
    if not folder or not os.path.isdir(folder):
        raise LookupError("the cross-encoder reranker needs ENCLAVE_RERANKER_MODEL: a local model folder")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(folder, device="cpu", max_length=320)
    return Reranker(
        name="cross-encoder",
        score=lambda query, texts: model.predict([(query, text) for text in texts], show_progress_bar=False).tolist(),
        depth=20,
    )


register("term-coverage", lambda: Reranker(name="term-coverage", score=term_coverage_scores, depth=30))
register("cross-encoder", _load_cross_encoder)
