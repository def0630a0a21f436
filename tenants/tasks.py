from celery import current_app
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from tenants.accounts.models import ApiKey, AuditEvent, Group, User
from tenants.models import Tenant
from tenants.tasking import public_task, tenant_task, tenant_task_enqueue
from tenants.usage import usage_of_apps

RETENTION_TASK = "chat.retention_enforce"


@tenant_task(name="tenants.tenant_usage_compute")
def tenant_usage_compute(*, tenant: Tenant) -> dict:
    """Count what a tenant holds and store it on the tenant row for the operator console."""
    usage = {
        "schema": connection.schema_name,
        "users": User.objects.filter(is_active=True).count(),
        "groups": Group.objects.count(),
        "active_api_keys": ApiKey.objects.filter(revoked_at__isnull=True).count(),
        "audit_events": AuditEvent.objects.count(),
        **usage_of_apps(tenant),
    }
    Tenant.objects.filter(pk=tenant.pk).update(usage=usage, usage_computed_at=timezone.now())
    return usage


@public_task(name="tenants.retention_dispatch")
def retention_dispatch() -> list[str]:
    """Scheduled (config/celery.py): enqueue `chat.retention_enforce` for each active tenant with a
    retention period. The task is looked up by name, so tenants does not depend on chat."""
    task = current_app.tasks[RETENTION_TASK]
    tenants = (
        Tenant.objects.filter(status=Tenant.Status.ACTIVE)
        .filter(Q(conversation_retention_days__isnull=False) | Q(trace_retention_days__isnull=False))
        .order_by("schema_name")
    )
    for tenant in tenants:
        tenant_task_enqueue(task, tenant=tenant)
    return [tenant.schema_name for tenant in tenants]
