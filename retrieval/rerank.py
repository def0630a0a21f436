"""Rerankers, by name: a second, slower look at the fused candidates with the query.

`none` keeps the fused order. A reranker only reorders candidates the caller was already allowed
to see; it never adds any.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

NONE = "none"


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
