"""Harmful-vs-benign scorers compared by bench/safety_models and built by `manage.py safety_train`.

Three linear models over the same rows:
- "embedding": logistic regression over the bundled MiniLM sentence embeddings (the topic);
- "ngram": logistic regression over hashed word 1-2-grams and character 3-5-grams (the wording);
- "both": one logistic regression over the two feature sets side by side.
Hashing keeps the artifact a fixed size with no vocabulary to store; `class_weight="balanced"`
weighs harmful and benign rows equally whatever their counts.
"""

from dataclasses import dataclass

import numpy as np
from scipy import sparse

KINDS = ("embedding", "ngram", "both")
HASH_FEATURES = 2**18  # per n-gram family (words, characters)
EMBEDDING_SCALE = 1.0  # the embeddings' weight beside the n-grams in "both"


def hashed_ngrams(texts: list[str]) -> sparse.csr_matrix:
    from sklearn.feature_extraction.text import HashingVectorizer

    words = HashingVectorizer(
        n_features=HASH_FEATURES, ngram_range=(1, 2), alternate_sign=False, norm="l2", lowercase=True
    )
    characters = HashingVectorizer(
        n_features=HASH_FEATURES, analyzer="char_wb", ngram_range=(3, 5), alternate_sign=False, norm="l2"
    )
    return sparse.hstack([words.transform(texts), characters.transform(texts)]).tocsr()


def features(kind: str, texts: list[str], vectors: np.ndarray | None):
    """The feature matrix of `kind`; `vectors` are the texts' sentence embeddings (unused by "ngram")."""
    if kind == "embedding":
        return vectors
    if kind == "ngram":
        return hashed_ngrams(texts)
    return sparse.hstack([sparse.csr_matrix(vectors * EMBEDDING_SCALE), hashed_ngrams(texts)]).tocsr()


@dataclass(frozen=True)
class Linear:
    """P(harmful) = sigmoid(features @ coef + intercept)."""

    kind: str
    coef: np.ndarray  # float32, one weight per feature column
    intercept: float

    def scores(self, texts: list[str], vectors: np.ndarray | None) -> np.ndarray:
        logits = features(self.kind, texts, vectors) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64).ravel()))


def fit(kind: str, texts: list[str], vectors: np.ndarray | None, harmful: np.ndarray, *, C: float) -> Linear:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
    model.fit(features(kind, texts, vectors), harmful.astype(int))
    return Linear(kind=kind, coef=model.coef_.ravel().astype(np.float32), intercept=float(model.intercept_[0]))
