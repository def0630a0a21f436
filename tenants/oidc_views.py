"""Company sign-in pages: off to the tenant's identity provider, and back with a code."""

import datetime

from django.conf import settings
from django.contrib.auth import login
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tenants.accounts import oidc
from tenants.accounts.audit import audit_record
from tenants.accounts.base import client_ip
from tenants.accounts.oidc_apis import CALLBACK_PATH
from tenants.accounts.oidc_client import OidcError, authorization_start, claims_from_code
from tenants.views import login_context, safe_next

PENDING = "oidc_pending"


def _provider(request):
    provider = oidc.provider_get() if request.tenant is not None else None
    if provider is None:
        raise Http404("This organisation has no identity provider.")
    return provider


def _client(request, provider):
    redirect_uri = request.build_absolute_uri(CALLBACK_PATH)
    return oidc.client_for(provider, tenant=request.tenant, redirect_uri=redirect_uri)


def _refused(request, error: str, status: int):
    audit_record(
        action="auth.oidc_refused",
        outcome="denied",
        ip_address=client_ip(request),
        detail={"method": "oidc", "reason": error[:300]},
    )
    return render(request, "login.html", login_context(request, error=error), status=status)


@require_GET
def oidc_start(request):
    provider = _provider(request)
    try:
        started = authorization_start(_client(request, provider))
    except OidcError as exc:
        return _refused(request, f"The identity provider cannot be reached: {exc}", 502)
    request.session[PENDING] = {
        "state": started.state,
        "nonce": started.nonce,
        "verifier": started.code_verifier,
        "next": safe_next(request),
    }
    return redirect(started.url)


@require_GET
def oidc_callback(request):
    provider = _provider(request)
    pending = request.session.pop(PENDING, None)
    if not pending or request.GET.get("state") != pending["state"]:
        return _refused(request, "This sign-in did not start here or has expired. Please sign in again.", 400)
    if "error" in request.GET or not request.GET.get("code"):
        reason = request.GET.get("error_description") or request.GET.get("error") or "no code"
        return _refused(request, f"The identity provider did not sign you in: {reason[:200]}", 400)
    try:
        claims = claims_from_code(
            _client(request, provider),
            code=request.GET["code"],
            code_verifier=pending["verifier"],
            nonce=pending["nonce"],
        )
        user = oidc.sign_in(provider=provider, claims=claims, ip_address=client_ip(request))
    except OidcError as exc:
        return _refused(request, f"The identity provider's answer does not check out: {exc}", 502)
    except oidc.SignInRefused as exc:
        return _refused(request, str(exc), 403)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    # A fixed end, not one that moves with use: what the provider said (role, groups) is asked again then.
    lifetime = datetime.timedelta(seconds=settings.ENCLAVE_OIDC_SESSION_SECONDS)
    request.session.set_expiry(timezone.now() + lifetime)
    return redirect(pending["next"])
