"""Stage 1: moderate the question (and the user turns an API caller sent with it) under the tenant's policy."""

from chat.answer.record import Answer
from inference.errors import LlmError
from safety import moderation
from safety.classifiers.embedded import ClassifierUnavailable
from safety.policy import policy_current, policy_of_variant


class ModerationUnavailable(LlmError):
    """Moderation could not run: nothing is answered (fail closed)."""

    status_code = 503
    code = "moderation_unavailable"


def request_moderate(answer: Answer) -> None:
    """Sets the policy and the most severe decision; a moderation failure becomes answer.error."""
    turn = answer.turn
    candidate = turn.variant.settings.safety_policy
    answer.policy = policy_of_variant(candidate, current=policy_current()) if candidate else policy_current()
    texts = [turn.question] + [m["content"] for m in (turn.history or []) if m.get("role") == "user"]
    try:
        decisions = [moderation.moderate(text, policy=answer.policy) for text in texts]
    except (ClassifierUnavailable, LlmError) as error:
        answer.error = ModerationUnavailable(f"moderation is unavailable, so nothing is answered: {error}")
        answer.safety = {"policy_version": answer.policy.version, "input": {"error": str(error)[:300]}, "notes": {}}
        return
    decision = max(decisions, key=lambda d: moderation.ACTION_ORDER.index(d.action))
    answer.request_decision = decision
    answer.safety = {"policy_version": answer.policy.version, "input": decision.trace(), "notes": {}}
    if decision.action == "caution":
        answer.safety["notes"][decision.category] = decision.note


def refused(answer: Answer) -> bool:
    return answer.request_decision is not None and answer.request_decision.action == "refuse"
