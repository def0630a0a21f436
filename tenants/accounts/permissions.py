from django.db import connection
from django_tenants.utils import get_public_schema_name
from rest_framework import permissions

from tenants.accounts.models import User


def _in_tenant_schema() -> bool:
    return connection.schema_name != get_public_schema_name()


class IsTenantMember(permissions.BasePermission):
    message = "This endpoint needs a signed-in user of this tenant."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            _in_tenant_schema()
            and user.is_authenticated
            and user.is_active
            and user.role in (User.Role.ADMIN, User.Role.MEMBER)
        )


class IsTenantAdmin(IsTenantMember):
    message = "This endpoint needs a tenant admin."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and request.user.role == User.Role.ADMIN


class IsOperator(permissions.BasePermission):
    message = "This endpoint needs an operator of the appliance."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            not _in_tenant_schema() and user.is_authenticated and user.is_active and user.role == User.Role.OPERATOR
        )


class KeyHasScope(permissions.BasePermission):
    """A request made with an API key needs the scope the view asks for (`view.required_scope`)."""

    message = "This API key does not have the scope this request needs."

    def has_permission(self, request, view) -> bool:
        scopes = getattr(request.auth, "scopes", None)
        needed = view.required_scope(request.method)
        if scopes is None or needed is None or needed in scopes:
            return True
        self.message = f"This API key does not have the {needed!r} scope this request needs."
        return False


def tenant_member(request) -> bool:
    """For console pages: anyone signed in on a tenant's host, its admins and members (never an operator)."""
    return request.tenant is not None and request.user.role in (User.Role.ADMIN, User.Role.MEMBER)


def tenant_admin(request) -> bool:
    return request.tenant is not None and request.user.role == User.Role.ADMIN
