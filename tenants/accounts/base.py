"""The base API classes every endpoint derives from: they settle who is calling before the handler runs."""

import ipaddress

from django.conf import settings
from django.db import connection
from rest_framework.views import APIView

from tenants.accounts.permissions import IsOperator, IsTenantAdmin, IsTenantMember, KeyHasScope
from tenants.accounts.selectors import user_principals


def client_ip(request) -> str | None:
    """REMOTE_ADDR; from a proxy in ENCLAVE_TRUSTED_PROXIES, the last X-Forwarded-For entry that is not one
    of those proxies (entries left of it are whatever the client chose to send)."""
    client = _address(request.META.get("REMOTE_ADDR", ""))
    if client is None or not _trusted(client):
        return str(client) if client else None
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _address(hop)
        if address is None:
            break
        client = address
        if not _trusted(address):
            break
    return str(client)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(address in ipaddress.ip_network(proxy) for proxy in settings.ENCLAVE_TRUSTED_PROXIES)


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class TenantApi(APIView):
    """An endpoint of one tenant: `self.tenant` and `self.principals` are set before the handler.
    With an API key, a read needs the key's "read" scope and a change its `write_scope`."""

    permission_classes = [IsTenantMember, KeyHasScope]
    write_scope: str | None = "chat"

    def required_scope(self, method: str) -> str | None:
        return "read" if method in SAFE_METHODS else self.write_scope

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.tenant = connection.tenant
        self.principals = user_principals(user=request.user)


class TenantAdminApi(TenantApi):
    permission_classes = [IsTenantAdmin, KeyHasScope]

    def required_scope(self, method: str) -> str | None:
        return "admin"


class OperatorApi(APIView):
    """An endpoint of the operator API. With an API key, a read needs the key's "read" scope and a change
    its "admin" scope."""

    permission_classes = [IsOperator, KeyHasScope]

    def required_scope(self, method: str) -> str | None:
        return "read" if method in SAFE_METHODS else "admin"
