"""The one record the answer loop's stages pass along: what was asked, found, generated and decided."""

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


@dataclass
class Removed:
    """A draft sentence no cited passage supported: kept in the trace for admins, never shown."""

    sentence: str
    cited: list[int]
    reason: str


@dataclass
class Answer:
    """The answer as the stages build it. `status` and `kind` are set only by decide.py."""

    turn: Turn
    started: float = field(default_factory=time.perf_counter)
    history: list[dict] = field(default_factory=list)
    policy: Policy | None = None
    request_decision: Decision | None = None
    safety: dict = field(default_factory=dict)  # what moderation decided, for the trace
    # The context held something the stored context documents do not show (the user's memories, history sent
    # by an API caller): the training gate then treats the answer as ineligible.
    context_private: bool = False
    standalone_question: str = ""
    search_trace: dict = field(default_factory=dict)
    passages: list[Passage] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    prompt_messages: list[dict] = field(default_factory=list)
    direct_text: str = ""  # an answer that needs no model: a tool's result, a memory receipt, a refusal
    direct_trace: dict = field(default_factory=dict)
    ungrounded: bool = False
    shown: str = ""  # the verified draft released to the reader so far
    extractive: str = ""  # quoted evidence: instead of a draft without a supported sentence, or of asking at all
    quoted_first: bool = False  # the evidence was strong enough to quote without asking the model
    removed: list[Removed] = field(default_factory=list)
    sentence_checks: list[dict] = field(default_factory=list)  # per draft sentence: citations kept, dropped
    generation: object | None = None  # the inference client's stream record (ttft, tokens, complete)
    guard: StreamGuard | None = None
    error: LlmError | None = None
    stopped_by_user: bool = False
    draft_abandoned: bool = False  # the model was stopped: its first sentences were all unsupported
    weak_evidence: bool = False
    timings_ms: dict = field(default_factory=dict)
    status: str = ""
    kind: str = ""  # generated | extractive | abstained | refused | direct | ungrounded | failed
    text: str = ""  # what is stored and shown at the end, note included
    note: str = ""
    citations: list[dict] = field(default_factory=list)

    def mark(self, name: str) -> None:
        self.timings_ms[name] = round((time.perf_counter() - self.started) * 1000, 1)
