import datetime

from django.utils import timezone
from rest_framework import serializers
from rest_framework.response import Response

from inference.metering import usage_summary
from tenants.accounts.base import TenantAdminApi


class LlmUsageApi(TenantAdminApi):
    """The tenant's model usage: totals and per user, over the last `days` days (default 1), with its limits."""

    class FilterSerializer(serializers.Serializer):
        days = serializers.IntegerField(min_value=1, max_value=366, default=1)

    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        since = timezone.now() - datetime.timedelta(days=filters.validated_data["days"])
        return Response(usage_summary(since=since))
