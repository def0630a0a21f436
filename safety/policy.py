"""A tenant's safety policy: the appliance's floor, a region profile, and the tenant's own tightenings.

Versions are append-only rows in the tenant's schema; the newest is in force. A change that would
make any category looser than the floor of the chosen region is refused.
"""

from dataclasses import dataclass

from django.db import transaction

from core.api import ServiceError
from safety import taxonomy
from safety.models import PolicyVersion
from tenants.accounts.audit import audit_record
from tenants.accounts.models import User


class PolicyError(ServiceError):
    status_code = 400
    code = "invalid_policy"


@dataclass(frozen=True)
class Policy:
    version: int
    region: str
    overrides: dict[str, str]
    actions: dict[str, str]  # category -> allow | caution | refuse, in force

    def action(self, category: str | None) -> str:
        return self.actions.get(category, "allow") if category else "allow"


def _effective(region: str, overrides: dict[str, str]) -> dict[str, str]:
    base = taxonomy.floor(region)
    return {category: taxonomy.stricter(overrides.get(category, action), action) for category, action in base.items()}


def policy_current() -> Policy:
    """The policy in force in the current tenant schema (the floor when the tenant never set one)."""
    latest = PolicyVersion.objects.order_by("-number").first()
    if latest is None:
        return Policy(version=0, region="default", overrides={}, actions=_effective("default", {}))
    return Policy(
        version=latest.number,
        region=latest.region,
        overrides=dict(latest.overrides),
        actions=_effective(latest.region, latest.overrides),
    )


def policy_candidate(candidate: dict) -> Policy:
    """A candidate policy version as written, for offline evaluation: overrides replace the region's
    actions even where they are looser than the floor (the evaluation exists to catch that)."""
    region, overrides = candidate.get("region", "default"), dict(candidate.get("overrides") or {})
    return Policy(version=-1, region=region, overrides=overrides, actions=taxonomy.floor(region) | overrides)


def policy_of_variant(candidate: dict, *, current: Policy) -> Policy:
    """An experiment arm's policy in live traffic: the candidate, never looser than the floor nor than the
    tenant's policy in force."""
    written = policy_candidate(candidate)
    actions = {c: taxonomy.stricter(written.actions[c], current.actions[c]) for c in current.actions}
    return Policy(version=current.version, region=written.region, overrides=written.overrides, actions=actions)


def _validate(region: str, overrides: dict) -> dict[str, str]:
    if region not in taxonomy.REGION_PROFILES:
        raise PolicyError(f"unknown region profile {region!r}; known: {', '.join(taxonomy.REGION_PROFILES)}")
    floor = taxonomy.floor(region)
    problems = {}
    for category, action in overrides.items():
        if category not in taxonomy.BY_ID:
            problems[category] = "unknown category"
        elif action not in taxonomy.ACTIONS:
            problems[category] = f"action must be one of {', '.join(taxonomy.ACTIONS)}"
        elif taxonomy.stricter(action, floor[category]) != action:
            problems[category] = f"cannot be looser than the floor ({floor[category]})"
    if problems:
        raise PolicyError("the policy can only make categories stricter", detail=problems)
    return {category: action for category, action in overrides.items() if action != floor[category]}


@transaction.atomic
def policy_update(*, region: str, overrides: dict, note: str = "", actor: User | None) -> Policy:
    overrides = _validate(region, overrides)
    before = policy_current()
    latest = PolicyVersion.objects.select_for_update().order_by("-number").first()
    version = PolicyVersion.objects.create(
        number=(latest.number if latest else 0) + 1, region=region, overrides=overrides, note=note, created_by=actor
    )
    audit_record(
        action="safety.policy_changed",
        actor=actor,
        target_type="safety_policy",
        target_id=str(version.number),
        detail={
            "from": {"version": before.version, "region": before.region, "overrides": before.overrides},
            "to": {"region": region, "overrides": overrides},
            "note": note,
        },
    )
    return policy_current()


def policy_versions(limit: int = 50):
    return PolicyVersion.objects.select_related("created_by").order_by("-number")[:limit]
