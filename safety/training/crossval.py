"""Grouped cross-validation over train + dev: the out-of-fold scores bench/safety_models compares candidates by.

A family (data.Row.group) is never in a fold's training rows and its held-out rows at once, so each
out-of-fold score is that of a model that never saw the request's family, as for test and for
requests in production. Five folds over train + dev hold four times as many benign-but-sensitive
requests as dev alone: the 5% false-refusal threshold rests on ~800 of them instead of ~200.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from safety.classifiers import rules
from safety.training import models

FOLDS = 5


@dataclass(frozen=True)
class Windows:
    """Texts cut as the classifier cuts them, with the windows' embeddings and the rules' verdicts."""

    texts: list[str]
    pieces: list[str]
    owners: np.ndarray  # the text each window belongs to
    vectors: np.ndarray
    ruled: np.ndarray  # a rule matched the text

    @classmethod
    def of(cls, texts: list[str], embed: Callable[[list[str]], np.ndarray]) -> "Windows":
        from safety.classifiers.embedded import windows_of

        pieces, owners = windows_of(texts)
        return cls(
            texts=texts,
            pieces=pieces,
            owners=np.asarray(owners, dtype=int),
            vectors=embed(pieces) if pieces else np.zeros((0, 0)),
            ruled=np.asarray([rules.match(text) is not None for text in texts], dtype=bool),
        )

    def first(self, indices: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Each text's first window and its vector: one training example per row."""
        starts = np.searchsorted(self.owners, indices)
        return [self.pieces[i] for i in starts], self.vectors[starts]

    def scores(self, model: models.Linear, indices: np.ndarray | None = None) -> np.ndarray:
        """Each text's most harmful window's probability (0 for texts not in `indices`)."""
        keep = np.ones(len(self.pieces), dtype=bool) if indices is None else np.isin(self.owners, indices)
        best = np.zeros(len(self.texts))
        if keep.any():
            window_scores = model.scores([p for p, k in zip(self.pieces, keep, strict=True) if k], self.vectors[keep])
            np.maximum.at(best, self.owners[keep], window_scores)
        return best


def folds(groups: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import GroupKFold

    return list(GroupKFold(FOLDS).split(np.zeros(len(groups)), groups=groups))


def fit(windows: Windows, indices: np.ndarray, kinds: np.ndarray, *, kind: str, C: float, sensitive_weight: float):
    texts, vectors = windows.first(indices)
    return models.fit(kind, texts, vectors, kinds[indices], C=C, sensitive_weight=sensitive_weight)


def out_of_fold(windows: Windows, kinds: np.ndarray, groups: np.ndarray, **settings) -> np.ndarray:
    """Each row's score by the model fitted on the folds that do not hold its family."""
    scores = np.zeros(len(windows.texts))
    for fitted_on, held_out in folds(groups):
        model = fit(windows, fitted_on, kinds, **settings)
        scores[held_out] = windows.scores(model, held_out)[held_out]
    return scores
