from rest_framework import authentication


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Accept the API key that tenants.middleware already resolved and verified for this request."""

    def authenticate(self, request):
        api_key = getattr(request._request, "api_key", None)
        if api_key is None:
            return None
        return api_key.user, api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="enclave"'
