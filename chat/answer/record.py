"""What the answer loop's stages pass along: the caller's `Turn`, one frozen result per stage, and the
`Answer` that composes them. Each stage returns its result; the loop sets it on the answer; only
decide.py makes the `Verdict` (status, kind, text, note)."""

import time
from dataclasses import dataclass, field

from chat.answer.evidence import Evidence
from chat.answer.variants import Variant
from chat.models import Conversation, Message
from inference.errors import LlmError
from retrieval.search import Passage
from safety.moderation import Decision, StreamGuard
from safety.policy import Policy
from tenants.accounts.models import User
from tenants.models import Tenant


@dataclass
class Turn:
    """A question to answer, as the caller gives it."""

    tenant: Tenant
    conversation: Conversation
    user: User
    principals: list[str]
    question: str
    history: list[dict] | None = None  # given by the caller (OpenAI-compatible API) instead of the stored turns
    regenerate_of: Message | None = None  # answer `question` again, beside this earlier answer
    variant: Variant | None = None  # the answer settings; None: the loop settles them (chat/answer/arms.py)
    experiment_arm: tuple | None = None  # (experiment, "control" | "treatment") when an experiment chose them


@dataclass(frozen=True)
class Removed:
    """A draft sentence no cited passage supported: kept in the trace for admins, never shown."""

    sentence: str
    cited: list[int]
    reason: str


@dataclass(frozen=True)
class Moderation:
    """Stage 1: the policy in force and the most severe decision on the question (None when moderation
    could not run, and then `error` says why: nothing is answered)."""

    policy: Policy
    decision: Decision | None
    trace: dict  # policy version, the input decision, the notes shown with an answer
    error: LlmError | None = None

    @property
    def refused(self) -> bool:
        return self.decision is not None and self.decision.action == "refuse"


@dataclass(frozen=True)
class Direct:
    """An answer that needs no documents and no model: a tool's result or a memory receipt."""

    text: str
    trace: dict


@dataclass(frozen=True)
class Retrieval:
    """Stage 2: the question as searched and the passages relevant enough to send, numbered from 1."""

    standalone_question: str
    passages: tuple[Passage, ...]
    trace: dict


@dataclass(frozen=True)
class Grounds:
    """Stage 3: the evidence sentences chosen from the passages, best first, and whether they are too weak
    to answer from."""

    evidence: tuple[Evidence, ...]
    weak: bool


@dataclass(frozen=True)
class Draft:
    """Stage 4 and 5: what the model wrote and the verifier let through, and how the stream ended."""

    shown: str  # the verified text released to the reader
    removed: tuple[Removed, ...]
    sentence_checks: tuple[dict, ...]  # per draft sentence: citations kept, dropped, or removed
    prompt_messages: tuple[dict, ...]
    generation: object | None  # the inference client's stream record (ttft, tokens, complete)
    guard: StreamGuard
    ungrounded: bool = False
    error: LlmError | None = None
    stopped_by_user: bool = False
    abandoned: bool = False  # the model was stopped: its first sentences were all unsupported

    @property
    def guard_stop(self) -> Decision | None:
        return self.guard.stopped


@dataclass(frozen=True)
class Quote:
    """Quoted evidence: instead of asking the model (`first`), or of a draft that showed nothing."""

    text: str
    first: bool


@dataclass(frozen=True)
class Verdict:
    """Stage 6, made by decide.py alone."""

    status: str
    kind: str  # generated | extractive | abstained | refused | direct | ungrounded | failed
    text: str  # what is stored and shown, note included
    note: str


@dataclass
class Answer:
    """The stages' results as the loop composes them; each is None until its stage has run."""

    turn: Turn
    started: float = field(default_factory=time.perf_counter)
    timings_ms: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    # The context held something the stored context documents do not show (the user's memories, history sent
    # by an API caller): the training gate then treats the answer as ineligible.
    context_private: bool = False
    moderation: Moderation | None = None
    direct: Direct | None = None
    retrieval: Retrieval | None = None
    grounds: Grounds | None = None
    draft: Draft | None = None
    quote: Quote | None = None
    verdict: Verdict | None = None
    citations: list[dict] = field(default_factory=list)

    @property
    def passages(self) -> tuple[Passage, ...]:
        return self.retrieval.passages if self.retrieval else ()

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        return self.grounds.evidence if self.grounds else ()

    @property
    def error(self) -> LlmError | None:
        return (self.moderation and self.moderation.error) or (self.draft and self.draft.error) or None

    def mark(self, name: str) -> None:
        self.timings_ms[name] = round((time.perf_counter() - self.started) * 1000, 1)
