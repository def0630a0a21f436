"""A run whose worker died does not stay "running" for ever: it is failed with the reason and its files go."""

import shutil
from datetime import timedelta

import pytest
from billiard.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from alignment import services
from alignment.models import AlignmentRun
from alignment.tasks import align_run, stopped_runs_fail
from tenants.tasking import TENANT_KWARG

pytestmark = pytest.mark.django_db
MADE = []  # run folders this module made: the rows roll back with the test, the files do not


@pytest.fixture(autouse=True)
def _folders_removed():
    yield
    while MADE:
        shutil.rmtree(MADE.pop(), ignore_errors=True)


def _run(status: str, started_ago: timedelta | None) -> AlignmentRun:
    started = timezone.now() - started_ago if started_ago is not None else None
    run = AlignmentRun.objects.create(name="r", recipe={}, status=status, started_at=started)
    folder = services.run_folder(run)
    folder.mkdir(parents=True)
    MADE.append(folder)
    (folder / "checkpoint.bin").write_bytes(b"half a run")
    return run


def test_runs_older_than_a_task_may_run_are_failed_in_every_tenant_and_others_are_left(tenant_a, tenant_b):
    limit = timedelta(seconds=settings.ENCLAVE_ALIGNMENT_TIME_LIMIT)
    with schema_context("tenant_a"):
        stopped = _run("running", limit + timedelta(minutes=5))
        working = _run("running", timedelta(minutes=5))
        queued = _run("queued", None)
    with schema_context("tenant_b"):
        stopped_b = _run("running", limit * 2)

    stopped_runs_fail()

    with schema_context("tenant_a"):
        found = {run.pk: run for run in AlignmentRun.objects.all()}
        assert found[stopped.pk].status == "failed" and found[stopped.pk].error == services.STOPPED
        assert found[stopped.pk].finished_at is not None and not services.run_folder(stopped).exists()
        assert found[working.pk].status == "running" and services.run_folder(working).exists()
        assert found[queued.pk].status == "queued" and services.run_folder(queued).exists()
    with schema_context("tenant_b"):
        assert AlignmentRun.objects.get(pk=stopped_b.pk).status == "failed"
        assert not services.run_folder(stopped_b).exists()


def test_a_run_delivered_again_after_its_worker_was_lost_is_failed_not_left_running(tenant_a):
    with schema_context("tenant_a"):
        lost = _run("running", timedelta(minutes=1))
        done = _run("succeeded", timedelta(minutes=30))

    outcome = align_run.apply(kwargs={TENANT_KWARG: "tenant_a", "run_id": str(lost.public_id)}).get()
    again = align_run.apply(kwargs={TENANT_KWARG: "tenant_a", "run_id": str(done.public_id)}).get()

    assert outcome == "failed" and again == "not queued"
    with schema_context("tenant_a"):
        assert AlignmentRun.objects.get(pk=lost.pk).error == services.STOPPED
        assert AlignmentRun.objects.get(pk=done.pk).status == "succeeded"
        assert not services.run_folder(lost).exists() and services.run_folder(done).exists()


def test_a_run_may_take_its_own_time_limit_and_no_broker_redelivers_it_meanwhile():
    limit = settings.ENCLAVE_ALIGNMENT_TIME_LIMIT
    assert align_run.time_limit == limit > settings.CELERY_TASK_TIME_LIMIT
    assert align_run.soft_time_limit == limit - 300
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > limit


def test_the_soft_time_limit_inside_a_run_fails_it_with_the_reason_and_leaves_nothing(tenant_a, monkeypatch):
    def out_of_time(**_kwargs):
        services.run_folder(run).mkdir(parents=True, exist_ok=True)  # what a run has written by then
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "training_data", out_of_time)
    with schema_context("tenant_a"):
        run = AlignmentRun.objects.create(name="r", recipe={"name": "r", "data": {"public": "rows.jsonl"}})
        MADE.append(services.run_folder(run))
        run = services.run_execute(tenant=tenant_a.tenant, run=run)

    assert run.status == "failed" and run.error.startswith("SoftTimeLimitExceeded")
    assert not services.run_folder(run).exists()
