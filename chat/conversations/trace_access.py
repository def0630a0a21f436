"""Whether a tenant's admins read answer traces, which hold members' questions and answers. Opening them
takes two people, closing them one.

A tenant admin who turns traces on only asks: the request waits on the tenant row until a second admin
turns them on too, or an operator does. Any admin, or an operator, closes them at once (which drops a
request). Every step is audited in the tenant's log, and members read the state on their data page."""

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.accounts.audit import audit_record
from tenants.accounts.models import User
from tenants.models import Tenant
from tenants.services import tenant_settings_change

FIELDS = ("admin_reads_traces", "admin_reads_traces_since", "trace_access_requested_by")


def _requester(tenant: Tenant) -> User | None:
    """The admin who asked, while they still are an active admin (a request dies with the role)."""
    if tenant.trace_access_requested_by is None:
        return None
    return User.objects.filter(public_id=tenant.trace_access_requested_by, role=User.Role.ADMIN, is_active=True).first()


def trace_access_state(*, tenant: Tenant) -> dict:
    requester = None if tenant.admin_reads_traces else _requester(tenant)
    return {
        "admin_reads_traces": tenant.admin_reads_traces,
        "admin_reads_traces_since": tenant.admin_reads_traces_since,
        "trace_access_requested_by": requester.username if requester else None,
    }


def _open(*, tenant: Tenant, actor: User, requester: User | None) -> None:
    tenant_settings_change(
        tenant=tenant,
        action="chat.trace_access_changed",
        actor=actor,
        detail={"requested_by": requester.username if requester else None},
        admin_reads_traces=True,
        admin_reads_traces_since=timezone.now(),
        trace_access_requested_by=None,
    )


def _close(*, tenant: Tenant, actor: User) -> None:
    tenant_settings_change(
        tenant=tenant,
        action="chat.trace_access_changed",
        actor=actor,
        admin_reads_traces=False,
        admin_reads_traces_since=None,
        trace_access_requested_by=None,
    )


@transaction.atomic
def trace_access_set(*, tenant: Tenant, allowed: bool, actor: User) -> None:
    """`actor`: a tenant admin (on: asks, or agrees to another admin's request) or an operator (on: opens).
    Runs in the tenant's schema."""
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()  # two admins at once: one after the other
    tenant.refresh_from_db(fields=FIELDS)
    if not allowed:
        _close(tenant=tenant, actor=actor)
        return
    if tenant.admin_reads_traces:
        return
    requester = _requester(tenant)
    if actor.role == User.Role.OPERATOR or (requester is not None and requester.public_id != actor.public_id):
        _open(tenant=tenant, actor=actor, requester=requester)
    elif requester is None:
        tenant_settings_change(
            tenant=tenant, action="chat.trace_access_requested", actor=actor, trace_access_requested_by=actor.public_id
        )


def trace_access_set_by_operator(*, tenant: Tenant, allowed: bool, actor: User) -> dict:
    """An operator opens or closes a tenant's traces; audited in the tenant's log and in the operators'."""
    with schema_context(tenant.schema_name):
        trace_access_set(tenant=tenant, allowed=allowed, actor=actor)
        state = trace_access_state(tenant=tenant)
    audit_record(
        action="tenant.trace_access_changed",
        actor=actor,
        target_type="tenant",
        target_id=tenant.schema_name,
        detail={"admin_reads_traces": allowed},
    )
    return state
