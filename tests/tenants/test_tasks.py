import pytest
from celery import Celery
from django.db import connection

from config.celery import app
from tenants import services
from tenants.models import Tenant
from tenants.tasking import (
    TENANT_KWARG,
    MissingTenantError,
    PublicTask,
    TenantTask,
    TenantUnavailableError,
    UnexpectedTenantError,
    public_task,
    tenant_task,
)
from tenants.tasks import tenant_usage_compute
from tests.processes import celery_worker

pytestmark = pytest.mark.django_db
PROJECT_APPS = ("tenants", "ingestion", "retrieval", "chat", "inference", "safety", "evaluation", "alignment")
# The only tasks that run in the public schema: they fan out over tenants. Adding one is a decision.
PUBLIC_TASKS = {"tenants.retention_dispatch", "ingestion.stale_requeue", "alignment.stopped_runs_fail"}


@tenant_task(name="tests.schema_probe")
def schema_probe(*, tenant: Tenant, fail: bool = False) -> str:
    if fail:
        raise ValueError("boom")
    return connection.schema_name


@public_task(name="tests.public_schema_probe")
def public_schema_probe(*, fail: bool = False) -> str:
    if fail:
        raise ValueError("boom")
    return connection.schema_name


def unscoped_tasks(tasks: dict) -> list[str]:
    """Appliance tasks that are neither tenant tasks nor one of the listed public tasks."""
    return [
        name
        for name, task in tasks.items()
        if not isinstance(task, TenantTask) and not (isinstance(task, PublicTask) and name in PUBLIC_TASKS)
    ]


def test_a_task_runs_in_its_tenants_schema_and_leaves_the_connection_on_public(tenant_a):
    result = schema_probe.apply(kwargs={TENANT_KWARG: "tenant_a"})

    assert result.get() == "tenant_a"
    assert connection.schema_name == "public"


def test_a_task_without_a_tenant_fails_closed_before_running():
    result = schema_probe.apply(kwargs={})

    assert isinstance(result.result, MissingTenantError)
    assert connection.schema_name == "public"


def test_a_task_for_a_missing_or_suspended_tenant_fails_closed(tenant_a):
    services.tenant_suspend(tenant=tenant_a.tenant)

    missing = schema_probe.apply(kwargs={TENANT_KWARG: "nobody"})
    suspended = schema_probe.apply(kwargs={TENANT_KWARG: "tenant_a"})

    assert isinstance(missing.result, TenantUnavailableError)
    assert isinstance(suspended.result, TenantUnavailableError)
    assert "suspended" in str(suspended.result)


def test_a_failing_task_still_leaves_the_connection_on_public(tenant_a):
    result = schema_probe.apply(kwargs={TENANT_KWARG: "tenant_a", "fail": True})

    assert isinstance(result.result, ValueError)
    assert connection.schema_name == "public"


def test_every_task_of_the_appliance_is_a_tenant_task_or_a_listed_public_task():
    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if name.split(".")[0] in PROJECT_APPS}

    assert ours, "no appliance tasks found: autodiscovery is broken"
    assert unscoped_tasks(ours) == []
    assert {name for name, task in ours.items() if isinstance(task, PublicTask)} == PUBLIC_TASKS


def test_a_plain_task_or_an_unlisted_public_task_is_caught():
    def noop():
        pass

    probe_app = Celery("probe", set_as_current=False)  # keeps these tasks out of the appliance's registry
    plain = probe_app.task(name="chat.plain", shared=False)(noop)
    unlisted = probe_app.task(name="chat.unlisted", base=PublicTask, shared=False)(noop)

    assert unscoped_tasks({"chat.plain": plain, "chat.unlisted": unlisted}) == ["chat.plain", "chat.unlisted"]


def test_a_public_task_runs_in_public_and_leaves_the_connection_there(tenant_a):
    connection.set_tenant(tenant_a.tenant)
    result = public_schema_probe.apply()
    failed = public_schema_probe.apply(kwargs={"fail": True})

    assert result.get() == "public"
    assert isinstance(failed.result, ValueError)
    assert connection.schema_name == "public"


def test_a_public_task_refuses_to_run_for_a_tenant(tenant_a):
    result = public_schema_probe.apply(kwargs={TENANT_KWARG: "tenant_a"})

    assert isinstance(result.result, UnexpectedTenantError)


def test_usage_is_computed_in_the_tenants_schema(tenant_a):
    usage = tenant_usage_compute.apply(kwargs={TENANT_KWARG: "tenant_a"}).get()

    assert usage["schema"] == "tenant_a"
    assert usage["users"] == 3
    assert usage["groups"] == 2


@pytest.mark.integration
def test_a_real_worker_runs_tenant_tasks_and_refuses_tasks_without_a_tenant(tenant_a, tenant_b):
    with celery_worker() as worker:
        good = tenant_usage_compute.apply_async(kwargs={TENANT_KWARG: "tenant_b"}, queue=worker.queue)
        bad = tenant_usage_compute.apply_async(kwargs={}, queue=worker.queue)

        usage = good.get(timeout=120)
        with pytest.raises(Exception, match="without a tenant"):
            bad.get(timeout=60)

    assert usage["schema"] == "tenant_b"
    assert usage["users"] == 3
    tenant_b.tenant.refresh_from_db()
    assert tenant_b.tenant.usage["schema"] == "tenant_b"
    assert bad.state == "FAILURE"
