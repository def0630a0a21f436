"""The lifecycle of A/B experiments on live answers: a control and a treatment variant, created, started,
promoted and stopped here; which arm a turn gets is the answer loop's (chat/answer/arms.py).

Starting needs the offline safety gate to pass; promoting the treatment to the tenant's default needs
the offline and the online gate (evaluation/gate.py). Every start, promotion and refusal is audited
with the gate's numbers."""

from datetime import timedelta
from statistics import median

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, F, Q
from django.utils import timezone

from chat.answer.arms import ARMS, arm_variant, tenant_variant
from chat.answer.variants import variant_from
from chat.models import Experiment, Feedback, Message, Preference
from core.api import ServiceError
from evaluation import gate
from evaluation.stats import difference, sample_size, wilson
from tenants.accounts.audit import audit_record
from tenants.accounts.models import User
from tenants.models import Tenant

BASELINE_DAYS = 30
DEFAULT_REFUSAL_BASELINE = 0.02  # when the tenant has answered too little to measure its own


class ExperimentError(ServiceError):
    code = "experiment_refused"


def experiment_create(
    *,
    tenant: Tenant,
    name: str,
    treatment: dict,
    actor: User,
    control: dict | None = None,
    traffic_share: float = 0.5,
    margin: float = 0.02,
) -> Experiment:
    control_variant = variant_from(control) if control else tenant_variant(tenant)
    treatment_variant = variant_from(treatment)
    if control_variant.settings.fingerprint() == treatment_variant.settings.fingerprint():
        raise ExperimentError("the treatment's settings are the control's: there is nothing to compare")
    experiment = Experiment.objects.create(
        name=name,
        control=control_variant.as_dict(),
        treatment=treatment_variant.as_dict(),
        traffic_share=traffic_share,
        margin=margin,
        created_by=None if actor.role == User.Role.OPERATOR else actor,  # an operator is no user of the tenant
    )
    audit_record(
        action="experiment.created",
        actor=actor,
        target_type="experiment",
        target_id=str(experiment.public_id),
        detail={"name": name, "control": experiment.control, "treatment": experiment.treatment},
    )
    return experiment


def _offline(experiment: Experiment) -> list[gate.Check]:
    return gate.offline_checks(
        control_fingerprint=arm_variant(experiment, "control").settings.fingerprint(),
        treatment_fingerprint=arm_variant(experiment, "treatment").settings.fingerprint(),
        margin=experiment.margin,
    )


def _refuse(experiment: Experiment, *, action: str, verdict: gate.Verdict, actor: User):
    Experiment.objects.filter(pk=experiment.pk).update(decision=verdict.as_dict())
    audit_record(
        action=action,
        actor=actor,
        target_type="experiment",
        target_id=str(experiment.public_id),
        detail=verdict.as_dict(),
    )
    raise ExperimentError("the safety gate refused: " + "; ".join(verdict.failures()), detail=verdict.as_dict())


def refusal_baseline() -> float:
    since = timezone.now() - timedelta(days=BASELINE_DAYS)
    counts = Message.objects.filter(role=Message.Role.ASSISTANT, created_at__gte=since).aggregate(
        answers=Count("id"), refused=Count("id", filter=Q(status=Message.Status.REFUSED))
    )
    return counts["refused"] / counts["answers"] if counts["answers"] >= 100 else DEFAULT_REFUSAL_BASELINE


def _control_is_current(tenant: Tenant, experiment: Experiment) -> None:
    """The gate compares the treatment with what answers use now: a stale or hand-picked control would let
    a treatment pass against a weaker baseline, and promotion would replace the current settings."""
    current = tenant_variant(tenant)
    if arm_variant(experiment, "control").settings.fingerprint() != current.settings.fingerprint():
        raise ExperimentError(
            f"the control is not what answers use now ({current.name}): create an experiment against them"
        )


def experiment_start(*, tenant: Tenant, experiment: Experiment, actor: User) -> Experiment:
    """Only a treatment that passes the offline safety gate reaches live traffic. The minimum sample per arm
    is fixed now: enough answers to see a change of `margin` in the refusal rate (alpha 0.05, power 0.8)."""
    if experiment.status != Experiment.Status.DRAFT:
        raise ExperimentError(f"the experiment is {experiment.status}; only a draft starts")
    _control_is_current(tenant, experiment)
    verdict = gate.Verdict(_offline(experiment))
    if not verdict.passed:
        _refuse(experiment, action="experiment.start_refused", verdict=verdict, actor=actor)
    experiment.min_sample_size = sample_size(refusal_baseline(), experiment.margin)
    experiment.status, experiment.started_at, experiment.decision = (
        Experiment.Status.RUNNING,
        timezone.now(),
        verdict.as_dict(),
    )
    try:
        with transaction.atomic():
            experiment.save(update_fields=["status", "started_at", "min_sample_size", "decision"])
    except IntegrityError as error:
        raise ExperimentError("another experiment is running: stop or promote it first") from error
    audit_record(
        action="experiment.started",
        actor=actor,
        target_type="experiment",
        target_id=str(experiment.public_id),
        detail={"min_sample_size": experiment.min_sample_size, **verdict.as_dict()},
    )
    return experiment


def arm_counts(experiment: Experiment) -> dict[str, dict]:
    """Per arm: answers, refusals, over-refusal reports (thumbs-down on a refusal), abstentions, ratings."""
    answers = Message.objects.filter(experiment=experiment, role=Message.Role.ASSISTANT)
    rows = answers.values("arm").annotate(
        answers=Count("id"),
        refused=Count("id", filter=Q(status=Message.Status.REFUSED)),
        abstained=Count("id", filter=Q(status=Message.Status.ABSTAINED)),
    )
    counts = {arm: {"answers": 0, "refused": 0, "abstained": 0} for arm in ARMS}
    for row in rows:
        if row["arm"] in counts:
            counts[row["arm"]].update({k: row[k] for k in ("answers", "refused", "abstained")})
    ratings = (
        Feedback.objects.filter(message__experiment=experiment)
        .values("message__arm")
        .annotate(
            up=Count("id", filter=Q(rating=Feedback.Rating.UP)),
            rated=Count("id"),
            over_refusal_reports=Count(
                "id", filter=Q(rating=Feedback.Rating.DOWN, message__status=Message.Status.REFUSED)
            ),
        )
    )
    for arm in counts.values():
        arm.update({"up": 0, "rated": 0, "over_refusal_reports": 0, "preferred": 0, "compared": 0})
    for row in ratings:
        if row["message__arm"] in counts:
            counts[row["message__arm"]].update({k: row[k] for k in ("up", "rated", "over_refusal_reports")})
    pairs = Preference.objects.filter(chosen__experiment=experiment, rejected__experiment=experiment).exclude(
        chosen__arm=F("rejected__arm")
    )
    for chosen_arm in pairs.values_list("chosen__arm", flat=True):
        if chosen_arm in counts:
            counts[chosen_arm]["preferred"] += 1
    compared = pairs.count()
    for arm in counts.values():
        arm["compared"] = compared
    for arm, values in counts.items():
        mine = answers.filter(arm=arm)
        values.update(mine.aggregate(mean_chars=Avg("content_chars"), mean_tokens=Avg("total_tokens")))
        first_tokens = sorted(mine.exclude(first_token_ms=None).values_list("first_token_ms", flat=True))
        values["median_first_token_ms"] = median(first_tokens) if first_tokens else None
    return counts


def arm_metrics(counts: dict[str, dict]) -> dict[str, dict]:
    """Rates per arm with their 95% intervals, and the treatment's change against the control."""
    found = {}
    for arm, c in counts.items():
        found[arm] = {
            name: {"value": hits / n if n else None, "interval": wilson(hits, n) if n else None, "n": n}
            for name, hits, n in (
                ("thumbs_up", c["up"], c["rated"]),
                ("preference_wins", c["preferred"], c["compared"]),
                ("abstention", c["abstained"], c["answers"]),
                ("refusal", c["refused"], c["answers"]),
                ("over_refusal_reports", c["over_refusal_reports"], c["answers"]),
            )
        }
    control, treatment = counts["control"], counts["treatment"]
    found["change"] = {}
    for name, hits, n in (("thumbs_up", "up", "rated"), ("refusal", "refused", "answers")):
        value, low, high = difference(treatment[hits], treatment[n], control[hits], control[n])
        found["change"][name] = {"value": value, "low": low, "high": high}
    return found


def experiment_promote(*, tenant: Tenant, experiment: Experiment, actor: User) -> Experiment:
    """Make the treatment the tenant's answer settings, if the offline and online safety gates pass."""
    if experiment.status != Experiment.Status.RUNNING:
        raise ExperimentError(f"the experiment is {experiment.status}; only a running one is promoted")
    _control_is_current(tenant, experiment)
    counts = arm_counts(experiment)
    online = gate.online_checks(
        control=counts["control"],
        treatment=counts["treatment"],
        margin=experiment.margin,
        min_sample_size=experiment.min_sample_size,
    )
    verdict = gate.Verdict(_offline(experiment) + online)
    if not verdict.passed:
        _refuse(experiment, action="experiment.promotion_refused", verdict=verdict, actor=actor)
    with transaction.atomic():
        Tenant.objects.filter(pk=tenant.pk).update(answer_variant=experiment.treatment)
        tenant.answer_variant = experiment.treatment
        experiment.status, experiment.ended_at = Experiment.Status.PROMOTED, timezone.now()
        experiment.decision = verdict.as_dict() | {"counts": counts}
        experiment.save(update_fields=["status", "ended_at", "decision"])
        audit_record(
            action="experiment.promoted",
            actor=actor,
            target_type="experiment",
            target_id=str(experiment.public_id),
            detail={"treatment": experiment.treatment, **experiment.decision},
        )
    return experiment


def experiment_act(*, tenant: Tenant, experiment: Experiment, action: str, actor: User) -> Experiment:
    """ "start", "promote" or "stop", as the API, the page and the operator API name them."""
    if action == "start":
        return experiment_start(tenant=tenant, experiment=experiment, actor=actor)
    if action == "promote":
        return experiment_promote(tenant=tenant, experiment=experiment, actor=actor)
    if action == "stop":
        return experiment_stop(experiment=experiment, actor=actor)
    raise ExperimentError(f"unknown action {action!r}: start, promote or stop")


def experiment_stop(*, experiment: Experiment, actor: User) -> Experiment:
    if experiment.status not in (Experiment.Status.DRAFT, Experiment.Status.RUNNING):
        raise ExperimentError(f"the experiment is {experiment.status} already")
    experiment.status, experiment.ended_at = Experiment.Status.STOPPED, timezone.now()
    experiment.save(update_fields=["status", "ended_at"])
    audit_record(
        action="experiment.stopped", actor=actor, target_type="experiment", target_id=str(experiment.public_id)
    )
    return experiment
