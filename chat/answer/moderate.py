"""Stage 1: moderate the question (and the user turns an API caller sent with it) under the tenant's policy."""

from chat.answer.record import Moderation, Turn
from inference.errors import LlmError
from safety import moderation
from safety.classifiers.embedded import ClassifierUnavailable
from safety.policy import policy_current, policy_of_variant


class ModerationUnavailable(LlmError):
    """Moderation could not run: nothing is answered (fail closed)."""

    status_code = 503
    code = "moderation_unavailable"


def request_moderate(turn: Turn) -> Moderation:
    """The policy and the most severe decision; a moderation failure is kept as the result's error."""
    candidate = turn.variant.settings.safety_policy
    policy = policy_of_variant(candidate, current=policy_current()) if candidate else policy_current()
    texts = [turn.question] + [m["content"] for m in (turn.history or []) if m.get("role") == "user"]
    try:
        decisions = [moderation.moderate(text, policy=policy) for text in texts]
    except (ClassifierUnavailable, LlmError) as error:
        trace = {"policy_version": policy.version, "input": {"error": str(error)[:300]}, "notes": {}}
        failure = ModerationUnavailable(f"moderation is unavailable, so nothing is answered: {error}")
        return Moderation(policy=policy, decision=None, trace=trace, error=failure)
    decision = max(decisions, key=lambda d: moderation.ACTION_ORDER.index(d.action))
    notes = {decision.category: decision.note} if decision.action == "caution" else {}
    trace = {"policy_version": policy.version, "input": decision.trace(), "notes": notes}
    return Moderation(policy=policy, decision=decision, trace=trace)
