"""Whether a request's caller is known from its headers alone, before its body is read.

Known: a valid API key of an active tenant, on that tenant's host or a host of no tenant (as
TenantResolutionMiddleware serves it), or a signed-in session of the active tenant the host names.
core/body_limit.py asks this before an upload route may take a large body; Django checks the caller again,
fully (scopes, roles, CSRF), once the body is in.
"""

from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpRequest
from django.http.request import split_domain_port

from tenants import selectors
from tenants.middleware import bearer_token
from tenants.models import Tenant


def caller_is_known(request: HttpRequest) -> bool:
    try:
        host, _port = split_domain_port(request.get_host())
    except DisallowedHost:
        return False
    host_tenant = selectors.tenant_for_host(host=host).tenant
    raw_key = bearer_token(request)
    try:
        if raw_key is not None:
            return _key_valid(raw_key, host_tenant=host_tenant)
        return host_tenant is not None and host_tenant.is_active and _signed_in(request, tenant=host_tenant)
    finally:
        connection.set_schema_to_public()


def _key_valid(raw_key: str, *, host_tenant: Tenant | None) -> bool:
    outcome = selectors.api_key_resolve(raw_key=raw_key)
    tenant = outcome.tenant
    return not outcome.error and tenant is not None and host_tenant in (None, tenant) and tenant.is_active


def _signed_in(request: HttpRequest, *, tenant: Tenant) -> bool:
    connection.set_tenant(tenant)
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    return get_user(request).is_authenticated
