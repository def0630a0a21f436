from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.http import Http404

from tenants.accounts import services as account_services
from tenants.accounts.models import ApiKey
from tenants.models import ApiKeyRoute, Domain, Tenant


@dataclass(frozen=True)
class HostMatch:
    known: bool
    tenant: Tenant | None = None


def tenant_for_host(*, host: str) -> HostMatch:
    if host in settings.ENCLAVE_PUBLIC_HOSTS:
        return HostMatch(known=True)
    domain = Domain.objects.select_related("tenant").filter(domain=host).first()
    if domain is None:
        return HostMatch(known=False)
    return HostMatch(known=True, tenant=domain.tenant)


@dataclass(frozen=True)
class KeyResolution:
    tenant: Tenant | None = None
    api_key: ApiKey | None = None
    error: str = ""
    message: str = ""
    prefix: str = ""


def api_key_resolve(*, raw_key: str) -> KeyResolution:
    """Find which schema an API key belongs to and verify it there.

    Leaves the connection on that schema when the key is valid, on `public` otherwise.
    """
    parts = account_services.api_key_parse(raw_key)
    if parts is None:
        return KeyResolution(error="invalid_api_key", message="The API key is malformed.")
    route = ApiKeyRoute.objects.select_related("tenant").filter(prefix=parts.prefix).first()
    if route is None:
        return KeyResolution(error="invalid_api_key", message="The API key is not valid.", prefix=parts.prefix)
    if route.tenant is not None:
        connection.set_tenant(route.tenant)
    api_key = account_services.api_key_verify(parts=parts)
    failure = None
    if api_key is None:
        failure = ("invalid_api_key", "The API key is not valid.")
    elif api_key.is_revoked:
        failure = ("api_key_revoked", "The API key has been revoked.")
    elif api_key.is_expired:
        failure = ("api_key_expired", "The API key has expired.")
    elif not api_key.user.is_active:
        failure = ("user_inactive", "The API key's user is deactivated.")
    if failure:
        connection.set_schema_to_public()
        return KeyResolution(tenant=route.tenant, error=failure[0], message=failure[1], prefix=parts.prefix)
    account_services.api_key_touch(api_key=api_key)
    return KeyResolution(tenant=route.tenant, api_key=api_key, prefix=parts.prefix)


def tenant_list() -> QuerySet[Tenant]:
    return Tenant.objects.prefetch_related("domains").order_by("name")


def tenant_get(*, tenant_id: int) -> Tenant:
    tenant = tenant_list().filter(pk=tenant_id).first()
    if tenant is None:
        raise Http404
    return tenant


def tenant_get_by_schema(*, schema_name: str) -> Tenant:
    tenant = Tenant.objects.filter(schema_name=schema_name).first()
    if tenant is None:
        raise Tenant.DoesNotExist(f"no tenant with schema {schema_name!r}")
    return tenant
