"""The "Data" page: each member's memory and whether admins read their answers' traces, and for tenant
admins training consent, retention and training exports. Forms validate with the REST API's serializers
and call the same services."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden
from django.shortcuts import render

from chat.conversations import apis, retention, trace_access
from chat.memory import services as memory
from chat.memory.apis import MemoryListApi, MemorySettingsApi
from chat.models import TrainingExport
from chat.training import apis as training_apis
from chat.training import services as training
from core.pages import (
    console_action,
    done,
    receipt_lines,
    refused,
    shown_once,
    validated,
)
from tenants.accounts.permissions import tenant_admin, tenant_member

PAGE = "/data/"


@login_required
def data_page(request):
    if not tenant_member(request):
        return HttpResponseForbidden()
    tenant = request.tenant
    context = {
        "tenant": tenant,
        "memory_on": memory.enabled(user=request.user),
        "facts": memory.facts(tenant=tenant, user=request.user),
        "trace_access": trace_access.trace_access_state(tenant=tenant),
    }
    if request.user.is_tenant_admin:
        context["exports"] = TrainingExport.objects.select_related("created_by").order_by("-created_at")[:50]
        context["parts"] = training.PARTS
    return render(request, "chat/data.html", context)


@console_action(may=tenant_member, back=PAGE + "#memory")
def memory_switch(request):
    on = validated(MemorySettingsApi.InputSerializer, {"enabled": request.POST.get("enabled", "")})["enabled"]
    memory.enable(user=request.user, on=on)
    return done(request, "Memory is on." if on else "Memory is off; what it holds stays until you forget it.", PAGE)


@console_action(may=tenant_member, back=PAGE + "#memory")
def memory_add(request):
    text = validated(MemoryListApi.InputSerializer, {"content": request.POST.get("content", "")})["content"]
    if not memory.enabled(user=request.user):
        return refused(request, "Turn memory on first.", PAGE + "#memory")
    memory.remember(tenant=request.tenant, user=request.user, text=text)
    return done(request, "Remembered.", PAGE + "#memory")


@console_action(may=tenant_member, back=PAGE + "#memory")
def memory_forget_one(request, fact_id):
    receipt = memory.forget(user=request.user, fact=memory.fact_get(user=request.user, public_id=fact_id))
    return done(request, f"Forgotten ({receipt['facts_deleted']}).", PAGE + "#memory")


@console_action(may=tenant_member, back=PAGE + "#memory")
def memory_forget_all(request):
    receipt = memory.forget(user=request.user)
    return done(request, f"Everything forgotten ({receipt['facts_deleted']}).", PAGE + "#memory")


@console_action(may=tenant_admin, back=PAGE + "#training")
def consent_set(request):
    fields = {"training_consent": request.POST.get("training_consent", "")}
    consent = validated(training_apis.TrainingConsentApi.InputSerializer, fields)["training_consent"]
    training.tenant_consent_set(tenant=request.tenant, consent=consent, actor=request.user)
    text = "Training consent given." if consent else "Training consent withdrawn; stored exports were deleted."
    return done(request, text, PAGE + "#training")


@console_action(may=tenant_admin, back=PAGE + "#retention")
def retention_set(request):
    names = ("conversation_days", "trace_days")
    data = validated(apis.RetentionSettingsApi.InputSerializer, {n: request.POST.get(n) or None for n in names})
    retention.retention_periods_set(
        tenant=request.tenant,
        conversation_days=data["conversation_days"],
        trace_days=data["trace_days"],
        actor=request.user,
    )
    return done(request, "Retention saved.", PAGE + "#retention")


@console_action(may=tenant_admin, back=PAGE + "#training")
def export_create(request):
    export = training.export_create(tenant=request.tenant, actor=request.user)
    counts = ", ".join(f"{name} {n}" for name, n in export.manifest.get("counts", {}).items())
    return done(request, f"Export made: {counts or 'nothing eligible'}.", PAGE + "#training")


@console_action(may=tenant_admin, back=PAGE + "#training")
def export_delete(request, export_id):
    receipt = training.export_delete(export=training_apis.export_get(export_id), actor=request.user)
    return shown_once(
        request,
        title="The training export was deleted",
        lines=receipt_lines(receipt),
        note="The receipt is in the audit log.",
        back=PAGE,
    )
