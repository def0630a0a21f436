"""Retention: a tenant's conversations and traces older than its retention periods are deleted.

Run by the tenant task `chat.retention_enforce`, which a scheduled dispatcher in the public schema
(`tenants.retention_dispatch`) enqueues for every active tenant with a period set.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from chat.models import Conversation, Trace, TrainingExport
from tenants.accounts.audit import audit_record
from tenants.models import Tenant
from tenants.services import tenant_settings_change

# Rows per transaction: a tenant with years of history is deleted in many short transactions.
BATCH_SIZE = 1000


def _cutoff(now: datetime, days: int | None) -> datetime | None:
    return now - timedelta(days=days) if days is not None else None


def _conversations_delete(*, cutoff: datetime, counts: dict) -> None:
    """Conversations last active before the cutoff, with their messages, citations, traces, feedback and
    preferences (by cascade), and the training exports that drew from any of them."""
    stale = Conversation.objects.filter(updated_at__lt=cutoff).order_by("pk")
    while True:
        with transaction.atomic():
            # Locked until the batch is gone: a message added meanwhile waits, and a conversation whose
            # new message committed first is no longer stale when the lock is taken.
            batch = list(stale.select_for_update().values_list("pk", "public_id")[:BATCH_SIZE])
            if not batch:
                return
            pks, public_ids = zip(*batch, strict=True)
            exports, _ = TrainingExport.objects.filter(conversation_ids__overlap=list(public_ids)).delete()
            _, by_model = Conversation.objects.filter(pk__in=pks).delete()
        counts["conversations_deleted"] += by_model.get("chat.Conversation", 0)
        counts["messages_deleted"] += by_model.get("chat.Message", 0)
        counts["traces_deleted"] += by_model.get("chat.Trace", 0)
        counts["exports_deleted"] += exports


def _traces_delete(*, cutoff: datetime, counts: dict) -> None:
    stale = Trace.objects.filter(created_at__lt=cutoff).order_by("pk").values_list("pk", flat=True)
    while pks := list(stale[:BATCH_SIZE]):
        deleted, _ = Trace.objects.filter(pk__in=pks).delete()
        counts["traces_deleted"] += deleted


def retention_enforce(*, tenant: Tenant, now: datetime | None = None) -> dict:
    """Delete what is older than the tenant's retention periods (null: keep forever); return a receipt.

    `traces_deleted` counts the traces that went with deleted conversations too. Audited in the tenant's
    schema when anything was deleted."""
    now = now or timezone.now()
    conversation_cutoff = _cutoff(now, tenant.conversation_retention_days)
    trace_cutoff = _cutoff(now, tenant.trace_retention_days)
    counts = {"conversations_deleted": 0, "messages_deleted": 0, "traces_deleted": 0, "exports_deleted": 0}
    with tenant_context(tenant):
        if conversation_cutoff is not None:
            _conversations_delete(cutoff=conversation_cutoff, counts=counts)
        if trace_cutoff is not None:
            _traces_delete(cutoff=trace_cutoff, counts=counts)
        receipt = {
            "tenant": tenant.schema_name,
            "ran_at": now.isoformat(),
            **counts,
            "cutoffs": {
                "conversations": conversation_cutoff.isoformat() if conversation_cutoff else None,
                "traces": trace_cutoff.isoformat() if trace_cutoff else None,
            },
        }
        if any(counts.values()):
            audit_record(
                action="retention.enforced",
                actor=None,
                target_type="tenant",
                target_id=tenant.schema_name,
                detail=receipt,
            )
    return receipt


def retention_periods_set(*, tenant: Tenant, conversation_days: int | None, trace_days: int | None, actor) -> dict:
    """A tenant admin's retention periods (None: keep). Audited; enforced at the next scheduled run."""
    tenant_settings_change(
        tenant=tenant,
        action="retention.changed",
        actor=actor,
        conversation_retention_days=conversation_days,
        trace_retention_days=trace_days,
    )
    return {"conversation_days": conversation_days, "trace_days": trace_days}
