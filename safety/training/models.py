"""Harmful-vs-benign scorers compared by bench/safety_models and built by `manage.py safety_train`.

Three linear models over the same rows:
- "embedding": logistic regression over the bundled MiniLM sentence embeddings (the topic);
- "ngram": logistic regression over hashed word 1-2-grams and character 3-5-grams (the wording);
- "both": one logistic regression over the two feature sets side by side.
Hashing keeps the artifact a fixed size with no vocabulary to store. Row weights (`row_weights`):
a benign-but-sensitive row (a refusal look-alike) weighs `sensitive_weight` ordinary rows, and the
harmful rows together weigh as much as the benign ones, whatever their counts.
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


def row_weights(kinds: np.ndarray, *, sensitive_weight: float) -> np.ndarray:
    """kinds: harmful | sensitive | ordinary per row. Mean weight 1, harmful and benign halves equal."""
    weights = np.where(kinds == "sensitive", float(sensitive_weight), 1.0)
    harmful = kinds == "harmful"
    if harmful.any() and (~harmful).any():
        weights[harmful] *= weights[~harmful].sum() / weights[harmful].sum()
    return weights * len(weights) / weights.sum()


def fit(
    kind: str, texts: list[str], vectors: np.ndarray | None, kinds: np.ndarray, *, C: float, sensitive_weight: float
) -> Linear:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=5000)
    model.fit(
        features(kind, texts, vectors),
        (kinds == "harmful").astype(int),
        sample_weight=row_weights(kinds, sensitive_weight=sensitive_weight),
    )
    return Linear(kind=kind, coef=model.coef_.ravel().astype(np.float32), intercept=float(model.intercept_[0]))
