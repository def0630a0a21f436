"""The default classifier: the rules, then the harm model and a category head over each text's windows.

No GPU and no download. The harm model is the bundled MiniLM fine-tuned end to end on the real labelled
requests of corpora/safety-train (`manage.py train_harm_model`, safety/training/harm_model.py), committed
as int8 ONNX with its card (safety/artifacts/harm/: sha256 checked before loading, temperature and threshold
chosen on dev). The category head (safety/training/categories.py) is a logistic regression over the harm
model's own pooled layers (detector.FEATURE_LAYERS), fitted on the hand-written exemplars by
`manage.py safety_train` at bootstrap, so one encoder run per window gives both. A request never trains.
Without either artifact the classifier raises ClassifierUnavailable and moderation fails closed.

Decision, per text (its verdict is its most harmful window's):
- a rule matches: that rule's category;
- the harm model's probability reaches its threshold: harmful, in the head's most likely category among
  those refused by default, unless the head is sure (its threshold) that the request is a policy topic
  (below) and gives that topic at least the card's `category_head.topic_keep` probability: then it keeps
  its name and the tenant's action for it. topic_keep is chosen on dev (harm_model.topic_keep_choose), so
  that a flagged harmful request is rarely answered as a mere policy topic;
- else the head alone may find a category whose default is not a refusal (specialised advice,
  regulated goods, political persuasion: policy topics the real data does not label) when its
  1 - P(benign) reaches the head's threshold;
- else benign. The verdict's score is the harm model's probability (the head's, for the third case).

Long texts (a pasted document followed by a request) are cut into windows of the word pieces the harm model
was trained on, at paragraph and sentence boundaries (safety/classifiers/windows.py), so an instruction after a
long benign context is not truncated away and one before it is not either. With ENCLAVE_MODERATION_READS=end a
request is one window instead, its last 128 word pieces: blind to what comes before them. An answer
(role="assistant") is judged by the rules and the answer head alone: the harm model learnt from requests only and
flags the assistant's own refusals, and the answer head is the category head fitted on benign document prose too
(safety/training/prose.py), so that a grounded answer about virology or chemistry is not stopped as a weapon. The
rules skip a match that follows a negation for that role.
"""

import logging

import numpy as np
from django.conf import settings

from retrieval.encoders import ArtifactMismatch
from safety import exemplars, taxonomy
from safety.classifiers import detector, rules
from safety.classifiers.base import Verdict
from safety.classifiers.windows import highest_window_scores, windows_of
from safety.training import build
from safety.training.artifact import Artifact
from safety.training.categories import CategoryHead

log = logging.getLogger(__name__)

# What the harm model reads of a request (ENCLAVE_MODERATION_READS): "whole", every window of the text; "end", the
# last word pieces only, as many as it was trained on (one run, a quarter of the time for 1,000 characters).
READS = ("whole", "end")

REFUSED_BY_DEFAULT = frozenset(c.id for c in taxonomy.CATEGORIES if c.default == "refuse")
POLICY_TOPICS = frozenset(c.id for c in taxonomy.CATEGORIES if c.default != "refuse")


def harm_scores(harm: detector.Detector, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """As a request is judged, without the category head: the harm model's probability of each text's most
    harmful window, and whether a rule matched it (a rule's match is a refusal whatever the model says)."""
    return highest_window_scores(harm, texts), np.asarray([rules.match(text) is not None for text in texts], dtype=bool)


class EmbeddedClassifier:
    name = "embedded"

    def __init__(
        self,
        *,
        embedder=None,
        artifact: Artifact | None = None,
        harm: detector.Detector | None = None,
        reads: str | None = None,
    ):
        self.reads = reads or settings.ENCLAVE_MODERATION_READS
        if self.reads not in READS:
            raise ValueError(f"ENCLAVE_MODERATION_READS is {self.reads!r}; it must be one of {', '.join(READS)}")
        self.harm = harm or harm_model_load()
        self.embedder = embedder or detector.Features(self.harm)  # what the category head reads
        self.artifact = artifact or artifact_load(self.embedder)
        self.topic_keep = float(self.harm.card.get("category_head", {}).get("topic_keep", 0.0))

    @property
    def threshold(self) -> float:
        return self.harm.threshold

    def classify(self, text: str, *, role: str = "user") -> Verdict:
        return self.classify_many([text], role=role)[0]

    def classify_many(self, texts: list[str], *, role: str = "user") -> list[Verdict]:
        verdicts: list[Verdict | None] = [None] * len(texts)
        modelled = []
        for index, text in enumerate(texts):
            found = rules.match(text, role=role)
            if found:
                verdicts[index] = Verdict(category=found.category, score=1.0, source=rules.RulesClassifier.name)
            else:
                modelled.append(index)
        scored = self.windows_scored([texts[i] for i in modelled], role)
        for index, (harm, head) in zip(modelled, scored, strict=True):
            verdicts[index] = self._verdict(harm, head) if role == "user" else self._answer_verdict(head)
        return verdicts  # type: ignore[return-value]

    def harm_scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return harm_scores(self.harm, texts)

    def windows_scored(self, texts: list[str], role: str = "user") -> list[tuple[np.ndarray, np.ndarray]]:
        """Per text: the harm probability of each window and the head's class probabilities of each. A request
        read "end" is one window: its last word pieces, as many as the harm model was trained on."""
        if not texts:
            return []
        if role == "user" and self.reads == "end":
            harm, vectors = self._harm_and_vectors(texts, self.harm.trained_tokens)
            head = self.artifact.head.probabilities(vectors)
            return [(harm[index : index + 1], head[index : index + 1]) for index in range(len(texts))]
        windows, owners = windows_of(texts, self.harm)
        if not windows:
            return []
        harm, vectors = self._harm_and_vectors(windows)
        head = (self.artifact.head if role == "user" else self.artifact.answer_head).probabilities(vectors)
        owners_array = np.asarray(owners)
        return [(harm[owners_array == index], head[owners_array == index]) for index in range(len(texts))]

    def _harm_and_vectors(self, windows: list[str], max_tokens: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One run of the harm model per window when the head reads its layers; else the embedder's run too."""
        if getattr(self.embedder, "detector", None) is self.harm:
            return self.harm.scored(windows, max_tokens)
        return self.harm.probabilities(windows, max_tokens), self.embedder.embed(windows)

    def _verdict(self, harm: np.ndarray, head: np.ndarray) -> Verdict:
        artifact = self.artifact
        classes = artifact.head.classes
        scores = {c: round(float(head[:, i].max()), 4) for i, c in enumerate(classes) if c != exemplars.BENIGN}
        row = int(harm.argmax())
        score = round(float(harm[row]), 4)
        if harm[row] >= self.harm.threshold:
            return Verdict(
                category=self._flagged_category(head[row : row + 1]), score=score, source=self.name, scores=scores
            )
        head_harm = artifact.head.harmful(head)
        topic_row = int(head_harm.argmax())
        topic = artifact.head.category(head[topic_row : topic_row + 1])[0]
        if head_harm[topic_row] >= artifact.head.threshold and topic in POLICY_TOPICS:
            return Verdict(category=topic, score=round(float(head_harm[topic_row]), 4), source=self.name, scores=scores)
        return Verdict(category=None, score=score, source=self.name, scores=scores)

    def _flagged_category(self, head_row: np.ndarray) -> str:
        """The head's category for a request the harm model flagged: a policy topic the head is sure of
        (a campaign flyer, betting odds) keeps its name, so the tenant's action for it applies; otherwise
        the most likely category among those refused by default."""
        head = self.artifact.head
        if topic_kept(head, head_row, self.topic_keep):
            return head.category(head_row)[0]
        return head.category(head_row, among=REFUSED_BY_DEFAULT)[0]

    def _answer_verdict(self, head: np.ndarray) -> Verdict:
        """An answer is judged by the answer head alone: the harm model learnt from requests only, and flags
        the assistant's own refusals, which the exemplars teach the head to pass."""
        answer_head = self.artifact.answer_head
        classes = answer_head.classes
        scores = {c: round(float(head[:, i].max()), 4) for i, c in enumerate(classes) if c != exemplars.BENIGN}
        head_harm = answer_head.harmful(head)
        row = int(head_harm.argmax())
        category = answer_head.category(head[row : row + 1])[0] if head_harm[row] >= answer_head.threshold else None
        return Verdict(category=category, score=round(float(head_harm[row]), 4), source=self.name, scores=scores)


def topic_kept(head: CategoryHead, head_row: np.ndarray, topic_keep: float) -> bool:
    """Whether a flagged request keeps the policy-topic name the head gives it (one row of head probabilities)."""
    topic = head.category(head_row)[0]
    return (
        topic in POLICY_TOPICS
        and head.harmful(head_row)[0] >= head.threshold
        and head_row[0, head.classes.index(topic)] >= topic_keep
    )


class ClassifierUnavailable(RuntimeError):
    """The classifier's built artifact is missing: moderation cannot run, so nothing is answered."""


def harm_model_load() -> detector.Detector:
    try:
        return detector.detector("harm")
    except ArtifactMismatch as error:
        raise ClassifierUnavailable(f"the committed harm model cannot be used: {error}") from error


def artifact_load(embedder) -> Artifact:
    """The built category head for these features (detector.Features, or an embedder) and exemplars. Never
    trains: a request must not wait for that."""
    path = build.artifact_path(embedder.name)
    try:
        return Artifact.load(path)
    except FileNotFoundError:
        raise ClassifierUnavailable(
            f"the embedded safety classifier is not built ({path} is missing): run `manage.py safety_train`"
        ) from None
    except (OSError, ValueError, KeyError) as error:
        raise ClassifierUnavailable(
            f"the embedded safety classifier at {path} is unreadable ({error}): run `manage.py safety_train`"
        ) from error
