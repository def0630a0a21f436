from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import connection
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from core.api import CursorPagination
from tenants.accounts import selectors, services
from tenants.accounts.base import TenantAdminApi, TenantApi
from tenants.accounts.models import SCOPES, ApiKey, User


class GroupRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()


class UserOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    username = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.CharField()
    is_active = serializers.BooleanField()
    training_opt_out = serializers.BooleanField()
    groups = GroupRefSerializer(source="member_groups", many=True)
    date_joined = serializers.DateTimeField()


class MeApi(TenantApi):
    def get(self, request):
        data = UserOutputSerializer(request.user).data
        data["tenant"] = {"name": self.tenant.name, "schema": connection.schema_name}
        data["principals"] = self.principals
        return Response(data)


class MyTrainingApi(TenantApi):
    """The caller's own opt-out from training exports."""

    class InputSerializer(serializers.Serializer):
        opt_out = serializers.BooleanField()

    def get(self, request):
        return Response({"opt_out": request.user.training_opt_out})

    def put(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(services.training_opt_out_set(user=request.user, opt_out=serializer.validated_data["opt_out"]))


class UserErasureApi(TenantAdminApi):
    """Delete the person and everything that is theirs; DELETE on the user only deactivates."""

    def post(self, request, user_id):
        user = selectors.user_get(public_id=user_id)
        return Response({"receipt": services.user_erase(user=user, actor=request.user)})


class UserListApi(TenantAdminApi):
    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
        email = serializers.EmailField(required=False, default="")
        password = serializers.CharField(required=False, write_only=True)
        role = serializers.ChoiceField(choices=[User.Role.ADMIN, User.Role.MEMBER], default=User.Role.MEMBER)

    def get(self, request):
        return Response({"results": UserOutputSerializer(selectors.user_list(), many=True).data})

    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, password = services.user_create(**serializer.validated_data, actor=request.user)
        data = UserOutputSerializer(user).data
        if password:
            data["password"] = password
        return Response(data, status=status.HTTP_201_CREATED)


class UserDetailApi(TenantAdminApi):
    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=[User.Role.ADMIN, User.Role.MEMBER], required=False)
        is_active = serializers.BooleanField(required=False)

    def get(self, request, user_id):
        return Response(UserOutputSerializer(selectors.user_get(public_id=user_id)).data)

    def patch(self, request, user_id):
        user = selectors.user_get(public_id=user_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(user=user, actor=request.user, **serializer.validated_data)
        return Response(UserOutputSerializer(selectors.user_get(public_id=user.public_id)).data)

    def delete(self, request, user_id):
        user = selectors.user_get(public_id=user_id)
        services.user_update(user=user, actor=request.user, is_active=False)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GroupOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    description = serializers.CharField()
    member_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class GroupListApi(TenantApi):
    write_scope = "admin"  # members read groups; changes are an admin's

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        description = serializers.CharField(max_length=300, required=False, default="")

    def get(self, request):
        return Response({"results": GroupOutputSerializer(selectors.group_list(), many=True).data})

    def post(self, request):
        _require_admin(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        group = services.group_create(**serializer.validated_data, actor=request.user)
        return Response(
            GroupOutputSerializer(selectors.group_get(public_id=group.public_id)).data,
            status=status.HTTP_201_CREATED,
        )


class GroupDetailApi(TenantApi):
    write_scope = "admin"  # members read groups; changes are an admin's

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False)
        description = serializers.CharField(max_length=300, required=False)

    def get(self, request, group_id):
        return Response(GroupOutputSerializer(selectors.group_get(public_id=group_id)).data)

    def patch(self, request, group_id):
        group = selectors.group_get(public_id=group_id)
        _require_admin(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.group_update(group=group, actor=request.user, **serializer.validated_data)
        return Response(GroupOutputSerializer(selectors.group_get(public_id=group_id)).data)

    def delete(self, request, group_id):
        group = selectors.group_get(public_id=group_id)
        _require_admin(request)
        services.group_delete(group=group, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GroupMemberListApi(TenantAdminApi):
    class InputSerializer(serializers.Serializer):
        user_id = serializers.UUIDField()

    def get(self, request, group_id):
        group = selectors.group_get(public_id=group_id)
        members = group.members.prefetch_related("member_groups").order_by("username")
        return Response({"results": UserOutputSerializer(members, many=True).data})

    def post(self, request, group_id):
        group = selectors.group_get(public_id=group_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = selectors.user_get(public_id=serializer.validated_data["user_id"])
        services.group_member_add(group=group, user=user, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GroupMemberDetailApi(TenantAdminApi):
    def delete(self, request, group_id, user_id):
        group = selectors.group_get(public_id=group_id)
        user = selectors.user_get(public_id=user_id)
        services.group_member_remove(group=group, user=user, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    prefix = serializers.CharField()
    owner = serializers.UUIDField(source="user.public_id")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    scopes = serializers.ListField(child=serializers.CharField())
    created_by_key = serializers.UUIDField(source="created_by_key.public_id", allow_null=True, default=None)


class ApiKeyListApi(TenantApi):
    write_scope = None  # any key may make a narrower key, or revoke one

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        user_id = serializers.UUIDField(required=False)
        expires_at = serializers.DateTimeField(required=False)
        scopes = serializers.ListField(
            child=serializers.ChoiceField(choices=SCOPES), required=False, allow_empty=False, max_length=len(SCOPES)
        )

        def validate_expires_at(self, value):
            if value <= timezone.now():
                raise serializers.ValidationError("The expiry must be in the future.")
            return value

    def get(self, request):
        keys = selectors.api_key_list_for_user(
            user=request.user, all_users=request.query_params.get("all") == "1", with_key=_request_key(request)
        )
        return Response({"results": ApiKeyOutputSerializer(keys, many=True).data})

    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        owner_id = serializer.validated_data.get("user_id")
        if owner_id and owner_id != request.user.public_id:
            # A key acts as its owner: one issued for someone else would let its maker read their conversations.
            raise PermissionDenied("API keys are issued to their own user only; a tenant admin can revoke any key.")
        api_key, raw = services.api_key_create(
            user=request.user,
            name=serializer.validated_data["name"],
            actor=request.user,
            expires_at=serializer.validated_data.get("expires_at"),
            created_by_key=_request_key(request),
            scopes=serializer.validated_data.get("scopes"),
        )
        data = ApiKeyOutputSerializer(api_key).data
        data["key"] = raw
        return Response(data, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(TenantApi):
    write_scope = None  # any key may make a narrower key, or revoke one

    def get(self, request, key_id):
        api_key = selectors.api_key_get_for_user(user=request.user, public_id=key_id, with_key=_request_key(request))
        return Response(ApiKeyOutputSerializer(api_key).data)

    def delete(self, request, key_id):
        with_key = _request_key(request)
        api_key = selectors.api_key_get_for_user(user=request.user, public_id=key_id, with_key=with_key)
        services.api_key_revoke_checked(api_key=api_key, actor=request.user, with_key=with_key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditEventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    action = serializers.CharField()
    outcome = serializers.CharField()
    actor_id = serializers.UUIDField()
    actor_label = serializers.CharField()
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    ip_address = serializers.CharField()
    request_id = serializers.CharField()
    detail = serializers.JSONField()


class AuditPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class AuditEventListApi(TenantAdminApi):
    class FilterSerializer(serializers.Serializer):
        action = serializers.CharField(required=False)
        actor_id = serializers.UUIDField(required=False)

    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        events = selectors.audit_event_list(**filters.validated_data)
        paginator = AuditPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(AuditEventOutputSerializer(page, many=True).data)


def _request_key(request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


def _require_admin(request) -> None:
    if not request.user.is_tenant_admin:
        raise PermissionDenied("This action needs a tenant admin.")
