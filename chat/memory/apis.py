from rest_framework import serializers, status
from rest_framework.response import Response

from chat.memory import services as memory
from tenants.accounts.base import TenantApi


class MemoryListApi(TenantApi):
    """The caller's own memory: whether it is on, what it holds; add to it, or forget all of it."""

    class InputSerializer(serializers.Serializer):
        content = serializers.CharField(max_length=memory.MAX_FACT_LENGTH)

    def get(self, request):
        facts = memory.facts(tenant=self.tenant, user=request.user)
        return Response(
            {
                "enabled": memory.enabled(user=request.user),
                "results": [
                    {"id": str(f.public_id), "content": text, "created_at": f.created_at.isoformat()}
                    for f, text in facts
                ],
            }
        )

    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not memory.enabled(user=request.user):
            return Response(
                {"error": {"code": "memory_off", "message": "Turn memory on first (PUT /api/v1/memories/settings/)."}},
                status=status.HTTP_409_CONFLICT,
            )
        fact = memory.remember(tenant=self.tenant, user=request.user, text=serializer.validated_data["content"])
        return Response({"id": str(fact.public_id)}, status=status.HTTP_201_CREATED)

    def delete(self, request):
        return Response({"receipt": memory.forget(user=request.user)})


class MemoryDetailApi(TenantApi):
    def delete(self, request, fact_id):
        fact = memory.fact_get(user=request.user, public_id=fact_id)
        return Response({"receipt": memory.forget(user=request.user, fact=fact)})


class MemorySettingsApi(TenantApi):
    class InputSerializer(serializers.Serializer):
        enabled = serializers.BooleanField()

    def put(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response({"enabled": memory.enable(user=request.user, on=serializer.validated_data["enabled"])})
