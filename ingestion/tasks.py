import logging
import os
import socket
from datetime import timedelta

from celery.signals import worker_ready
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from ingestion import pipeline
from ingestion.index_rebuild import embedding_index_finish_if_complete
from ingestion.services import versions_requeue_stale
from tenants.models import Tenant
from tenants.tasking import public_task, tenant_task

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError, MemoryError)
MAX_RETRIES = 5


def _with_retries(task, work, *, on_failure):
    """Permanent failures are recorded at once; transient ones retried with backoff, then recorded."""
    try:
        return work()
    except pipeline.PermanentFailure as exc:
        on_failure(str(exc))
        return "failed"
    except TRANSIENT as exc:
        if task.request.retries >= MAX_RETRIES:
            on_failure(f"ingestion failed {MAX_RETRIES + 1} times: {exc}")
            return "failed"
        raise task.retry(exc=exc, countdown=min(300, 5 * 2**task.request.retries)) from exc
    except Exception as exc:
        logger.exception("ingestion failed")
        on_failure(f"ingestion failed unexpectedly ({type(exc).__name__}: {exc})")
        return "failed"


@tenant_task(name="ingestion.document_version_ingest", bind=True, max_retries=MAX_RETRIES)
def document_version_ingest(self, *, tenant: Tenant, version_id: int) -> str:
    worker = f"{socket.gethostname()}:{os.getpid()}"
    return _with_retries(
        self,
        lambda: pipeline.version_ingest(tenant=tenant, version_id=version_id, worker=worker),
        on_failure=lambda reason: pipeline.version_fail(version_id=version_id, reason=reason),
    )


@tenant_task(name="ingestion.document_reembed", bind=True, max_retries=MAX_RETRIES)
def document_reembed(self, *, tenant: Tenant, document_id: str, model_name: str) -> str:
    def work():
        outcome = pipeline.document_reembed(tenant=tenant, document_id=document_id, model_name=model_name)
        embedding_index_finish_if_complete(model_name=model_name)
        return outcome

    def give_up(reason: str) -> None:
        # The document keeps being served by the active index; the rebuild cannot finish without it.
        logger.error("index rebuild: document failed", extra={"document": document_id, "reason": reason})

    return _with_retries(self, work, on_failure=give_up)


@worker_ready.connect
def requeue_stale_versions(**_kwargs) -> None:
    """On worker start, queue again the documents a dead worker left half-done."""
    stale_versions_requeue()


@public_task(name="ingestion.stale_requeue")
def stale_requeue() -> None:
    """Scheduled (config/celery.py): the same sweep while workers keep running, so a document whose
    worker died is taken by another worker without waiting for a restart."""
    stale_versions_requeue()


def stale_versions_requeue() -> None:
    cutoff = timezone.now() - timedelta(seconds=settings.ENCLAVE_INGESTION_STALE_SECONDS)
    for tenant in Tenant.objects.filter(status=Tenant.Status.ACTIVE):
        connection.set_tenant(tenant)
        try:
            requeued = versions_requeue_stale(tenant=tenant, older_than=cutoff)
        finally:
            connection.set_schema_to_public()
        if requeued:
            logger.warning("requeued stale documents", extra={"tenant": tenant.schema_name, "count": requeued})
