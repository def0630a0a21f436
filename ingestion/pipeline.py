"""The ingestion work for one document version: parse -> chunk -> embed -> index.

Idempotent: a version already indexed or failed is left alone, chunk ids are derived from
document, version, position and content, and the final write replaces the document's chunks in
one transaction. Progress and a heartbeat are written as it goes (outside that transaction) so
the API can show them and a dead worker's document can be found and queued again.
"""

import logging

from django.db import transaction
from django.utils import timezone

from ingestion import storage
from ingestion.chunking import chunk_elements
from ingestion.models import Document, DocumentVersion, IngestionStatus
from ingestion.parsers import ParseError, parse
from retrieval import services as chunk_services
from retrieval.embeddings import embedder
from tenants.models import Tenant

logger = logging.getLogger(__name__)

EMBED_BATCH = 32
TERMINAL = {IngestionStatus.INDEXED, IngestionStatus.FAILED}


class PermanentFailure(Exception):
    """The document cannot be ingested, ever; the message is shown to its owner."""


def _report(version: DocumentVersion, status: str, progress: int, **fields) -> None:
    now = timezone.now()
    DocumentVersion.objects.filter(pk=version.pk).update(status=status, progress=progress, heartbeat_at=now, **fields)
    Document.objects.filter(pk=version.document_id, latest_version=version.number).update(
        status=status, progress=progress, updated_at=now
    )


def version_fail(*, version_id: int, reason: str) -> None:
    version = DocumentVersion.objects.filter(pk=version_id).first()
    if version is None:
        return
    DocumentVersion.objects.filter(pk=version.pk).update(status=IngestionStatus.FAILED, error=reason[:2000])
    Document.objects.filter(pk=version.document_id, latest_version=version.number).update(
        status=IngestionStatus.FAILED, error=reason[:2000], updated_at=timezone.now()
    )


def _embed(version: DocumentVersion, texts: list[str], hashes: list[str]) -> list:
    model = embedder()
    known = chunk_services.embeddings_known(content_hashes=hashes, embedding_model=model.name)
    missing = [index for index, content_hash in enumerate(hashes) if content_hash not in known]
    vectors = [known.get(content_hash) for content_hash in hashes]
    for start in range(0, len(missing), EMBED_BATCH):
        batch = missing[start : start + EMBED_BATCH]
        for index, vector in zip(batch, model.embed([texts[i] for i in batch], batch_size=EMBED_BATCH), strict=True):
            vectors[index] = vector
        done = min(len(missing), start + EMBED_BATCH)
        _report(version, IngestionStatus.EMBEDDING, 30 + int(65 * done / max(1, len(missing))))
    return vectors


def version_ingest(*, tenant: Tenant, version_id: int, worker: str = "") -> str:
    version = DocumentVersion.objects.select_related("document").filter(pk=version_id).first()
    if version is None:
        return "deleted"
    if version.status in TERMINAL:
        return version.status
    if version.document.latest_version != version.number:
        version_fail(version_id=version.pk, reason=f"superseded by version {version.document.latest_version}")
        return "superseded"
    DocumentVersion.objects.filter(pk=version.pk).update(attempts=version.attempts + 1, claimed_by=worker[:120])
    _report(version, IngestionStatus.PARSING, 5)
    data = storage.blob_get(tenant=tenant, sha256=version.sha256)
    try:
        elements = parse(version.file_kind, data)
    except ParseError as exc:
        raise PermanentFailure(str(exc)) from exc
    _report(version, IngestionStatus.CHUNKING, 20)
    model = embedder()
    drafts = chunk_elements(elements, tokenizer=model.tokenizer)
    if not drafts:
        raise PermanentFailure("no text was found in the document")
    _report(version, IngestionStatus.EMBEDDING, 30)
    hashes = [draft.content_hash(model.name) for draft in drafts]
    vectors = _embed(version, [draft.embedding_input for draft in drafts], hashes)
    rows = [
        chunk_services.ChunkRow(
            ordinal=draft.ordinal,
            text=draft.text,
            section=draft.section,
            page=draft.page,
            token_count=draft.token_count,
            content_hash=content_hash,
            embedding=vector,
        )
        for draft, content_hash, vector in zip(drafts, hashes, vectors, strict=True)
    ]
    pages = max((element.page or 0 for element in elements), default=0)
    _index(version=version, rows=rows, pages=pages, model_name=model.name)
    return IngestionStatus.INDEXED


def _index(*, version: DocumentVersion, rows: list, pages: int, model_name: str) -> None:
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=version.document_id)
        if document.latest_version != version.number:
            return  # a newer upload arrived while this one was embedding; it will index itself
        chunk_services.chunks_replace(
            document_id=document.public_id,
            version=version.number,
            rows=rows,
            acl_principals=document.acl_principals,
            embedding_model=model_name,
            metadata={"title": document.title, "filename": document.filename, "kind": version.file_kind},
        )
        now = timezone.now()
        DocumentVersion.objects.filter(pk=version.pk).update(
            status=IngestionStatus.INDEXED,
            progress=100,
            heartbeat_at=now,
            indexed_at=now,
            chunk_count=len(rows),
            page_count=pages,
            embedding_model=model_name,
            error="",
        )
        Document.objects.filter(pk=document.pk).update(
            status=IngestionStatus.INDEXED,
            progress=100,
            error="",
            current_version=version.number,
            chunk_count=len(rows),
            page_count=pages,
            updated_at=now,
        )
