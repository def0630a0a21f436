"""The default classifier: the rules, then a logistic regression over sentence embeddings.

No GPU and no download: texts are embedded with the bundled all-MiniLM-L6-v2 (the retrieval model,
so it is usually loaded already) and a multinomial logistic regression with one class per taxonomy
category plus "benign" is trained on safety/exemplars.py by `manage.py safety_train` (the bootstrap
of scripts/run and scripts/test runs it), which writes the weights (a small matrix, no pickle) to
$ENCLAVE_VAR_DIR/safety/ under a key made of the exemplars' fingerprint, the model name and the
training settings. Processes only load them: a request never trains. Without built weights the
classifier raises ClassifierUnavailable and moderation fails closed.

Decision: a text is in category c when c is the most likely harmful class and the probability of
"not benign" (1 - P(benign)) reaches the threshold; that probability is the verdict's score (for a
text found benign too, so a caller sees how close it came), and `scores` holds each category's own.
Summing over the harmful classes keeps a request that sits between two neighbouring categories
(weapons / violent crime, fraud / cyber crime) from slipping under the threshold of both. The
threshold is chosen at training time by 5-fold cross-validation on the exemplars alone (grouped,
so an item's template variants share a fold): the lowest value whose out-of-fold false-positive
rate on the benign-but-sensitive exemplars is at most FPR_TARGET. The evaluation sets never take part.

Long texts (a pasted document followed by a request) are cut into windows at paragraph and sentence
boundaries, each under the model's 256-token limit; the text's verdict is its most harmful window's,
so an instruction after a long benign context is not truncated away.

A request the model scores between INTENT_FLOOR and the threshold gets a second opinion from
intent.py: if its words ask to produce or carry out a named harm (not to understand or prevent it),
it is in that harm's category. The embeddings see the topic, the patterns see the ask.

role="assistant" uses the same model and threshold: a harmful answer is about the same things as
the harmful request it answers, and the exemplars include a few stretches of harmful answers and of
harmless answers and refusals. The rules skip a match that follows a negation for that role.
"""

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from config import env
from inference.budget import count_tokens
from safety import exemplars
from safety.classifiers import intent, rules
from safety.classifiers.base import Verdict

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the training procedure changes, so cached weights are not reused
C = 16.0  # inverse regularisation of the logistic regression (chosen by cross-validation on the exemplars)
FOLDS = 5
# A request whose harmful score is at least this and whose words ask for a named harm is flagged (intent.py):
# chosen on the exemplars (it adds 0.1% false positives on the benign ones), not on the evaluation sets.
INTENT_FLOOR = 0.2
FPR_TARGET = 0.04  # out-of-fold share of benign-but-sensitive exemplars allowed over the threshold
THRESHOLDS = np.round(np.arange(0.20, 0.96, 0.01), 2)
WINDOW_WORDS = 120  # ~160-200 word pieces, under the model's 256
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")
PARAGRAPH = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Weights:
    """A fitted model: softmax(vectors @ coef.T + intercept) over `classes` (BENIGN among them)."""

    classes: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray
    threshold: float
    cross_validation: dict  # out-of-fold recall and false-positive rate at the threshold

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = vectors @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
        np.savez(
            partial,
            classes=np.array(self.classes),
            coef=self.coef,
            intercept=self.intercept,
            threshold=np.array(self.threshold),
            cross_validation=np.array(json.dumps(self.cross_validation)),
        )
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path) -> "Weights":
        with np.load(path, allow_pickle=False) as data:
            return cls(
                classes=tuple(str(c) for c in data["classes"]),
                coef=data["coef"],
                intercept=data["intercept"],
                threshold=float(data["threshold"]),
                cross_validation=json.loads(str(data["cross_validation"])),
            )


def _fit(vectors: np.ndarray, labels: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=3000).fit(vectors, labels)


def harmful_score(probabilities: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """1 - P(benign) per row."""
    return 1.0 - probabilities[:, classes.index(exemplars.BENIGN)]


def threshold_choose(scores: np.ndarray, negatives: np.ndarray) -> float:
    """The lowest threshold whose false-positive rate on the `negatives` rows is at most FPR_TARGET."""
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


def train(examples: list[exemplars.Exemplar], vectors: np.ndarray) -> Weights:
    """Fit on all exemplars; pick the threshold from out-of-fold predictions."""
    labels = np.asarray([example.label for example in examples])
    probabilities, classes = out_of_fold(vectors, labels, np.asarray([example.group for example in examples]))
    scores = harmful_score(probabilities, classes)
    benign = labels == exemplars.BENIGN
    sensitive = np.asarray([example.kind == exemplars.SENSITIVE_KIND for example in examples])
    threshold = threshold_choose(scores, sensitive)
    predicted = np.asarray(classes)[_harmful_argmax(probabilities, classes)]
    flagged = scores >= threshold
    cross_validation = {
        "folds": FOLDS,
        "benign_sensitive_fpr": float(np.mean(flagged[sensitive])),
        "benign_fpr": float(np.mean(flagged[benign])),
        "harmful_recall": float(np.mean(flagged[~benign])),
        "category_accuracy": float(np.mean(predicted[~benign & flagged] == labels[~benign & flagged])),
        "exemplars": len(examples),
    }
    model = _fit(vectors, labels)
    return Weights(
        classes=tuple(str(c) for c in model.classes_),
        coef=model.coef_.astype(np.float32),
        intercept=model.intercept_.astype(np.float32),
        threshold=threshold,
        cross_validation=cross_validation,
    )


def _harmful_argmax(probabilities: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    masked = probabilities.copy()
    masked[:, classes.index(exemplars.BENIGN)] = -1.0
    return masked.argmax(axis=1)


def cache_key(model_name: str) -> str:
    settings = json.dumps({"format": FORMAT, "C": C, "folds": FOLDS, "fpr": FPR_TARGET, "model": model_name})
    return hashlib.sha256((exemplars.fingerprint() + settings).encode()).hexdigest()[:24]


def weights_path(model_name: str) -> Path:
    return env.var_dir() / "safety" / f"embedded-{cache_key(model_name)}.npz"


# Text without spaces (CJK, a long blob) would fill a word window past the model's 256 tokens: such a
# window is cut into pieces of this many characters (overlapping by a quarter), by the safe token estimate.
PIECE_CHARACTERS = 200
PIECE_TOKENS = 240


def _pieces(window: str) -> list[str]:
    if count_tokens(window) <= PIECE_TOKENS:
        return [window]
    step = PIECE_CHARACTERS * 3 // 4
    return [window[i : i + PIECE_CHARACTERS] for i in range(0, max(len(window) - PIECE_CHARACTERS // 4, 1), step)]


def segments(text: str) -> list[str]:
    """Windows that fit the model: by words, never across a paragraph, and by characters where words are long;
    plus the last paragraph alone, where a request after a pasted document usually is."""
    windows = [piece for window in _word_windows(text) for piece in _pieces(window)]
    last = _last_paragraph(text)
    return [*windows, last] if last and last not in windows else windows


def _last_paragraph(text: str) -> str | None:
    paragraphs = [p.strip() for p in PARAGRAPH.split(text.strip()) if p.strip()]
    return paragraphs[-1] if len(paragraphs) > 1 and count_tokens(paragraphs[-1]) <= PIECE_TOKENS else None


def _word_windows(text: str) -> list[str]:
    """Windows of at most WINDOW_WORDS words that never cross a paragraph; the text itself when short."""
    if len(text.split()) <= WINDOW_WORDS:
        return [text]
    windows = []
    for paragraph in PARAGRAPH.split(text):
        current: list[str] = []
        for sentence in SENTENCE_END.split(paragraph):
            words = sentence.split()
            while words:
                room = WINDOW_WORDS - len(current)
                if room <= 0 or (current and len(words) > room and len(words) <= WINDOW_WORDS):
                    windows.append(" ".join(current))
                    current = []
                    continue
                current += words[:room]
                words = words[room:]
        if current:
            windows.append(" ".join(current))
    return windows or [text]


class EmbeddedClassifier:
    name = "embedded"

    def __init__(self, *, embedder=None) -> None:
        if embedder is None:
            from retrieval import embeddings

            embedder = embeddings.embedder(embeddings.MODEL_NAME)
        self.embedder = embedder
        self.weights = weights_load(embedder)

    def classify(self, text: str, *, role: str = "user") -> Verdict:
        return self.classify_many([text], role=role)[0]

    def classify_many(self, texts: list[str], *, role: str = "user") -> list[Verdict]:
        verdicts: list[Verdict | None] = []
        windows: list[str] = []
        owners: list[int] = []
        for index, text in enumerate(texts):
            found = rules.match(text, role=role)
            if found:
                verdicts.append(Verdict(category=found.category, score=1.0, source=rules.RulesClassifier.name))
                continue
            verdicts.append(None)
            for window in segments(text):
                windows.append(window)
                owners.append(index)
        if windows:
            probabilities = self.weights.probabilities(self.embedder.embed(windows))
            owners_array = np.asarray(owners)
            for index in sorted(set(owners)):
                verdicts[index] = self._verdict(probabilities[owners_array == index])
                if role == "user":
                    verdicts[index] = _second_opinion(texts[index], verdicts[index])
        return verdicts  # type: ignore[return-value]

    def _verdict(self, probabilities: np.ndarray) -> Verdict:
        """The verdict of the most harmful window."""
        classes = self.weights.classes
        harmful = harmful_score(probabilities, classes)
        row = int(harmful.argmax())
        scores = {c: round(float(probabilities[:, i].max()), 4) for i, c in enumerate(classes) if c != exemplars.BENIGN}
        category = classes[int(_harmful_argmax(probabilities[row : row + 1], classes)[0])]
        found = category if harmful[row] >= self.weights.threshold else None
        return Verdict(category=found, score=round(float(harmful[row]), 4), source=self.name, scores=scores)


def _second_opinion(text: str, verdict: Verdict) -> Verdict:
    """A request the model finds somewhat harmful (below its threshold) that asks to produce or carry
    out a named harm, in words (intent.py), is in that harm's category."""
    if verdict.category is not None or verdict.score < INTENT_FLOOR:
        return verdict
    last = _last_paragraph(text)
    category = intent.harmful_intent(text) or (intent.harmful_intent(last) if last else None)
    if category is None:
        return verdict
    return Verdict(category=category, score=verdict.score, source="embedded+intent", scores=verdict.scores)


class ClassifierUnavailable(RuntimeError):
    """The classifier's built weights are missing: moderation cannot run, so nothing is answered."""


def weights_load(embedder) -> Weights:
    """The built weights for this embedder and exemplar list. Never trains: a request must not wait for that."""
    path = weights_path(embedder.name)
    try:
        return Weights.load(path)
    except FileNotFoundError:
        raise ClassifierUnavailable(
            f"the embedded safety classifier is not built ({path} is missing): run `manage.py safety_train`"
        ) from None
    except (OSError, ValueError, KeyError) as error:
        raise ClassifierUnavailable(
            f"the embedded safety classifier at {path} is unreadable ({error}): run `manage.py safety_train`"
        ) from error


def weights_build(embedder) -> Weights:
    """Train on the exemplars and write the weights where `weights_load` finds them (the bootstrap step runs this)."""
    path = weights_path(embedder.name)
    if path.exists():
        try:
            return Weights.load(path)
        except (OSError, ValueError, KeyError) as error:
            log.warning("safety classifier weights at %s unreadable (%s); retraining", path, error)
    examples = exemplars.exemplar_list()
    log.info("training the safety classifier on %d exemplars", len(examples))
    weights = train(examples, embedder.embed([example.text for example in examples]))
    weights.save(path)
    log.info("safety classifier built at %s (threshold %.2f, %s)", path, weights.threshold, weights.cross_validation)
    return weights
