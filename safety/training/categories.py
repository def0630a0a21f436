"""The category head: which taxonomy category a text is in, learnt from the hand-written exemplars.

A multinomial logistic regression over the MiniLM embeddings, one class per taxonomy category plus
"benign". The harm model (models.py, trained on real data) decides whether a request is harmful; this
head names the category of one that is, and alone finds the categories whose default is not a refusal
(specialised advice, regulated goods, political persuasion), which the real data does not label.
Its own threshold on 1 - P(benign) is chosen by 5-fold grouped cross-validation on the exemplars
(an item's template variants share a fold): the lowest whose out-of-fold false-positive rate on the
benign-but-sensitive exemplars is at most FPR_TARGET.
"""

from dataclasses import dataclass

import numpy as np

from safety import exemplars

C = 16.0
FOLDS = 5
FPR_TARGET = 0.04
THRESHOLDS = np.round(np.arange(0.20, 0.96, 0.01), 2)


@dataclass(frozen=True)
class CategoryHead:
    """softmax(vectors @ coef.T + intercept) over `classes` (BENIGN among them)."""

    classes: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray
    threshold: float
    cross_validation: dict

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = vectors @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def harmful(self, probabilities: np.ndarray) -> np.ndarray:
        """1 - P(benign) per row."""
        return harmful_score(probabilities, self.classes)

    def category(self, probabilities: np.ndarray, among: set[str] | None = None) -> list[str]:
        """The most likely harmful class per row (only those in `among`, when given)."""
        masked = probabilities.copy()
        for index, name in enumerate(self.classes):
            if name == exemplars.BENIGN or (among is not None and name not in among):
                masked[:, index] = -1.0
        return [self.classes[i] for i in masked.argmax(axis=1)]


def _fit(vectors: np.ndarray, labels: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=3000).fit(vectors, labels)


def harmful_score(probabilities: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    return 1.0 - probabilities[:, classes.index(exemplars.BENIGN)]


def threshold_choose(scores: np.ndarray, negatives: np.ndarray) -> float:
    for threshold in THRESHOLDS:
        if np.mean(scores[negatives] >= threshold) <= FPR_TARGET:
            return float(threshold)
    return float(THRESHOLDS[-1])


def out_of_fold(vectors: np.ndarray, labels: np.ndarray, groups: np.ndarray, *, folds: int = FOLDS, seed: int = 0):
    """(probabilities, classes) of every exemplar from a model that saw neither it nor its group's variants."""
    from sklearn.model_selection import StratifiedGroupKFold

    classes = tuple(sorted(set(labels)))
    probabilities = np.zeros((len(labels), len(classes)))
    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    for train_rows, test_rows in splitter.split(vectors, labels, groups):
        model = _fit(vectors[train_rows], labels[train_rows])
        columns = [classes.index(c) for c in model.classes_]
        probabilities[np.ix_(test_rows, columns)] = model.predict_proba(vectors[test_rows])
    return probabilities, classes


def _prose_fpr(examples: list[exemplars.Exemplar], flagged: np.ndarray) -> dict:
    """The out-of-fold share of document-prose rows flagged, when the head was fitted on some (training/prose.py)."""
    prose = np.asarray([example.kind == exemplars.PROSE_KIND for example in examples])
    return {"prose_fpr": round(float(np.mean(flagged[prose])), 4), "prose": int(prose.sum())} if prose.any() else {}


def head_train(examples: list[exemplars.Exemplar], vectors: np.ndarray) -> CategoryHead:
    """Fit on all exemplars; the threshold and the reported accuracy come from out-of-fold predictions."""
    labels = np.asarray([example.label for example in examples])
    probabilities, classes = out_of_fold(vectors, labels, np.asarray([example.group for example in examples]))
    scores = harmful_score(probabilities, classes)
    benign = labels == exemplars.BENIGN
    sensitive = np.asarray([example.kind == exemplars.SENSITIVE_KIND for example in examples])
    threshold = threshold_choose(scores, sensitive)
    flagged = scores >= threshold
    head = CategoryHead(classes, np.zeros(0), np.zeros(0), threshold, {})
    predicted = np.asarray(head.category(probabilities))
    cross_validation = {
        "folds": FOLDS,
        "benign_sensitive_fpr": round(float(np.mean(flagged[sensitive])), 4),
        "benign_fpr": round(float(np.mean(flagged[benign])), 4),
        "harmful_recall": round(float(np.mean(flagged[~benign])), 4),
        **_prose_fpr(examples, flagged),
        "category_accuracy": round(float(np.mean(predicted[~benign] == labels[~benign])), 4),
        "exemplars": len(examples),
    }
    model = _fit(vectors, labels)
    return CategoryHead(
        classes=tuple(str(c) for c in model.classes_),
        coef=model.coef_.astype(np.float32),
        intercept=model.intercept_.astype(np.float32),
        threshold=threshold,
        cross_validation=cross_validation,
    )
