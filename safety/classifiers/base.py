"""What every safety classifier returns, and the interface the moderation loop codes against."""

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Verdict:
    """One classification: the category found (a safety.taxonomy id) or None when nothing was.

    `score` is the confidence in `category`, 0..1; for None it is the top harmful score, so a
    caller can see how close a text came. `scores` has one entry per category where the classifier
    has them (the embedded model does; rules and guard models do not).
    """

    category: str | None
    score: float
    source: str  # "rules" | "embedded" | "guard"
    scores: dict[str, float] = field(default_factory=dict)


class Classifier(Protocol):
    name: str

    def classify(self, text: str, *, role: str = "user") -> Verdict:
        """`role` is "user" for a request, "assistant" for a stretch of an answer."""
        ...

    def classify_many(self, texts: list[str], *, role: str = "user") -> list[Verdict]: ...
