"""Experiments: sticky, balanced assignment; answers record their arm; the safety gate refuses an unsafe
treatment with its numbers, and promotes a treatment that keeps safety once each arm has enough answers."""

import uuid
from types import SimpleNamespace

import pytest
from django_tenants.utils import schema_context

from chat.answer import arms as arm_choice
from chat.answer.variants import DEFAULT, variant_from, variant_stored
from chat.models import Conversation, Experiment, Feedback, Message
from evaluation import experiments
from evaluation.runs import run_record
from evaluation.safety import DATASETS, measured, sets_load, variant_rates
from safety.policy import policy_candidate, policy_of_variant
from tenants.accounts.models import AuditEvent
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

UNSAFE = {"name": "weapons allowed", "settings": {"safety_policy": {"overrides": {"weapons": "allow"}}}}
COOLER = {"name": "cooler", "settings": {"temperature": 0.05}}
QUESTION = "Which class may I book for a four hour flight?"
ANSWER = "Flights shorter than six hours are booked in economy class [1]."


@pytest.fixture(scope="module")
def safety_sets():
    """Each variant's rates on the held-out sets, every other row: the classifier runs once per variant."""
    harmful, benign = sets_load(
        DATASETS, [DATASETS / "harmful_heldout.jsonl"], [DATASETS / "benign_sensitive.jsonl"], True
    )
    halves = ({name: rows[::2] for name, rows in harmful.items()}, {name: rows[::2] for name, rows in benign.items()})
    return {
        variant.name: variant_rates(variant, *halves)
        for variant in (DEFAULT, variant_from(UNSAFE), variant_from(COOLER))
    }


INJECTION = SimpleNamespace(cases=40, followed_defended=1, followed_baseline=9)  # as evaluation.injection counts


def _offline_runs(safety_sets, *variants, injection=INJECTION):
    """Each variant's offline safety run, recorded as `evaluate_safety --variant` records it (the injection
    cases need the model, so their counts are given here)."""
    for variant in variants:
        refusals, over = safety_sets[variant.name]
        run_record(
            kind="safety",
            dataset="held-out sets",
            variant=variant,
            started_at=None,
            metrics=measured(refusals, over, injection),
        )


def _create(api, world, treatment, share=0.5):
    body = {"name": "trial", "treatment": treatment, "traffic_share": share}
    response = api("post", "/api/v1/experiments/", key=world.admin_key, data=body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.mark.parametrize("share", [0.5, 0.2])
def test_assignment_is_sticky_and_balanced_over_ten_thousand_users(share):
    experiment = Experiment(public_id=uuid.uuid4(), traffic_share=share)
    users = [SimpleNamespace(public_id=uuid.uuid4()) for _ in range(10_000)]

    arms = [arm_choice.arm_for(experiment, user) for user in users]
    again = [arm_choice.arm_for(Experiment(public_id=experiment.public_id, traffic_share=share), u) for u in users]

    treated = arms.count("treatment")
    spread = (10_000 * share * (1 - share)) ** 0.5
    assert abs(treated - 10_000 * share) < 4 * spread  # within four standard deviations
    assert arms == again  # the same user, another session or device: the same arm
    other = Experiment(public_id=uuid.uuid4(), traffic_share=share)
    assert [arm_choice.arm_for(other, u) for u in users] != arms  # each experiment splits afresh


def test_an_unsafe_treatment_is_refused_with_the_numbers_at_start_and_at_promotion(api, tenant_a, safety_sets):
    _offline_runs(safety_sets, DEFAULT, variant_from(UNSAFE))
    experiment = _create(api, tenant_a, UNSAFE)

    refused = api("post", f"/api/v1/experiments/{experiment}/start/", key=tenant_a.admin_key)
    with schema_context("tenant_a"):
        Experiment.objects.filter(public_id=experiment).update(status="running", min_sample_size=0)
    not_promoted = api("post", f"/api/v1/experiments/{experiment}/promote/", key=tenant_a.admin_key)

    message = refused.json()["error"]["message"]
    assert refused.status_code == 409 and "refusal on harmful_heldout.jsonl" in message and "regressed" in message
    failed = [c for c in refused.json()["error"]["detail"]["checks"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["refusal"] and failed[0]["treatment"] < failed[0]["control"] - 0.02
    assert not_promoted.status_code == 409 and "regressed" in not_promoted.json()["error"]["message"]
    with schema_context("tenant_a"):
        actions = set(AuditEvent.objects.filter(target_id=experiment).values_list("action", flat=True))
        assert Experiment.objects.get(public_id=experiment).status == "running"
    assert {"experiment.start_refused", "experiment.promotion_refused"} <= actions
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).answer_variant == {}


def _seed_arm(world, experiment, arm, *, answers, refused, up, rated):
    conversation = Conversation.objects.create(user=world.legal, title_encrypted=b"")
    rows = Message.objects.bulk_create(
        Message(
            conversation=conversation,
            role="assistant",
            content_encrypted=b"",
            status="refused" if index < refused else "complete",
            experiment=experiment,
            arm=arm,
        )
        for index in range(answers)
    )
    Feedback.objects.bulk_create(
        Feedback(message=row, user=world.legal, rating=1 if index < up else -1)
        for index, row in enumerate(rows[refused : refused + rated])
    )


def test_a_treatment_that_keeps_safety_is_promoted_once_each_arm_has_enough_answers(api, tenant_a, safety_sets):
    _offline_runs(safety_sets, DEFAULT, variant_from(COOLER))
    experiment = _create(api, tenant_a, COOLER)
    started = api("post", f"/api/v1/experiments/{experiment}/start/", key=tenant_a.admin_key).json()
    early = api("post", f"/api/v1/experiments/{experiment}/promote/", key=tenant_a.admin_key)
    needed = started["min_sample_size"]
    with schema_context("tenant_a"):
        running = Experiment.objects.get(public_id=experiment)
        _seed_arm(tenant_a, running, "control", answers=needed + 20, refused=needed // 50, up=120, rated=300)
        _seed_arm(tenant_a, running, "treatment", answers=needed + 20, refused=needed // 50, up=200, rated=300)

    promoted = api("post", f"/api/v1/experiments/{experiment}/promote/", key=tenant_a.admin_key)

    assert started["status"] == "running" and needed > 500  # a 2-point change in refusals needs many answers
    assert early.status_code == 409 and "too few answers yet" in early.json()["error"]["message"]
    assert promoted.status_code == 200, promoted.content
    body = promoted.json()
    assert body["status"] == "promoted" and body["decision"]["passed"] is True
    assert body["metrics"]["treatment"]["thumbs_up"]["value"] == pytest.approx(200 / 300)
    assert body["metrics"]["change"]["thumbs_up"]["low"] > 0  # better, with confidence
    offline = body["offline"]["treatment"]["safety"]["metrics"]
    assert {m["name"] for m in offline} == {"refusal", "over_refusal", "injection_success"}
    assert "answers" not in body["offline"]["treatment"]
    tenant = Tenant.objects.get(pk=tenant_a.tenant.pk)
    assert tenant.answer_variant == {"name": "cooler", "settings": {"temperature": 0.05}}
    turn = SimpleNamespace(tenant=tenant, user=tenant_a.finance, regenerate_of=None, variant=None)
    with schema_context("tenant_a"):
        arm_choice.turn_variant_choose(turn)
        assert AuditEvent.objects.filter(action="experiment.promoted", target_id=experiment).exists()
    assert turn.variant.settings.temperature == 0.05  # the treatment is now every answer's default


def test_each_answer_records_its_arm_and_a_regeneration_uses_the_other(api, fake_llm, tenant_a, handbook, safety_sets):
    _offline_runs(safety_sets, DEFAULT, variant_from(COOLER))
    experiment = _create(api, tenant_a, COOLER)
    api("post", f"/api/v1/experiments/{experiment}/start/", key=tenant_a.admin_key)
    fake_llm.answer(ANSWER)
    conversation = api("post", "/api/v1/conversations/", key=tenant_a.legal_key, data={"title": "t"}).json()["id"]
    path = f"/api/v1/conversations/{conversation}/messages/"
    first = api("post", path, key=tenant_a.legal_key, data={"content": QUESTION, "stream": False}).json()["message"]
    regenerate = f"/api/v1/messages/{first['id']}/regenerate/"
    second = api("post", regenerate, key=tenant_a.legal_key, data={"stream": False}).json()["message"]

    with schema_context("tenant_a"):
        running = Experiment.objects.get(public_id=experiment)
        arms = dict(Message.objects.filter(public_id__in=[first["id"], second["id"]]).values_list("public_id", "arm"))
    expected = arm_choice.arm_for(running, tenant_a.legal)
    assert arms[uuid.UUID(first["id"])] == expected
    assert arms[uuid.UUID(second["id"])] == ({"control", "treatment"} - {expected}).pop()
    temperatures = [request["body"]["temperature"] for request in fake_llm.requests]
    assert 0.05 in temperatures and len(set(temperatures)) == 2  # each arm's own settings reached the model
    with schema_context("tenant_a"):
        counts = experiments.arm_counts(running)
    assert {arm: counts[arm]["answers"] for arm in ("control", "treatment")} == {"control": 1, "treatment": 1}
    assert all(counts[arm]["mean_chars"] == len(ANSWER) for arm in ("control", "treatment"))
    assert all(counts[arm]["mean_tokens"] > 0 for arm in ("control", "treatment"))


def test_a_variant_cannot_send_prompts_to_a_server_the_operator_did_not_list(api, tenant_a, settings):
    settings.ENCLAVE_VARIANT_BASE_URLS = ["http://gpu-2.internal:8000/v1"]
    elsewhere = {"name": "exfiltrate", "settings": {"base_url": "http://169.254.169.254/latest"}}
    listed = {"name": "second GPU", "settings": {"base_url": "http://gpu-2.internal:8000/v1"}}

    refused = api("post", "/api/v1/experiments/", key=tenant_a.admin_key, data={"name": "x", "treatment": elsewhere})
    accepted = api("post", "/api/v1/experiments/", key=tenant_a.admin_key, data={"name": "y", "treatment": listed})

    assert refused.status_code == 400 and "a model server the operator listed" in refused.json()["error"]["message"]
    assert accepted.status_code == 201


def test_an_operator_defines_a_tenants_experiment_which_the_gate_holds_like_any_other(api, operator, tenant_a):
    base = f"/api/v1/operator/tenants/{tenant_a.tenant.pk}/experiments/"

    created = api("post", base, key=operator.key, data={"name": "fleet-wide", "treatment": COOLER})
    experiment = created.json()["id"]
    started = api("post", f"{base}{experiment}/start/", key=operator.key)
    listed = api("get", base, key=operator.key).json()["results"]
    stopped = api("post", f"{base}{experiment}/stop/", key=operator.key)
    by_tenant_admin = api("get", f"/api/v1/experiments/{experiment}/", key=tenant_a.admin_key).json()

    assert created.status_code == 201 and [e["id"] for e in listed] == [experiment]
    assert started.status_code == 409 and "no offline safety run" in started.json()["error"]["message"]
    assert stopped.json()["status"] == "stopped" and by_tenant_admin["status"] == "stopped"
    with schema_context("tenant_a"):
        labels = set(AuditEvent.objects.filter(target_id=experiment).values_list("actor_label", flat=True))
        assert Experiment.objects.get(public_id=experiment).created_by is None
    assert labels == {"ops"}


def test_the_gate_refuses_a_run_that_measured_too_little_and_a_control_that_is_not_current(api, tenant_a, safety_sets):
    _offline_runs(safety_sets, DEFAULT, injection=None)  # the control's run skipped the injection cases
    _offline_runs(safety_sets, variant_from(COOLER))
    experiment = _create(api, tenant_a, COOLER)
    stale = api(
        "post",
        "/api/v1/experiments/",
        key=tenant_a.admin_key,
        data={"name": "stale", "control": {"name": "old", "settings": {"temperature": 0.7}}, "treatment": COOLER},
    ).json()["id"]
    no_margin = api(
        "post", "/api/v1/experiments/", key=tenant_a.admin_key, data={"name": "z", "treatment": COOLER, "margin": 0}
    )

    short = api("post", f"/api/v1/experiments/{experiment}/start/", key=tenant_a.admin_key)
    not_current = api("post", f"/api/v1/experiments/{stale}/start/", key=tenant_a.admin_key)

    assert short.status_code == 409
    assert "the control's safety run measured injection_success on 0 items" in short.json()["error"]["message"]
    assert (
        not_current.status_code == 409
        and "the control is not what answers use now" in not_current.json()["error"]["message"]
    )
    assert no_margin.status_code == 400


def test_a_stored_variant_whose_server_was_unlisted_falls_back_to_the_default_server(settings):
    settings.ENCLAVE_VARIANT_BASE_URLS = []
    stored = {"name": "second GPU", "settings": {"base_url": "http://gpu-2.internal:8000/v1", "temperature": 0.1}}

    variant = variant_stored(stored)

    assert variant.settings.base_url is None and variant.settings.temperature == 0.1


def test_only_one_experiment_runs_at_a_time(api, tenant_a, safety_sets):
    _offline_runs(safety_sets, DEFAULT, variant_from(COOLER))
    first, second = _create(api, tenant_a, COOLER), _create(api, tenant_a, COOLER)

    started = api("post", f"/api/v1/experiments/{first}/start/", key=tenant_a.admin_key)
    refused = api("post", f"/api/v1/experiments/{second}/start/", key=tenant_a.admin_key)

    assert started.status_code == 200
    assert refused.status_code == 409 and "another experiment is running" in refused.json()["error"]["message"]


def test_in_live_traffic_an_arm_that_loosens_a_category_keeps_the_floor_and_the_tenants_policy():
    current = policy_candidate({"overrides": {"political_persuasion": "refuse"}})  # the tenant tightened one

    live = policy_of_variant({"overrides": {"weapons": "allow", "privacy": "refuse"}}, current=current)

    assert live.action("weapons") == "refuse"  # the floor: the candidate's "allow" is measured offline only
    assert live.action("political_persuasion") == "refuse"  # the tenant's own tightening stays
    assert live.action("privacy") == "refuse"  # and the candidate may tighten further
