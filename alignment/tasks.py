import logging
from datetime import timedelta

from celery.signals import worker_ready
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from alignment.models import AlignmentRun
from alignment.services import run_execute, run_fail_stopped, runs_fail_stopped
from tenants.models import Tenant
from tenants.tasking import public_task, tenant_task

logger = logging.getLogger(__name__)


@tenant_task(
    name="alignment.align_run",
    time_limit=settings.ENCLAVE_ALIGNMENT_TIME_LIMIT,
    soft_time_limit=settings.ENCLAVE_ALIGNMENT_TIME_LIMIT - 300,
)
def align_run(*, tenant: Tenant, run_id: str) -> str:
    run = AlignmentRun.objects.filter(public_id=run_id).first()
    if run is not None and run.status == AlignmentRun.Status.RUNNING:
        # Only this task starts a run, and the broker gives its message again only when the worker that took
        # it was lost (acks_late, reject_on_worker_lost): nobody is running it any more.
        return run_fail_stopped(run).status
    if run is None or run.status != AlignmentRun.Status.QUEUED:
        return "not queued"
    return run_execute(tenant=tenant, run=run).status


@worker_ready.connect
def fail_stopped_runs_at_start(**_kwargs) -> None:
    stopped_runs_fail()


@public_task(name="alignment.stopped_runs_fail")
def stopped_runs_fail_task() -> None:
    """Scheduled (config/celery.py), so a run whose worker died says so without waiting for a restart."""
    stopped_runs_fail()


def stopped_runs_fail() -> None:
    """In every tenant, runs started longer ago than a run may take (its task's hard time limit) and still
    "running"."""
    started_before = timezone.now() - timedelta(seconds=settings.ENCLAVE_ALIGNMENT_TIME_LIMIT)
    for tenant in Tenant.objects.filter(status=Tenant.Status.ACTIVE):
        with tenant_context(tenant):
            failed = runs_fail_stopped(started_before=started_before)
        if failed:
            logger.warning("alignment runs left running by stopped workers", extra={"tenant": tenant.schema_name})
