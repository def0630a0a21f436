from datetime import timedelta
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie
from rest_framework.exceptions import PermissionDenied

from chat import dashboard
from chat.conversations import selectors, transcripts
from inference.metering import usage_summary
from tenants.accounts import selectors as account_selectors
from tenants.accounts.models import User


@login_required
@ensure_csrf_cookie
def chat_view(request):
    """The chat page: conversations, streamed answers with clickable citations, stop."""
    if request.tenant is None:
        return HttpResponseForbidden()
    return render(request, "chat/chat.html", {"tenant": request.tenant})


@login_required
def dashboard_page(request):
    if request.tenant is None or not request.user.is_tenant_admin:
        return HttpResponseForbidden()
    data = dashboard.tenant_dashboard(tenant=request.tenant)
    usage = usage_summary(since=timezone.now() - timedelta(days=30))
    ids = [row["user_id"] for row in usage["by_user"] if row["user_id"]]
    names = dict(User.objects.filter(public_id__in=ids).values_list("public_id", "username"))
    people = [
        {**row, "name": names.get(UUID(row["user_id"]), "[erased]") if row["user_id"] else "(system)"}
        for row in usage["by_user"]
    ]
    context = {
        "tenant": request.tenant,
        "data": data,
        "rows": _by_day(data),
        "usage": usage,
        "people": people,
        "rated_down": dashboard.rated_down(),
    }
    return render(request, "console/dashboard.html", context)


@login_required
def trace_page(request, message_id):
    """One answer's trace for a tenant admin: search, passages, evidence, checks, and where it went wrong."""
    if request.tenant is None or not request.user.is_tenant_admin:
        return HttpResponseForbidden()
    message = selectors.message_get_for_admin(public_id=message_id)
    principals = account_selectors.user_principals(user=request.user)
    try:
        trace = transcripts.trace_for_admin(
            tenant=request.tenant, message=message, actor=request.user, principals=principals
        )
    except PermissionDenied as refusal:
        return render(
            request, "console/trace.html", {"tenant": request.tenant, "refusal": str(refusal.detail)}, status=403
        )
    sent = set(trace.get("passages_sent", []))
    findings = [finding | {"label": finding["kind"].replace("_", " ")} for finding in trace["diagnosis"]]
    context = {"tenant": request.tenant, "trace": trace, "sent": sent, "findings": findings}
    return render(request, "console/trace.html", context)


def _by_day(data: dict) -> list[dict]:
    """The charts' numbers as table rows, one per day: what a screen reader or a copy-paste gets."""
    return [
        {
            "day": day,
            "answers": {status: series[i] for status, series in data["answers"].items()},
            "thumbs_up_rate": data["thumbs_up_rate"][i],
            "rated": data["rated"][i],
            "p50": data["first_token_ms"]["p50"][i],
            "p95": data["first_token_ms"]["p95"][i],
            "tokens": data["tokens"][i],
            "indexed": data["ingestion"]["indexed"][i],
            "failed": data["ingestion"]["failed"][i],
        }
        for i, day in enumerate(data["days"])
    ]
