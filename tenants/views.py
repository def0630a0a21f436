"""A tenant's server-rendered pages: sign-in and the tenant console (operators: config/operator_pages.py)."""

import json

from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from tenants.accounts import oidc, selectors, throttle
from tenants.accounts.audit import audit_record
from tenants.accounts.base import client_ip
from tenants.accounts.models import User
from tenants.accounts.oidc_apis import CALLBACK_PATH
from tenants.accounts.services import scopes_grantable


def _may_sign_in_here(request, user: User) -> bool:
    if request.tenant is None:
        return user.role == User.Role.OPERATOR
    return user.role in (User.Role.ADMIN, User.Role.MEMBER)


def safe_next(request) -> str:
    target = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


def login_context(request, *, error: str = "") -> dict:
    provider = oidc.provider_get() if request.tenant is not None else None
    return {
        "error": error,
        "tenant": request.tenant,
        "provider": provider,
        "passwords_enabled": provider is None or provider.passwords_enabled,
        "next": safe_next(request),
    }


PASSWORDS_OFF = "This organisation signs in through its identity provider only."


@require_http_methods(["GET", "POST"])
def login_view(request):
    error = ""
    if request.method == "POST" and request.tenant is not None and not oidc.passwords_enabled():
        return render(request, "login.html", login_context(request, error=PASSWORDS_OFF), status=403)
    if request.method == "POST":
        username = request.POST.get("username", "")
        lockout = throttle.lockout_of(username=username, address=client_ip(request))
        if lockout is not None:
            return _locked_out(request, username, lockout)
        user = authenticate(request, username=username, password=request.POST.get("password", ""))
        if user is not None and _may_sign_in_here(request, user):
            login(request, user)
            audit_record(action="auth.login", actor=user, ip_address=client_ip(request))
            return redirect(safe_next(request))
        throttle.failure_record(username=username, address=client_ip(request))
        error = "Those credentials are not valid here."
    return render(request, "login.html", login_context(request, error=error), status=401 if error else 200)


def _locked_out(request, username: str, lockout: throttle.Lockout):
    audit_record(
        action=throttle.THROTTLED,
        outcome="denied",
        actor_label=username[:150],
        ip_address=client_ip(request),
        detail={"reason": lockout.reason, "retry_after": lockout.retry_after},
    )
    seconds = lockout.retry_after
    wait, unit = (seconds, "second") if seconds < 60 else (round(seconds / 60), "minute")
    error = f"Too many failed sign-ins. Try again in {wait} {unit}{'s' if wait > 1 else ''}."
    response = render(request, "login.html", login_context(request, error=error), status=429)
    response["Retry-After"] = str(lockout.retry_after)
    return response


@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        audit_record(action="auth.logout", actor=request.user, ip_address=client_ip(request))
    logout(request)
    return redirect("/login/")


@login_required
def tenant_console(request):
    if request.user.role not in (User.Role.ADMIN, User.Role.MEMBER):
        return HttpResponseForbidden()
    admin = request.user.is_tenant_admin
    context = {
        "tenant": request.tenant,
        "groups": selectors.group_list().prefetch_related("members"),
        "api_keys": selectors.api_key_list_for_user(user=request.user, all_users=admin),
        "users": selectors.user_list() if admin else [],
        "roles": [User.Role.ADMIN, User.Role.MEMBER],
        "scopes": scopes_grantable(user=request.user, created_by_key=None),
    }
    if admin:
        provider = oidc.provider_get()
        context |= {
            "provider": provider,
            "role_map_json": json.dumps(provider.role_map) if provider else "{}",
            "group_map_json": json.dumps(provider.group_map) if provider else "{}",
            "redirect_uri": request.build_absolute_uri(CALLBACK_PATH),
        }
    return render(request, "console/tenant.html", context)


AUDIT_PAGE_SIZE = 50


@login_required
def audit_page(request):
    """The audit log, newest first, filtered by action: a tenant's for its admins, the appliance's for operators."""
    operator_here = request.tenant is None and request.user.role == User.Role.OPERATOR
    if not (operator_here or (request.tenant is not None and request.user.is_tenant_admin)):
        return HttpResponseForbidden()
    action = request.GET.get("action", "")
    events = selectors.audit_event_list(action=action or None).order_by("-created_at", "-id")
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page:
        event.detail_text = json.dumps(event.detail, default=str)
    context = {"tenant": request.tenant, "page": page, "action": action, "actions": selectors.audit_actions()}
    return render(request, "console/audit.html", context)
