from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from tenants.accounts import oidc
from tenants.accounts.base import TenantAdminApi

CALLBACK_PATH = "/login/oidc/callback/"


def _mapping(value: dict) -> dict:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise serializers.ValidationError("must be an object of strings")
    return value


class IdentityProviderApi(TenantAdminApi):
    """The tenant's OpenID Connect provider. The client secret is write-only and stored encrypted."""

    class InputSerializer(serializers.Serializer):
        display_name = serializers.CharField(max_length=100, default="your company account")
        issuer = serializers.URLField(max_length=300)
        client_id = serializers.CharField(max_length=200)
        client_secret = serializers.CharField(max_length=500, required=False, write_only=True)
        scopes = serializers.CharField(max_length=200, default="openid profile email groups")
        role_claim = serializers.CharField(max_length=64, default="role")
        role_map = serializers.JSONField(default=dict, validators=[_mapping])
        groups_claim = serializers.CharField(max_length=64, default="groups")
        group_map = serializers.JSONField(default=dict, validators=[_mapping])
        passwords_enabled = serializers.BooleanField(default=True)

        def validate_issuer(self, value: str) -> str:
            return value.rstrip("/")  # which issuers are allowed: oidc.provider_configure

        def validate_scopes(self, value: str) -> str:
            if "openid" not in value.split():
                raise serializers.ValidationError("the scopes must include openid")
            return value

    def _data(self, request, provider) -> dict:
        fields = ("display_name", "issuer", "client_id", "scopes", "role_claim", "role_map", "groups_claim")
        data = {name: getattr(provider, name) for name in fields}
        data.update(group_map=provider.group_map, passwords_enabled=provider.passwords_enabled)
        data.update(client_secret_set=bool(provider.client_secret_encrypted), updated_at=provider.updated_at)
        data["redirect_uri"] = request.build_absolute_uri(CALLBACK_PATH)
        return data

    def get(self, request):
        provider = oidc.provider_get()
        if provider is None:
            raise NotFound("No identity provider is set up.")
        return Response(self._data(request, provider))

    def put(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        secret = fields.pop("client_secret", None)
        provider = oidc.provider_configure(tenant=self.tenant, actor=request.user, client_secret=secret, **fields)
        return Response(self._data(request, provider))

    def delete(self, request):
        oidc.provider_remove(actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
