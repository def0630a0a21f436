from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from core.pages import (
    console_action,
    done,
    receipt_lines,
    refused,
    shown_once,
    validated,
)
from ingestion import apis, selectors, services
from ingestion.detect import MIME_TYPES
from ingestion.models import IngestionStatus
from tenants.accounts import selectors as account_selectors
from tenants.accounts.permissions import tenant_member

PAGE = "/documents/{document_id}/"


@login_required
@ensure_csrf_cookie
def portal(request):
    """The upload portal: drag and drop, per-file upload progress, then live ingestion state."""
    if request.tenant is None:
        return HttpResponseForbidden()
    context = {
        "tenant": request.tenant,
        "groups": account_selectors.group_list(),
        "states": IngestionStatus.values,
        "kinds": sorted(MIME_TYPES),
    }
    return render(request, "ingestion/portal.html", context)


@login_required
def document_page(request, document_id):
    """One document: its state or failure reason, versions, and (for its uploader or an admin) its settings."""
    if request.tenant is None:
        return HttpResponseForbidden()
    principals = account_selectors.user_principals(user=request.user)
    document = selectors.document_get_for_user(user=request.user, principals=principals, public_id=document_id)
    context = {
        "tenant": request.tenant,
        "document": document,
        "versions": selectors.document_versions(document=document),
        "may_manage": request.user.is_tenant_admin or document.uploaded_by_id == request.user.pk,
        "groups": account_selectors.group_list(),
        "acl_groups": {p.removeprefix("group:") for p in document.acl_principals if p.startswith("group:")},
        "everyone": services.EVERYONE in document.acl_principals,
    }
    return render(request, "ingestion/document.html", context)


def _managed(request, document_id):
    principals = account_selectors.user_principals(user=request.user)
    return selectors.document_get_for_manager(user=request.user, principals=principals, public_id=document_id)


@console_action(may=tenant_member, back=PAGE, gone="/documents/")
def document_edit(request, document_id):
    document = _managed(request, document_id)
    data = validated(
        apis.DocumentDetailApi.InputSerializer,
        {
            "title": request.POST.get("title", ""),
            "tags": [tag for tag in request.POST.get("tags", "").split(",") if tag.strip()],
            "no_train": request.POST.get("no_train") == "on",
        },
    )
    if request.POST.get("acl") == "everyone":
        acl = {"everyone": True}
    else:
        acl = {"everyone": False, "groups": request.POST.getlist("groups")}
    serializer = apis.AclInputSerializer(data=acl)
    serializer.is_valid(raise_exception=True)
    services.document_update(
        tenant=request.tenant, document=document, actor=request.user, acl_principals=serializer.principals(), **data
    )
    return done(request, "Saved.", PAGE.format(document_id=document_id))


@console_action(may=tenant_member, back=PAGE, gone="/documents/")
def document_version_upload(request, document_id):
    document = _managed(request, document_id)
    upload = request.FILES.get("file")
    if upload is None:
        return refused(request, "Choose a file for the new version.", PAGE.format(document_id=document_id))
    services.upload_size_check(size=upload.size)
    outcome = services.document_upload(
        tenant=request.tenant, user=request.user, filename=upload.name, data=upload.read(), document=document
    )
    text = "That file is the current version already." if outcome.unchanged else "The new version is queued."
    return done(request, text, PAGE.format(document_id=document_id))


@console_action(may=tenant_member, back=PAGE, gone="/documents/")
def document_delete(request, document_id):
    document = _managed(request, document_id)
    if request.POST.get("confirm", "") != document.filename:
        text = f"Not deleted: type {document.filename} to confirm."
        return refused(request, text, PAGE.format(document_id=document_id))
    receipt = services.document_delete(tenant=request.tenant, document=document, actor=request.user)
    return shown_once(
        request,
        title=f"{receipt['filename']} was deleted",
        lines=receipt_lines(receipt),
        note="Its chunks are gone from search and its stored file is destroyed; the receipt is in the audit log.",
        back="/documents/",
    )


@console_action(may=tenant_member, back=PAGE, gone="/documents/")
def document_reingest(request, document_id):
    document = _managed(request, document_id)
    version = services.document_reingest(tenant=request.tenant, document=document, actor=request.user)
    return done(request, f"Version {version.number} is queued to be read again.", PAGE.format(document_id=document_id))
