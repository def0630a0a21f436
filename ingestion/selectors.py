"""Reads of documents, with the caller's ACL inside the query."""

from datetime import datetime

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from rest_framework.exceptions import PermissionDenied

from ingestion.models import Document, DocumentVersion, IngestionStatus
from tenants.accounts.models import User

IN_PROGRESS = [IngestionStatus.PARSING, IngestionStatus.CHUNKING, IngestionStatus.EMBEDDING]


def document_list_for_user(*, user: User, principals: list[str]) -> QuerySet[Document]:
    """Documents the caller may read (any of their principals is on the ACL), or uploaded, or all for an admin."""
    documents = Document.objects.select_related("uploaded_by").order_by("-created_at", "-id")
    if user.is_tenant_admin:
        return documents
    return documents.filter(Q(acl_principals__overlap=principals) | Q(uploaded_by=user))


def document_filter(
    documents: QuerySet[Document], *, text: str = "", status: str = "", tag: str = "", kind: str = ""
) -> QuerySet[Document]:
    """Narrow a readable list: `text` in the title or file name, the state, a tag, the latest version's kind."""
    if text:
        documents = documents.filter(Q(title__icontains=text) | Q(filename__icontains=text))
    if status:
        documents = documents.filter(status=status)
    if tag:
        documents = documents.filter(tags__contains=[tag.strip().lower()])
    if kind:
        latest = DocumentVersion.objects.filter(document=OuterRef("pk"), number=OuterRef("latest_version"))
        documents = documents.filter(Exists(latest.filter(file_kind=kind)))
    return documents


def document_get_for_user(*, user: User, principals: list[str], public_id) -> Document:
    document = document_list_for_user(user=user, principals=principals).filter(public_id=public_id).first()
    if document is None:
        raise Http404
    return document


def document_get_for_manager(*, user: User, principals: list[str], public_id) -> Document:
    """A document the caller may change: they uploaded it, or they are a tenant admin."""
    document = document_get_for_user(user=user, principals=principals, public_id=public_id)
    if not user.is_tenant_admin and document.uploaded_by_id != user.pk:
        raise PermissionDenied("Only the uploader or a tenant admin can change this document.")
    return document


def document_versions(*, document: Document) -> QuerySet[DocumentVersion]:
    return document.versions.order_by("-number")


def ingestion_queue(*, user: User, principals: list[str]) -> dict:
    """The tenant's ingestion queue as the caller may see it: counts by state and the waiting documents in order."""
    visible = document_list_for_user(user=user, principals=principals)
    counts = dict(visible.order_by().values_list("status").annotate(n=Count("id")))
    waiting = (
        DocumentVersion.objects.filter(status__in=[IngestionStatus.QUEUED, *IN_PROGRESS], document__in=visible)
        .select_related("document")
        .order_by("created_at", "id")
    )
    return {
        "counts": {status: counts.get(status, 0) for status in IngestionStatus.values},
        "waiting": [
            {
                "position": position,
                "document": str(version.document.public_id),
                "filename": version.document.filename,
                "version": version.number,
                "status": version.status,
                "progress": version.progress,
            }
            for position, version in enumerate(waiting, start=1)
        ],
    }


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def versions_by_day(*, since: datetime) -> dict:
    """Versions indexed and failed per UTC day, and the most frequent failure reasons (plain rows)."""
    indexed = _rows(
        """SELECT (indexed_at AT TIME ZONE 'UTC')::date, count(*) FROM ingestion_documentversion
           WHERE status = 'indexed' AND indexed_at >= %s GROUP BY 1""",
        [since],
    )
    failed = _rows(
        """SELECT (created_at AT TIME ZONE 'UTC')::date, count(*) FROM ingestion_documentversion
           WHERE status = 'failed' AND created_at >= %s GROUP BY 1""",
        [since],
    )
    reasons = _rows(
        """SELECT split_part(error, ':', 1), count(*) FROM ingestion_documentversion
           WHERE status = 'failed' AND created_at >= %s GROUP BY 1 ORDER BY 2 DESC LIMIT 8""",
        [since],
    )
    return {"indexed": dict(indexed), "failed": dict(failed), "failure_reasons": reasons}


def documents_present() -> QuerySet:
    """Every document of the schema (public ids): a subquery for the training gate's one statement."""
    return Document.objects.order_by().values("public_id")


def documents_no_train() -> QuerySet:
    return Document.objects.filter(no_train=True).order_by().values("public_id")
