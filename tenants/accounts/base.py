"""The base API classes every endpoint derives from: they settle who is calling before the handler runs."""

from django.db import connection
from rest_framework.views import APIView

from tenants.accounts.permissions import IsOperator, IsTenantAdmin, IsTenantMember, KeyHasScope
from tenants.accounts.selectors import user_principals


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


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
    permission_classes = [IsOperator]
