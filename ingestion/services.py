"""Starting ingestion work: uploads, new versions, ACL changes, deletion. The work itself is in pipeline.py."""

import unicodedata
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.api import ServiceError
from core.locks import tenant_lock
from ingestion import storage
from ingestion.chunking import chunk_metadata
from ingestion.detect import UnsupportedFile, detect
from ingestion.models import Document, DocumentVersion, IngestionStatus
from retrieval import services as chunk_services
from tenants.accounts.audit import audit_record
from tenants.accounts.models import Group, User
from tenants.accounts.selectors import EVERYONE
from tenants.erasure import erasure_cascade
from tenants.models import Tenant
from tenants.tasking import tenant_task_send

INGEST_TASK = "ingestion.document_version_ingest"
BACKLOG_PER_PRIORITY_STEP = 2


class UploadRejected(ServiceError):
    """A file that is not accepted at all (nothing is stored): too large, over quota."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.status_code = 413 if code == "file_too_large" else 507


class AclError(ServiceError):
    status_code = 400
    code = "invalid_acl"


class ReingestRefused(ServiceError):
    code = "reingest_refused"


@dataclass(frozen=True)
class UploadOutcome:
    document: Document
    version: DocumentVersion | None
    unchanged: bool = False


def filename_clean(name: str) -> str:
    """A display name that is safe anywhere: no folders, no control characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = PurePath(name.replace("\\", "/")).name
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C").strip().lstrip(".")
    return name[:255] or "unnamed"


def acl_principals_build(*, everyone: bool, group_ids: list, user_ids: list) -> list[str]:
    """Turn an ACL request into principals, checking each group and user exists in this tenant."""
    if everyone:
        return [EVERYONE]
    groups = {str(g) for g in Group.objects.filter(public_id__in=group_ids).values_list("public_id", flat=True)}
    users = {str(u) for u in User.objects.filter(public_id__in=user_ids).values_list("public_id", flat=True)}
    missing = {str(i) for i in group_ids} - groups | {str(i) for i in user_ids} - users
    if missing:
        raise AclError(f"unknown groups or users in the ACL: {', '.join(sorted(missing))}")
    principals = [f"group:{g}" for g in sorted(groups)] + [f"user:{u}" for u in sorted(users)]
    if not principals:
        raise AclError("the ACL names nobody: choose the whole tenant, or groups or users")
    return principals


def tenant_storage_used() -> int:
    """Bytes of distinct stored originals in the current tenant (a file stored once counts once)."""
    table = DocumentVersion._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(SUM(size_bytes), 0) FROM (SELECT DISTINCT sha256, size_bytes FROM {table} "
            "WHERE file_kind <> '') AS stored"
        )
        return int(cursor.fetchone()[0])


def upload_size_check(*, size: int) -> None:
    """Refuse a file over the limit; views call it before reading the upload into memory."""
    if size > settings.ENCLAVE_UPLOAD_MAX_BYTES:
        raise UploadRejected(
            "file_too_large", f"the file is {size:,} bytes; the limit is {settings.ENCLAVE_UPLOAD_MAX_BYTES:,} bytes"
        )


QUOTA_LOCK = 0x454E5155  # "ENQU": held while an upload of the tenant is checked against the quota and stored


def _check_limits(*, tenant: Tenant, data: bytes, sha256: str) -> None:
    upload_size_check(size=len(data))
    if DocumentVersion.objects.filter(sha256=sha256, file_kind__gt="").exists():
        return  # already stored: costs nothing more
    if tenant_storage_used() + len(data) > tenant.storage_quota:
        raise UploadRejected(
            "quota_exceeded", f"the tenant's storage quota of {tenant.storage_quota:,} bytes is used up"
        )


def _priority(*, tenant_backlog: int) -> int:
    return min(9, tenant_backlog // BACKLOG_PER_PRIORITY_STEP)


def _enqueue(*, tenant: Tenant, version: DocumentVersion) -> None:
    backlog = DocumentVersion.objects.filter(status=IngestionStatus.QUEUED).exclude(pk=version.pk).count()
    tenant_task_send(
        INGEST_TASK,
        tenant=tenant,
        queue=settings.ENCLAVE_INGESTION_QUEUE,
        priority=_priority(tenant_backlog=backlog),
        version_id=version.pk,
    )


def document_upload(
    *,
    tenant: Tenant,
    user: User,
    filename: str,
    data: bytes,
    acl_principals: list[str] | None = None,
    tags: list[str] | None = None,
    document: Document | None = None,
) -> UploadOutcome:
    """Store a new document, or a new version of `document`. Unsupported files become FAILED documents."""
    sha256 = storage.content_sha256(data)
    if document is not None:
        latest = document.versions.order_by("-number").first()
        if latest is not None and latest.sha256 == sha256 and latest.status != IngestionStatus.FAILED:
            return UploadOutcome(document=document, version=latest, unchanged=True)
    upload_size_check(size=len(data))
    clean_name = filename_clean(filename)
    try:
        detected, error = detect(data, clean_name), ""
        kind, mime_type = detected.kind, detected.mime_type
    except UnsupportedFile as exc:
        kind, mime_type, error = "", "application/octet-stream", str(exc)
    status = IngestionStatus.FAILED if error else IngestionStatus.QUEUED
    with tenant_lock(QUOTA_LOCK), transaction.atomic():
        _check_limits(tenant=tenant, data=data, sha256=sha256)
        if document is None:
            document = Document.objects.create(
                title=PurePath(clean_name).stem[:300] or clean_name,
                filename=clean_name,
                acl_principals=acl_principals or [EVERYONE],
                tags=tags_clean(tags or []),
                uploaded_by=user,
            )
        else:
            document = Document.objects.select_for_update().get(pk=document.pk)
        number = document.latest_version + 1
        version = DocumentVersion.objects.create(
            document=document,
            number=number,
            sha256=sha256,
            size_bytes=len(data),
            file_kind=kind,
            mime_type=mime_type,
            status=status,
            error=error,
        )
        document.latest_version = number
        document.status, document.progress, document.error = status, 0, error
        document.save(update_fields=["latest_version", "status", "progress", "error", "updated_at"])
        audit_record(
            action="document.uploaded",
            actor=user,
            target_type="document",
            target_id=str(document.public_id),
            detail={
                "filename": clean_name,
                "version": number,
                "bytes": len(data),
                "kind": kind or None,
                "acl": document.acl_principals,
                "rejected": error or None,
            },
        )
        if not error:
            storage.blob_put(tenant=tenant, data=data)
            transaction.on_commit(lambda: _enqueue(tenant=tenant, version=version))
    return UploadOutcome(document=document, version=version)


def document_acl_update(*, document: Document, acl_principals: list[str], actor: User) -> Document:
    with transaction.atomic():
        before = document.acl_principals
        document.acl_principals = acl_principals
        document.save(update_fields=["acl_principals", "updated_at"])
        chunk_services.chunks_acl_update(document_id=document.public_id, acl_principals=acl_principals)
        audit_record(
            action="document.acl_changed",
            actor=actor,
            target_type="document",
            target_id=str(document.public_id),
            detail={"from": before, "to": acl_principals},
        )
    return document


def _chunk_metadata_refresh(document: Document) -> None:
    kind = document.versions.filter(number=document.current_version).values_list("file_kind", flat=True).first()
    chunk_services.chunks_metadata_update(
        document_id=document.public_id, metadata=chunk_metadata(document, file_kind=kind or "")
    )


def tags_clean(tags: list[str]) -> list[str]:
    cleaned = [tag.strip().lower()[:100] for tag in tags if tag and tag.strip()]
    return sorted(set(cleaned))


def _document_change(document: Document, *, field: str, value, action: str, actor: User) -> Document:
    """Set a descriptive field, copy it onto the chunks search filters and shows, and audit it."""
    with transaction.atomic():
        before = getattr(document, field)
        setattr(document, field, value)
        document.save(update_fields=[field, "updated_at"])
        _chunk_metadata_refresh(document)
        audit_record(
            action=action,
            actor=actor,
            target_type="document",
            target_id=str(document.public_id),
            detail={"from": before, "to": value},
        )
    return document


def document_retag(*, document: Document, tags: list[str], actor: User) -> Document:
    return _document_change(document, field="tags", value=tags_clean(tags), action="document.retagged", actor=actor)


def document_retitle(*, document: Document, title: str, actor: User) -> Document:
    title = title.strip()[:300] or document.title
    return _document_change(document, field="title", value=title, action="document.retitled", actor=actor)


def document_no_train_set(*, tenant: Tenant, document: Document, no_train: bool, actor: User) -> Document:
    """Keep answers drawn from this document out of training exports; stored exports that drew on it go."""
    with transaction.atomic():
        removed = {}
        if no_train and not document.no_train:
            removed = erasure_cascade(tenant=tenant, kind="document_no_train", ids=[document.public_id])
        if no_train != document.no_train:
            audit_record(
                action="document.no_train_changed",
                actor=actor,
                target_type="document",
                target_id=str(document.public_id),
                detail={"from": document.no_train, "to": no_train, "removed": removed},
            )
            document.no_train = no_train
            document.save(update_fields=["no_train", "updated_at"])
    return document


def document_update(
    *,
    tenant: Tenant,
    document: Document,
    actor: User,
    title: str | None = None,
    tags: list[str] | None = None,
    acl_principals: list[str] | None = None,
    no_train: bool | None = None,
) -> Document:
    """Apply the changes given (None leaves a field alone), each audited on its own, all or none."""
    with transaction.atomic():
        return _document_update(tenant, document, actor, title, tags, acl_principals, no_train)


def _document_update(tenant, document, actor, title, tags, acl_principals, no_train) -> Document:
    if acl_principals is not None and acl_principals != document.acl_principals:
        document = document_acl_update(document=document, acl_principals=acl_principals, actor=actor)
    if tags is not None and tags_clean(tags) != document.tags:
        document = document_retag(document=document, tags=tags, actor=actor)
    if title is not None and title.strip() != document.title:
        document = document_retitle(document=document, title=title, actor=actor)
    if no_train is not None:
        document = document_no_train_set(tenant=tenant, document=document, no_train=no_train, actor=actor)
    return document


def document_delete(*, tenant: Tenant, document: Document, actor: User) -> dict:
    """Remove the document, its versions, its chunks and its stored files (when no other document uses them)."""
    with transaction.atomic():
        shas = set(document.versions.values_list("sha256", flat=True))
        versions = document.versions.count()
        chunks = chunk_services.chunks_delete_for_document(document_id=document.public_id)
        public_id, filename = str(document.public_id), document.filename
        cascaded = erasure_cascade(tenant=tenant, kind="document", ids=[public_id])
        document.delete()
        orphaned = shas - set(DocumentVersion.objects.filter(sha256__in=shas).values_list("sha256", flat=True))
        receipt = {
            "document": public_id,
            "filename": filename,
            "deleted_at": timezone.now().isoformat(),
            "versions": versions,
            "chunks": chunks,
            "files": len(orphaned),
            **cascaded,
        }
        audit_record(
            action="document.deleted", actor=actor, target_type="document", target_id=public_id, detail=receipt
        )
        transaction.on_commit(lambda: [storage.blob_delete(tenant=tenant, sha256=sha) for sha in orphaned])
    return receipt


def document_reingest(*, tenant: Tenant, document: Document, actor: User) -> DocumentVersion:
    """Parse, chunk and embed the latest version again: after a failure that has since been fixed, or to
    pick up a better parser. Search keeps serving the indexed chunks until the new ones replace them."""
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document.pk)
        version = document.versions.get(number=document.latest_version)
        if version.status not in (IngestionStatus.INDEXED, IngestionStatus.FAILED):
            raise ReingestRefused(f"version {version.number} is being ingested already ({version.status})")
        if not version.file_kind:
            raise ReingestRefused(f"{document.filename} is not a file type Enclave reads: upload a supported file")
        DocumentVersion.objects.filter(pk=version.pk).update(
            status=IngestionStatus.QUEUED, progress=0, error="", attempts=0, claimed_by="", heartbeat_at=None
        )
        Document.objects.filter(pk=document.pk).update(
            status=IngestionStatus.QUEUED, progress=0, error="", updated_at=timezone.now()
        )
        audit_record(
            action="document.reingested",
            actor=actor,
            target_type="document",
            target_id=str(document.public_id),
            detail={"version": version.number, "was": version.status, "error": version.error[:200] or None},
        )
        transaction.on_commit(lambda: _enqueue(tenant=tenant, version=version))
    return version


def versions_requeue_stale(*, tenant: Tenant, older_than) -> int:
    """Queue again the versions whose worker stopped reporting (it died); the pipeline is idempotent."""
    stale = DocumentVersion.objects.filter(
        status__in=[IngestionStatus.PARSING, IngestionStatus.CHUNKING, IngestionStatus.EMBEDDING],
        heartbeat_at__lt=older_than,
    )
    count = 0
    for version in stale:
        # Fresh heartbeat: queued once per stale period, not at every sweep until a worker takes it.
        DocumentVersion.objects.filter(pk=version.pk).update(heartbeat_at=timezone.now())
        _enqueue(tenant=tenant, version=version)
        count += 1
    return count
