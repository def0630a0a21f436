"""Resolve the tenant of every request once, and put the connection back on `public` afterwards.

Pages are resolved by host name (acme.localhost); the API by its key (`Authorization: Bearer ek_...`).
A key used on another tenant's host is refused. `/health/` is answered on the public schema.
"""

import logging

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http.request import split_domain_port

from core.api import error_response
from core.logging import tenant_var, user_var
from tenants import selectors
from tenants.accounts.audit import audit_record, audit_repeat_record
from tenants.accounts.base import client_ip

logger = logging.getLogger(__name__)


class TenantResolutionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        connection.set_schema_to_public()
        try:
            return self._handle(request)
        finally:
            connection.set_schema_to_public()
            tenant_var.set("public")
            user_var.set("-")

    def _handle(self, request):
        request.tenant = None
        request.api_key = None
        if request.path.startswith("/health/"):
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            return self.get_response(request)
        try:
            host, _port = split_domain_port(request.get_host())
        except DisallowedHost:
            return error_response(status=400, code="host_not_allowed", message="This host name is not served here.")
        host_match = selectors.tenant_for_host(host=host)
        raw_key = bearer_token(request)
        if raw_key is not None:
            outcome = selectors.api_key_resolve(raw_key=raw_key)
            if outcome.error:
                _audit_rejected_key(request, outcome)
                return error_response(status=401, code=outcome.error, message=outcome.message)
            if host_match.tenant is not None and host_match.tenant != outcome.tenant:
                return error_response(
                    status=403, code="tenant_mismatch", message="This API key belongs to another tenant."
                )
            tenant = outcome.tenant
            request.api_key = outcome.api_key
            user_var.set(outcome.api_key.user.username)
        elif not host_match.known:
            return error_response(status=404, code="unknown_host", message=f"No tenant is served at {host}.")
        else:
            tenant = host_match.tenant
        if tenant is not None and not tenant.is_active:
            connection.set_tenant(tenant)
            audit_record(
                action="access.denied",
                outcome="denied",
                actor_label="anonymous",
                ip_address=client_ip(request),
                detail={"reason": "tenant_suspended", "path": request.path},
            )
            return error_response(status=403, code="tenant_suspended", message="This tenant is suspended.")
        if tenant is None:
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
        else:
            connection.set_tenant(tenant)
            request.urlconf = settings.ROOT_URLCONF
            tenant_var.set(tenant.schema_name)
        request.tenant = tenant
        return self.get_response(request)


def bearer_token(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def _audit_rejected_key(request, outcome: selectors.KeyResolution) -> None:
    """Record a rejected key in the audit log of the schema it claims (public when unknown); repeats from the
    same address add to one entry's count, and only the first of a window is logged."""
    if outcome.tenant is not None:
        connection.set_tenant(outcome.tenant)
    else:
        connection.set_schema_to_public()
    entry = audit_repeat_record(
        action="api_key.rejected",
        target_type="api_key",
        target_id=outcome.prefix,
        ip_address=client_ip(request),
        detail={"reason": outcome.error, "path": request.path},
        window_seconds=settings.ENCLAVE_REJECTED_KEY_AUDIT_SECONDS,
    )
    if entry.detail["count"] == 1:
        logger.warning("api key rejected", extra={"reason": outcome.error, "key_prefix": outcome.prefix})
    connection.set_schema_to_public()
