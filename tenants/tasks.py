from django.db import connection
from django.utils import timezone

from tenants.accounts.models import ApiKey, AuditEvent, Group, User
from tenants.models import Tenant
from tenants.services import tenant_file_store
from tenants.tasking import tenant_task


@tenant_task(name="tenants.tenant_usage_compute")
def tenant_usage_compute(*, tenant: Tenant) -> dict:
    """Count what a tenant holds and store it on the tenant row for the operator console."""
    file_store = tenant_file_store(tenant)
    usage = {
        "schema": connection.schema_name,
        "users": User.objects.filter(is_active=True).count(),
        "groups": Group.objects.count(),
        "active_api_keys": ApiKey.objects.filter(revoked_at__isnull=True).count(),
        "audit_events": AuditEvent.objects.count(),
        "stored_bytes": sum(p.stat().st_size for p in file_store.rglob("*") if p.is_file()),
    }
    Tenant.objects.filter(pk=tenant.pk).update(usage=usage, usage_computed_at=timezone.now())
    return usage
