"""The operator API (public schema): tenant lifecycle. Operators never see tenant content."""

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.http import HttpResponse
from rest_framework import serializers, status
from rest_framework.response import Response

from core import metrics
from tenants import selectors, services
from tenants.accounts import selectors as account_selectors
from tenants.accounts import services as account_services
from tenants.accounts.base import OperatorApi
from tenants.accounts.models import User
from tenants.tasking import tenant_task_enqueue
from tenants.tasks import tenant_usage_compute


class TenantOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    schema_name = serializers.CharField()
    status = serializers.CharField()
    domains = serializers.SlugRelatedField(many=True, read_only=True, slug_field="domain")
    created_at = serializers.DateTimeField()
    suspended_at = serializers.DateTimeField()
    suspension_reason = serializers.CharField()
    usage = serializers.JSONField()
    storage_quota_bytes = serializers.IntegerField()
    llm_requests_per_minute = serializers.IntegerField()
    llm_tokens_per_day = serializers.IntegerField()
    usage_computed_at = serializers.DateTimeField()


class TenantListApi(OperatorApi):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        schema_name = serializers.CharField(max_length=40)
        admin_username = serializers.CharField(max_length=150)
        admin_email = serializers.EmailField(required=False, default="")

    def get(self, request):
        return Response({"results": TenantOutputSerializer(selectors.tenant_list(), many=True).data})

    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.tenant_create(**serializer.validated_data, actor=request.user)
        data = TenantOutputSerializer(selectors.tenant_get(tenant_id=created.tenant.pk)).data
        data["admin"] = {"username": created.admin.username, "password": created.admin_password}
        return Response(data, status=status.HTTP_201_CREATED)


class TenantDetailApi(OperatorApi):
    def get(self, request, tenant_id):
        return Response(TenantOutputSerializer(selectors.tenant_get(tenant_id=tenant_id)).data)

    def delete(self, request, tenant_id):
        tenant = selectors.tenant_get(tenant_id=tenant_id)
        return Response({"receipt": services.tenant_delete(tenant=tenant, actor=request.user)})


class TenantSuspendApi(OperatorApi):
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=200, required=False, default="")

    def post(self, request, tenant_id):
        tenant = selectors.tenant_get(tenant_id=tenant_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.tenant_suspend(tenant=tenant, actor=request.user, **serializer.validated_data)
        return Response(TenantOutputSerializer(selectors.tenant_get(tenant_id=tenant_id)).data)


class TenantResumeApi(OperatorApi):
    def post(self, request, tenant_id):
        tenant = selectors.tenant_get(tenant_id=tenant_id)
        services.tenant_resume(tenant=tenant, actor=request.user)
        return Response(TenantOutputSerializer(selectors.tenant_get(tenant_id=tenant_id)).data)


class TenantLimitsApi(OperatorApi):
    """PUT all three limits at once; null (or an empty form field) means the default, or no limit."""

    class InputSerializer(serializers.Serializer):
        storage_quota_bytes = serializers.IntegerField(min_value=1, allow_null=True)
        llm_requests_per_minute = serializers.IntegerField(min_value=1, allow_null=True)
        llm_tokens_per_day = serializers.IntegerField(min_value=1, allow_null=True)

    def put(self, request, tenant_id):
        tenant = selectors.tenant_get(tenant_id=tenant_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.tenant_limits_set(tenant=tenant, actor=request.user, **serializer.validated_data)
        return Response(TenantOutputSerializer(selectors.tenant_get(tenant_id=tenant_id)).data)


class TenantUsageRefreshApi(OperatorApi):
    def post(self, request, tenant_id):
        tenant = selectors.tenant_get(tenant_id=tenant_id)
        result = tenant_task_enqueue(tenant_usage_compute, tenant=tenant)
        return Response({"task_id": result.id}, status=status.HTTP_202_ACCEPTED)


class OperatorOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    username = serializers.CharField()
    email = serializers.EmailField()
    is_active = serializers.BooleanField()
    date_joined = serializers.DateTimeField()
    last_login = serializers.DateTimeField()


class OperatorListApi(OperatorApi):
    """The appliance's operators. A new one gets a generated password, returned once."""

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
        email = serializers.EmailField(required=False, default="")

    def get(self, request):
        return Response({"results": OperatorOutputSerializer(account_selectors.operator_list(), many=True).data})

    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, password = account_services.user_create(
            **serializer.validated_data, role=User.Role.OPERATOR, actor=request.user
        )
        return Response({**OperatorOutputSerializer(user).data, "password": password}, status=status.HTTP_201_CREATED)


class OperatorDetailApi(OperatorApi):
    class InputSerializer(serializers.Serializer):
        is_active = serializers.BooleanField()

    def patch(self, request, user_id):
        user = account_selectors.operator_get(public_id=user_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account_services.user_update(user=user, actor=request.user, **serializer.validated_data)
        return Response(OperatorOutputSerializer(account_selectors.operator_get(public_id=user_id)).data)


class MetricsApi(OperatorApi):
    """Prometheus exposition (core/metrics.py), for an operator's key with the "metrics" scope: scrape
    with a bearer token."""

    def required_scope(self, method: str) -> str | None:
        return "metrics"

    def get(self, request):
        body, content_type = metrics.exposition()
        return HttpResponse(body, content_type=content_type)
