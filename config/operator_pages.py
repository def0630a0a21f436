"""The operator's pages on the public host: tenants with their usage and limits, and system health.
They aggregate across apps (health, metrics, the chat dashboard), hence they live in config."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden
from django.shortcuts import render

from chat import dashboard
from config import health
from inference.engine_metrics import engine_summary
from ingestion import metrics as ingestion_metrics
from tenants import selectors as tenant_selectors
from tenants.accounts import selectors as account_selectors
from tenants.accounts.models import User


@login_required
def operator_console(request):
    if request.user.role != User.Role.OPERATOR:
        return HttpResponseForbidden()
    tenants = list(tenant_selectors.tenant_list())
    overview = dashboard.appliance_overview(tenants=tenants)
    chart = {
        "tenants": [row["tenant"].name for row in overview],
        "answers": {status: [row["answers"][status] for row in overview] for status in dashboard.OUTCOMES},
    }
    operators = account_selectors.operator_list()
    context = {"tenants": tenants, "overview": overview, "chart": chart, "operators": operators}
    return render(request, "console/operator.html", context)


@login_required
def operator_system(request):
    """Is everything up: database, broker, model server, workers; what waits in ingestion; how busy the engine is."""
    if request.user.role != User.Role.OPERATOR:
        return HttpResponseForbidden()
    ingestion = [
        (schema, ingestion_metrics.queue_depth(counts), counts)
        for schema, counts, _ in ingestion_metrics.ingestion_by_tenant()
    ]
    context = {
        "checks": {**health.readiness_checks(), "workers": health.workers()},
        "ingestion": ingestion,
        "statuses": list(ingestion[0][2]) if ingestion else [],
        "engine": engine_summary(),
    }
    return render(request, "console/system.html", context)
