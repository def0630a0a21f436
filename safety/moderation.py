"""Moderation of requests and of answers as they stream, under the tenant's policy.

`moderate()` classifies one text and turns the verdict into the policy's action. `StreamGuard` holds
an answer back one window at a time (a sentence, at most a few hundred characters): a window is
released to the client only after it passed, so a violating window is never shown; the stream stops
there and the rest is replaced with a refusal notice.
"""

import re
import time
from dataclasses import dataclass, field

from core import metrics
from safety import taxonomy
from safety.classifiers import classifier
from safety.policy import Policy

MIN_WINDOW = 60
MAX_WINDOW = 320
CONTEXT = 160  # characters of the released answer classified together with the next window
ACTION_ORDER = taxonomy.ACTIONS
SENTENCE_END = re.compile(r"[.!?:;]['\")\]]*(\s*\[\d+\])*\s*$|\n\s*$")


@dataclass(frozen=True)
class Decision:
    action: str  # allow | caution | refuse
    category: str | None
    score: float
    source: str
    policy_version: int
    latency_ms: float

    @property
    def refusal(self) -> str:
        return taxonomy.BY_ID[self.category].refusal if self.category else ""

    @property
    def note(self) -> str:
        return taxonomy.BY_ID[self.category].note if self.category else ""

    def trace(self) -> dict:
        return {
            "action": self.action,
            "category": self.category,
            "score": round(self.score, 3),
            "classifier": self.source,
            "ms": round(self.latency_ms, 2),
        }


def moderate(text: str, *, policy: Policy, role: str = "user") -> Decision:
    started = time.perf_counter()
    verdict = classifier().classify(text, role=role)
    action = policy.action(verdict.category)
    metrics.MODERATION.labels(verdict.category or "none", action, role).inc()
    return Decision(
        action=action,
        category=verdict.category,
        score=verdict.score,
        source=verdict.source,
        policy_version=policy.version,
        latency_ms=(time.perf_counter() - started) * 1000,
    )


def stopped_notice(decision: Decision) -> str:
    return f"[The rest of this answer was withheld.] {decision.refusal}"


@dataclass
class StreamGuard:
    policy: Policy
    released: str = ""
    buffer: str = ""
    stopped: Decision | None = None
    notes: dict[str, str] = field(default_factory=dict)  # category -> note, from "caution" windows
    windows: int = 0
    latency_ms: float = 0.0
    failed: bool = False  # the classifier failed (a guard model out of reach): nothing more is released

    def feed(self, delta: str) -> str:
        """Take a piece of the answer; return the text that may be shown now ('' while a window fills)."""
        if self.stopped:
            return ""
        self.buffer += delta
        full = len(self.buffer) >= MAX_WINDOW
        if not full and not (len(self.buffer) >= MIN_WINDOW and SENTENCE_END.search(self.buffer)):
            return ""
        return self._check()

    def flush(self) -> str:
        """The answer ended: check and release what is left."""
        return self._check() if self.buffer and not (self.stopped or self.failed) else ""

    def _check(self) -> str:
        window, self.buffer = self.buffer, ""
        try:
            decision = moderate(self.released[-CONTEXT:] + window, policy=self.policy, role="assistant")
        except Exception:
            self.failed = True
            raise
        self.windows += 1
        self.latency_ms += decision.latency_ms
        if decision.action == "refuse":
            self.stopped = decision
            return ""
        if decision.action == "caution":
            self.notes[decision.category] = decision.note
        self.released += window
        return window

    def trace(self) -> dict:
        return {
            "windows": self.windows,
            "ms": round(self.latency_ms, 2),
            "stopped": self.stopped.trace() if self.stopped else None,
            "notes": sorted(self.notes),
        }
