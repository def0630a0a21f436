"""The base API classes every endpoint derives from: they settle who is calling before the handler runs."""

from django.db import connection
from rest_framework.views import APIView

from tenants.accounts.permissions import IsOperator, IsTenantAdmin, IsTenantMember
from tenants.accounts.selectors import user_principals


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class TenantApi(APIView):
    """An endpoint of one tenant: `self.tenant` and `self.principals` are set before the handler."""

    permission_classes = [IsTenantMember]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.tenant = connection.tenant
        self.principals = user_principals(user=request.user)


class TenantAdminApi(TenantApi):
    permission_classes = [IsTenantAdmin]


class OperatorApi(APIView):
    permission_classes = [IsOperator]
