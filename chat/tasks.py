from chat.conversations import retention
from tenants.models import Tenant
from tenants.tasking import tenant_task


@tenant_task(name="chat.retention_enforce")
def retention_enforce(*, tenant: Tenant) -> dict:
    """Delete the tenant's conversations and traces past its retention periods; return the receipt."""
    return retention.retention_enforce(tenant=tenant)
