import logging
import os
import socket
from datetime import timedelta

from celery.signals import worker_ready
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from ingestion import pipeline
from ingestion.services import versions_requeue_stale
from tenants.models import Tenant
from tenants.tasking import tenant_task

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError, MemoryError)
MAX_RETRIES = 5


@tenant_task(name="ingestion.document_version_ingest", bind=True, max_retries=MAX_RETRIES)
def document_version_ingest(self, *, tenant: Tenant, version_id: int) -> str:
    try:
        return pipeline.version_ingest(
            tenant=tenant, version_id=version_id, worker=f"{socket.gethostname()}:{os.getpid()}"
        )
    except pipeline.PermanentFailure as exc:
        pipeline.version_fail(version_id=version_id, reason=str(exc))
        return "failed"
    except TRANSIENT as exc:
        if self.request.retries >= MAX_RETRIES:
            pipeline.version_fail(version_id=version_id, reason=f"ingestion failed {MAX_RETRIES + 1} times: {exc}")
            return "failed"
        raise self.retry(exc=exc, countdown=min(300, 5 * 2**self.request.retries)) from exc
    except Exception as exc:
        logger.exception("ingestion failed", extra={"version_id": version_id})
        pipeline.version_fail(
            version_id=version_id, reason=f"ingestion failed unexpectedly ({type(exc).__name__}: {exc})"
        )
        return "failed"


@worker_ready.connect
def requeue_stale_versions(**_kwargs) -> None:
    """On worker start, queue again the documents a dead worker left half-done."""
    cutoff = timezone.now() - timedelta(seconds=settings.ENCLAVE_INGESTION_STALE_SECONDS)
    for tenant in Tenant.objects.filter(status=Tenant.Status.ACTIVE):
        connection.set_tenant(tenant)
        try:
            requeued = versions_requeue_stale(tenant=tenant, older_than=cutoff)
        finally:
            connection.set_schema_to_public()
        if requeued:
            logger.warning("requeued stale documents", extra={"tenant": tenant.schema_name, "count": requeued})
