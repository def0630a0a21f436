"""The ingestion work for one document version: parse -> chunk -> embed -> index.

Idempotent: a version already indexed or failed is left alone, chunk ids are derived from
document, version, position and content, and the final write replaces the document's chunks in
one transaction. Progress and a heartbeat are written as it goes (outside that transaction) so
the API can show them and a dead worker's document can be found and queued again.
"""

import dataclasses
import logging

from django.db import transaction
from django.utils import timezone

from ingestion import storage
from ingestion.chunking import ChunkDraft, chunk_elements, chunk_metadata
from ingestion.models import Document, DocumentVersion, IngestionStatus
from ingestion.parsers import ParseError, parse
from retrieval import services as chunk_services
from retrieval.embeddings import Embedder, embedder
from retrieval.selectors import index_models
from safety import injection
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


def _embed(version: DocumentVersion | None, model: Embedder, texts: list[str], hashes: list[str]) -> list:
    known = chunk_services.embeddings_known(content_hashes=hashes, embedding_model=model.name)
    missing = [index for index, content_hash in enumerate(hashes) if content_hash not in known]
    vectors = [known.get(content_hash) for content_hash in hashes]
    for start in range(0, len(missing), EMBED_BATCH):
        batch = missing[start : start + EMBED_BATCH]
        for index, vector in zip(batch, model.embed([texts[i] for i in batch], batch_size=EMBED_BATCH), strict=True):
            vectors[index] = vector
        if version is not None:
            done = min(len(missing), start + EMBED_BATCH)
            _report(version, IngestionStatus.EMBEDDING, 30 + int(65 * done / max(1, len(missing))))
    return vectors


def _elements(version: DocumentVersion, tenant: Tenant) -> list:
    data = storage.blob_get(tenant=tenant, sha256=version.sha256)
    try:
        return parse(version.file_kind, data)
    except ParseError as exc:
        raise PermanentFailure(str(exc)) from exc


def _screened(drafts: list[ChunkDraft]) -> list[tuple[ChunkDraft, tuple[str, ...]]]:
    """Each chunk with its prompt-injection flags (safety.injection), text and heading path cleaned.

    The stored text loses the hidden-HTML sentinels and the suspicious invisible characters (zero-width
    characters inside words, tag characters, stray bidi controls): it is what prompts and citations
    show, a payload in tag characters would still reach the model, and words split by zero-width
    characters would not match in full-text search. The embedding tokenizer drops them anyway, the flag
    keeps the finding and the original file is kept. Hidden HTML text itself is kept (collapsed tabs
    and e-mail preheaders are hidden too), flagged. A chunk may lie wholly inside a long hidden
    passage, without a sentinel of its own: `hidden_html_carried` follows the open passage along.
    """
    carried = injection.hidden_html_carried(draft.text for draft in drafts)
    section_flags: dict[str, tuple[str, ...]] = {}
    screened = []
    for draft, inside_hidden in zip(drafts, carried, strict=True):
        if draft.section not in section_flags:
            section_flags[draft.section] = injection.scan(draft.section)
        found = {*injection.scan(draft.text), *section_flags[draft.section]}
        if inside_hidden:
            found.add(injection.HIDDEN_HTML)
        text = injection.strip_invisible(draft.text).strip()
        if not text:
            continue
        cleaned = dataclasses.replace(
            draft, ordinal=len(screened), text=text, section=injection.strip_invisible(draft.section)
        )
        screened.append((cleaned, tuple(flag for flag in injection.FLAGS if flag in found)))
    return screened


def _rows(elements: list, model_name: str, *, report_to: DocumentVersion | None) -> list[chunk_services.ChunkRow]:
    model = embedder(model_name)
    screened = _screened(chunk_elements(elements, tokenizer=model.tokenizer))
    if not screened:
        raise PermanentFailure("no text was found in the document")
    drafts = [draft for draft, _ in screened]
    if report_to is not None:
        _report(report_to, IngestionStatus.EMBEDDING, 30)
    hashes = [draft.content_hash(model.name) for draft in drafts]
    vectors = _embed(report_to, model, [draft.embedding_input for draft in drafts], hashes)
    return [
        chunk_services.ChunkRow(
            ordinal=draft.ordinal,
            text=draft.text,
            section=draft.section,
            page=draft.page,
            token_count=draft.token_count,
            content_hash=content_hash,
            embedding=vector,
            safety_flags=flags,
        )
        for (draft, flags), content_hash, vector in zip(screened, hashes, vectors, strict=True)
    ]


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
    elements = _elements(version, tenant)
    _report(version, IngestionStatus.CHUNKING, 20)
    models = index_models()
    rows_by_model = {name: _rows(elements, name, report_to=version) for name in models}
    pages = max((element.page or 0 for element in elements), default=0)
    _index(version=version, rows_by_model=rows_by_model, pages=pages, active_model=models[0])
    return IngestionStatus.INDEXED


def _index(*, version: DocumentVersion, rows_by_model: dict, pages: int, active_model: str) -> None:
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=version.document_id)
        if document.latest_version != version.number:
            return  # a newer upload arrived while this one was embedding; it will index itself
        chunk_services.chunks_replace(
            document_id=document.public_id,
            version=version.number,
            rows_by_model=rows_by_model,
            acl_principals=document.acl_principals,
            metadata=chunk_metadata(document, file_kind=version.file_kind),
        )
        chunk_services.embedding_index_pin(model_name=active_model, dimensions=embedder(active_model).dimensions)
        now = timezone.now()
        count = len(rows_by_model[active_model])
        DocumentVersion.objects.filter(pk=version.pk).update(
            status=IngestionStatus.INDEXED,
            progress=100,
            heartbeat_at=now,
            indexed_at=now,
            chunk_count=count,
            page_count=pages,
            embedding_model=active_model,
            error="",
        )
        Document.objects.filter(pk=document.pk).update(
            status=IngestionStatus.INDEXED,
            progress=100,
            error="",
            current_version=version.number,
            chunk_count=count,
            page_count=pages,
            updated_at=now,
        )


def document_reembed(*, tenant: Tenant, document_id, model_name: str) -> str:
    """One step of an index rebuild: embed the served version of a document with `model_name`,
    beside the chunks search reads now."""
    document = Document.objects.filter(public_id=document_id, current_version__isnull=False).first()
    if document is None:
        return "skipped"
    version = document.versions.get(number=document.current_version)
    rows = _rows(_elements(version, tenant), model_name, report_to=None)
    with transaction.atomic():
        locked = Document.objects.select_for_update().filter(pk=document.pk, current_version=version.number).first()
        if locked is None:
            return "skipped"  # deleted, or a newer version was indexed meanwhile (with every model)
        chunk_services.chunks_replace(
            document_id=document.public_id,
            version=version.number,
            rows_by_model={model_name: rows},
            acl_principals=locked.acl_principals,
            metadata=chunk_metadata(locked, file_kind=version.file_kind),
            only_model=True,
        )
    return "reembedded"
