"""Which answer settings a turn gets: a running A/B experiment's arm (users split by a hash of their id
and the experiment's, sticky across sessions and devices; a regeneration gets the other arm, so
regenerate-and-prefer compares the two side by side), else the tenant's default. The experiments'
lifecycle and their gate are evaluation's (evaluation/experiments.py)."""

import hashlib

from chat.answer.variants import DEFAULT, Variant, variant_stored
from chat.models import Experiment
from tenants.accounts.models import User
from tenants.models import Tenant

ARMS = ("control", "treatment")


def tenant_variant(tenant: Tenant) -> Variant:
    return variant_stored(tenant.answer_variant) if tenant.answer_variant else DEFAULT


def arm_for(experiment: Experiment, user: User) -> str:
    digest = hashlib.sha256(f"{experiment.public_id}:{user.public_id}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    return "treatment" if position < experiment.traffic_share else "control"


def arm_variant(experiment: Experiment, arm: str) -> Variant:
    return variant_stored(experiment.treatment if arm == "treatment" else experiment.control)


def running() -> Experiment | None:
    return Experiment.objects.filter(status=Experiment.Status.RUNNING).first()


def turn_variant_choose(turn) -> None:
    """Settle the turn's answer settings: a running experiment's arm, else the tenant's default."""
    experiment = running()
    if experiment is None:
        turn.variant = tenant_variant(turn.tenant)
        return
    arm = arm_for(experiment, turn.user)
    original = turn.regenerate_of
    if original is not None and original.experiment_id == experiment.pk and original.arm in ARMS:
        arm = "control" if original.arm == "treatment" else "treatment"  # side by side: the other variant
    turn.variant, turn.experiment_arm = arm_variant(experiment, arm), (experiment, arm)
