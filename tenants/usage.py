"""What a tenant holds, counted for the operator console. Apps that hold the tenant's data answer
`usage_counted` with their own counts, so tenants depends on none of them."""

from django.dispatch import Signal

from tenants.models import Tenant

# Sent with tenant=; each receiver returns a dict of counts.
usage_counted = Signal()


def usage_of_apps(tenant: Tenant) -> dict:
    counts = {}
    for _receiver, answer in usage_counted.send(sender=Tenant, tenant=tenant):
        counts.update(answer or {})
    return counts
