"""The OpenAPI schema of the tenant API (drf-spectacular). The views are plain APIViews with their
input serializer as `InputSerializer`; this schema class reads it, so no view needs annotating."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes


class EnclaveAutoSchema(AutoSchema):
    def get_request_serializer(self):
        return getattr(self.view, "InputSerializer", None) or OpenApiTypes.OBJECT

    def get_response_serializers(self):
        return getattr(self.view, "OutputSerializer", None) or OpenApiTypes.OBJECT

    def get_serializer_name(self, serializer, direction):
        # A serializer declared inside a view is named after it: UserListApi.InputSerializer -> UserListInput.
        owner, _, name = type(serializer).__qualname__.rpartition(".")
        return owner.rpartition(".")[2].removesuffix("Api") + name if owner else name


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.accounts.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A tenant API key: ek_<prefix>_<secret>"}
