"""Tenant lifecycle: create, suspend, resume, delete. Each runs in one transaction, so a failure
leaves nothing half-made (PostgreSQL rolls back CREATE SCHEMA and the migrations with it)."""

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from core.api import ServiceError
from tenants import crypto, tenant_secrets
from tenants.accounts.audit import audit_record
from tenants.accounts.models import ApiKey, AuditEvent, Group, User
from tenants.accounts.services import AccountsError, user_create
from tenants.erasure import erasure_cascade
from tenants.models import Domain, Tenant

SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
RESERVED_SCHEMAS = {"public", "information_schema", "pg_catalog", "pg_toast", "admin", "api", "www", "static"}


class TenantError(ServiceError):
    """A tenant operation that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class TenantCreated:
    tenant: Tenant
    admin: User
    admin_password: str | None


def _validate_new_tenant(*, name: str, schema_name: str) -> None:
    if not name.strip():
        raise TenantError("the tenant name must not be empty")
    if not SCHEMA_NAME.match(schema_name):
        raise TenantError(
            f"invalid schema name {schema_name!r}: use 2-40 lowercase letters, digits or underscores, "
            "starting with a letter"
        )
    if schema_name in RESERVED_SCHEMAS or schema_name.startswith("pg_"):
        raise TenantError(f"the schema name {schema_name!r} is reserved")
    if Tenant.objects.filter(name__iexact=name.strip()).exists():
        raise TenantError(f"a tenant named {name.strip()!r} already exists")
    if Tenant.objects.filter(schema_name=schema_name).exists() or schema_exists(schema_name):
        raise TenantError(f"the schema {schema_name!r} is already in use")


def tenant_domain(schema_name: str) -> str:
    return f"{schema_name.replace('_', '-')}.{settings.ENCLAVE_BASE_DOMAIN}"


def tenant_create(
    *,
    name: str,
    schema_name: str,
    admin_username: str,
    admin_email: str = "",
    admin_password: str | None = None,
    actor: User | None = None,
) -> TenantCreated:
    _validate_new_tenant(name=name, schema_name=schema_name)
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name=name.strip(), schema_name=schema_name)
            tenant.create_schema(check_if_exists=False, verbosity=0)
            Domain.objects.create(tenant=tenant, domain=tenant_domain(schema_name), is_primary=True)
            # Should this transaction roll back, the secret stays behind unused (ids are not reused
            # within a database) until `keys_rotate --prune` drops it.
            tenant_secrets.secrets_lock(exclusive=False)
            tenant_secrets.secret_create(tenant.pk)
            crypto.data_key_create(tenant=tenant)
            with schema_context(schema_name):
                admin, password = user_create(
                    username=admin_username, email=admin_email, password=admin_password, role=User.Role.ADMIN
                )
                audit_record(
                    action="tenant.created",
                    actor_label=actor.username if actor else "system",
                    target_type="tenant",
                    target_id=schema_name,
                    detail={"name": tenant.name},
                )
            audit_record(
                action="tenant.created",
                actor=actor,
                target_type="tenant",
                target_id=schema_name,
                detail={"name": tenant.name, "admin": admin_username},
            )
    except AccountsError as exc:
        raise TenantError(f"the tenant admin cannot be created: {exc}") from exc
    except IntegrityError as exc:
        raise TenantError(f"a tenant named {name!r} or with schema {schema_name!r} already exists") from exc
    finally:
        connection.set_schema_to_public()
    return TenantCreated(tenant=tenant, admin=admin, admin_password=password)


@transaction.atomic
def tenant_suspend(*, tenant: Tenant, reason: str = "", actor: User | None = None) -> Tenant:
    if not tenant.is_active:
        raise TenantError(f"tenant {tenant.schema_name!r} is already suspended")
    tenant.status = Tenant.Status.SUSPENDED
    tenant.suspended_at = timezone.now()
    tenant.suspension_reason = reason
    tenant.save(update_fields=["status", "suspended_at", "suspension_reason"])
    audit_record(
        action="tenant.suspended",
        actor=actor,
        target_type="tenant",
        target_id=tenant.schema_name,
        detail={"reason": reason},
    )
    return tenant


@transaction.atomic
def tenant_resume(*, tenant: Tenant, actor: User | None = None) -> Tenant:
    if tenant.is_active:
        raise TenantError(f"tenant {tenant.schema_name!r} is not suspended")
    tenant.status = Tenant.Status.ACTIVE
    tenant.suspended_at = None
    tenant.suspension_reason = ""
    tenant.save(update_fields=["status", "suspended_at", "suspension_reason"])
    audit_record(action="tenant.resumed", actor=actor, target_type="tenant", target_id=tenant.schema_name)
    return tenant


@transaction.atomic
def tenant_limits_set(
    *,
    tenant: Tenant,
    actor: User | None,
    storage_quota_bytes: int | None,
    llm_requests_per_minute: int | None,
    llm_tokens_per_day: int | None,
) -> Tenant:
    """Set the tenant's quota and model limits; None means the appliance default (storage) or no limit."""
    tenant_settings_change(
        tenant=tenant,
        action="tenant.limits_changed",
        actor=actor,
        storage_quota_bytes=storage_quota_bytes,
        llm_requests_per_minute=llm_requests_per_minute,
        llm_tokens_per_day=llm_tokens_per_day,
    )
    return tenant


def tenant_settings_change(*, tenant: Tenant, action: str, actor: User | None, detail: dict | None = None, **fields):
    """Set fields of the tenant row (and of `tenant`) and audit them, from and to, in the current schema.
    Returns the values before; nothing is written or audited when nothing changes."""
    before = {name: getattr(tenant, name) for name in fields}
    if before == fields:
        return before
    for name, value in fields.items():
        setattr(tenant, name, value)
    Tenant.objects.filter(pk=tenant.pk).update(**fields)
    audit_record(
        action=action,
        actor=actor,
        target_type="tenant",
        target_id=tenant.schema_name,
        detail={"from": _plain(before), "to": _plain(fields), **(detail or {})},
    )
    return before


def _plain(values: dict) -> dict:
    return {name: _plain_value(value) for name, value in values.items()}


def _plain_value(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value) if isinstance(value, UUID) else value


def tenant_file_store(tenant: Tenant) -> Path:
    return Path(settings.ENCLAVE_FILE_STORE) / tenant.schema_name


def tenant_delete(*, tenant: Tenant, actor: User | None = None) -> dict:
    """Drop the schema, destroy the data keys and the tenant's secret (which makes copies of the
    keys in database backups useless) and remove stored files. Returns a receipt.

    The secret and the files go only after the commit: a rolled-back deletion must leave a tenant
    that can still decrypt its data."""
    schema_name = tenant.schema_name
    tenant_id = tenant.pk
    file_store = tenant_file_store(tenant)
    with schema_context(schema_name):
        counts = {
            "users": User.objects.count(),
            "groups": Group.objects.count(),
            "api_keys": ApiKey.objects.count(),
            "audit_events": AuditEvent.objects.count(),
        }
    with transaction.atomic():
        counts["data_keys"] = tenant.keys.count()
        kek_wrapped_keys = tenant.keys.filter(wrapping=crypto.WRAPPING_KEK).count()
        counts["api_key_routes"] = tenant.api_key_routes.count()
        counts["domains"] = tenant.domains.count()
        counts["files"] = sum(1 for path in file_store.rglob("*") if path.is_file())
        counts.update(erasure_cascade(tenant=tenant, kind="tenant", ids=[schema_name]))
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            # Deferred foreign-key checks pending in this transaction would block the DROP.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f'DROP SCHEMA "{schema_name}" CASCADE')
        tenant.delete()
        receipt = {
            "tenant": schema_name,
            "name": tenant.name,
            "deleted_at": timezone.now().isoformat(),
            "removed": counts,
            "schema_dropped": True,
            "data_keys_destroyed": counts["data_keys"],
            "tenant_secret_destroyed": True,
        }
        if settings.ENCLAVE_TENANT_SECRETS != "file":
            receipt["backups"] = (
                "the tenant's secret was kept in the database, wrapped by the KEK: database backups taken "
                "before this deletion stay readable until the KEK is rotated with `keys_rotate --new-kek --prune`"
            )
        if kek_wrapped_keys:
            receipt["warning"] = (
                f"{kek_wrapped_keys} data key(s) were wrapped by the KEK alone (made before tenant secrets): "
                "database backups holding them stay readable until the KEK is rotated with "
                "`keys_rotate --new-kek --prune`"
            )
        audit_record(action="tenant.deleted", actor=actor, target_type="tenant", target_id=schema_name, detail=receipt)
        transaction.on_commit(lambda: shutil.rmtree(file_store, ignore_errors=True))
        transaction.on_commit(lambda: tenant_secrets.secret_destroy(tenant_id))
    return receipt
