from rest_framework import serializers
from rest_framework.response import Response

from safety import policy, taxonomy
from tenants.accounts.base import TenantAdminApi


def _policy_data(current: policy.Policy) -> dict:
    return {
        "version": current.version,
        "region": current.region,
        "overrides": current.overrides,
        "actions": current.actions,
        "floor": taxonomy.floor(current.region),
    }


class SafetyPolicyApi(TenantAdminApi):
    """The policy in force, and a new version of it (categories can only become stricter)."""

    class InputSerializer(serializers.Serializer):
        region = serializers.CharField(max_length=16, default="default")
        overrides = serializers.DictField(child=serializers.CharField(max_length=16), default=dict)
        note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    def get(self, request):
        return Response(_policy_data(policy.policy_current()))

    def put(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(_policy_data(policy.policy_update(**serializer.validated_data, actor=request.user)))


class SafetyPolicyVersionsApi(TenantAdminApi):
    def get(self, request):
        return Response(
            {
                "results": [
                    {
                        "version": version.number,
                        "region": version.region,
                        "overrides": version.overrides,
                        "note": version.note,
                        "created_by": str(version.created_by.public_id) if version.created_by else None,
                        "created_at": version.created_at.isoformat(),
                    }
                    for version in policy.policy_versions()
                ]
            }
        )


class SafetyTaxonomyApi(TenantAdminApi):
    def get(self, request):
        return Response(
            {
                "actions": taxonomy.ACTIONS,
                "regions": taxonomy.REGION_PROFILES,
                "categories": [
                    {"id": c.id, "name": c.name, "covers": c.covers, "default": c.default, "refusal": c.refusal}
                    for c in taxonomy.CATEGORIES
                ],
            }
        )
