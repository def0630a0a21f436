import pytest
from django_tenants.utils import schema_context

from ingestion import storage
from ingestion.models import Document, DocumentVersion, IngestionStatus, OriginalPart
from ingestion.pipeline import version_fail
from ingestion.services import document_acl_update, document_delete, document_upload
from ingestion.tasks import document_version_ingest
from retrieval.embeddings import Embedder
from retrieval.models import Chunk
from tenants.accounts.models import AuditEvent
from tenants.tasking import TENANT_KWARG

pytestmark = pytest.mark.django_db
TEXT_V1 = ("The northern warehouse ships orders on Mondays and Thursdays. " * 60).encode()
TEXT_V2 = ("The southern warehouse ships orders every weekday before noon. " * 60).encode()


def _chunks(document) -> list[tuple]:
    with schema_context("tenant_a"):
        return list(
            Chunk.objects.filter(document_id=document.public_id)
            .order_by("ordinal")
            .values_list("id", "version", "ordinal", "text", "content_hash")
        )


def _run(version_id: int) -> None:
    document_version_ingest.apply(kwargs={TENANT_KWARG: "tenant_a", "version_id": version_id})


def test_running_the_task_again_leaves_exactly_the_same_rows(ingest, tenant_a):
    document = ingest(tenant_a, "w.txt", TEXT_V1)
    before = _chunks(document)
    with schema_context("tenant_a"):
        version = DocumentVersion.objects.get(document=document)
        DocumentVersion.objects.filter(pk=version.pk).update(status=IngestionStatus.EMBEDDING)

    _run(version.pk)

    assert _chunks(document) == before
    assert len({row[0] for row in before}) == len(before) > 1


def test_new_content_creates_a_version_that_replaces_the_chunks(ingest, tenant_a):
    document = ingest(tenant_a, "w.txt", TEXT_V1)

    updated = ingest(tenant_a, "w.txt", TEXT_V2, document=document)

    rows = _chunks(updated)
    assert updated.current_version == 2
    assert {row[1] for row in rows} == {2}
    assert all("southern" in row[3] for row in rows)


def test_the_same_content_again_for_a_document_makes_no_new_version(ingest, tenant_a):
    document = ingest(tenant_a, "w.txt", TEXT_V1)

    with schema_context("tenant_a"):
        outcome = document_upload(
            tenant=tenant_a.tenant, user=tenant_a.admin, filename="w.txt", data=TEXT_V1, document=document
        )
        assert outcome.unchanged
        assert DocumentVersion.objects.filter(document=document).count() == 1


def test_identical_content_in_another_document_is_not_embedded_again(ingest, tenant_a, monkeypatch):
    ingest(tenant_a, "first.txt", TEXT_V1)
    embedded = []
    original = Embedder.embed
    monkeypatch.setattr(
        Embedder, "embed", lambda self, texts, **kw: embedded.extend(texts) or original(self, texts, **kw)
    )

    copy = ingest(tenant_a, "copy.txt", TEXT_V1)

    assert copy.status == IngestionStatus.INDEXED
    assert copy.chunk_count > 1
    assert embedded == []


def test_a_failed_new_version_leaves_the_old_one_searchable(ingest, tenant_a):
    document = ingest(tenant_a, "w.txt", TEXT_V1)
    before = _chunks(document)

    failed = ingest(tenant_a, "w.txt", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, document=document)

    assert failed.status == IngestionStatus.FAILED
    assert failed.current_version == 1
    assert _chunks(document) == before


def test_a_version_overtaken_by_a_newer_upload_is_not_indexed(tenant_a):
    with schema_context("tenant_a"):
        first = document_upload(tenant=tenant_a.tenant, user=tenant_a.admin, filename="w.txt", data=TEXT_V1)
        second = document_upload(
            tenant=tenant_a.tenant, user=tenant_a.admin, filename="w.txt", data=TEXT_V2, document=first.document
        )

    _run(first.version.pk)
    _run(second.version.pk)

    with schema_context("tenant_a"):
        assert DocumentVersion.objects.get(pk=first.version.pk).error == "superseded by version 2"
        document = Document.objects.get(pk=first.document.pk)
    assert document.current_version == 2
    assert {row[1] for row in _chunks(document)} == {2}


def test_changing_the_acl_changes_the_principals_on_every_chunk(ingest, tenant_a):
    document = ingest(tenant_a, "w.txt", TEXT_V1)
    principals = [f"group:{tenant_a.finance_group.public_id}"]

    with schema_context("tenant_a"):
        document_acl_update(document=document, acl_principals=principals, actor=tenant_a.admin)
        stored = set(
            map(tuple, Chunk.objects.filter(document_id=document.public_id).values_list("acl_principals", flat=True))
        )
    assert stored == {tuple(principals)}


def test_deleting_a_document_removes_chunks_versions_and_its_file_but_not_a_shared_one(
    ingest, tenant_a, django_capture_on_commit_callbacks
):
    shared_a = ingest(tenant_a, "a.txt", TEXT_V1)
    shared_b = ingest(tenant_a, "b.txt", TEXT_V1)
    alone = ingest(tenant_a, "c.txt", TEXT_V2)
    sha_shared, sha_alone = storage.content_sha256(TEXT_V1), storage.content_sha256(TEXT_V2)

    with schema_context("tenant_a"), django_capture_on_commit_callbacks(execute=True):
        receipt = document_delete(tenant=tenant_a.tenant, document=alone, actor=tenant_a.admin)
        document_delete(tenant=tenant_a.tenant, document=shared_a, actor=tenant_a.admin)

    assert receipt["chunks"] == alone.chunk_count and receipt["files"] == 1
    with schema_context("tenant_a"):
        assert not storage.blob_exists(tenant=tenant_a.tenant, sha256=sha_alone)
        assert storage.blob_exists(tenant=tenant_a.tenant, sha256=sha_shared)
    assert _chunks(alone) == []
    assert _chunks(shared_b) != []
    with schema_context("tenant_a"):
        assert not DocumentVersion.objects.filter(document_id=alone.pk).exists()


@pytest.mark.parametrize("store", ["database", "files"])
def test_stored_originals_are_encrypted_at_rest(tenant_a, settings, store):
    settings.ENCLAVE_ORIGINALS_STORE = store
    big = TEXT_V1 + b" filler" * 400_000  # over 2 MiB: three parts in the database

    with schema_context("tenant_a"):
        sha256 = storage.blob_put(tenant=tenant_a.tenant, data=big)
        if store == "database":
            stored = [
                bytes(part) for part in OriginalPart.objects.filter(original_id=sha256).values_list("data", flat=True)
            ]
        else:
            stored = [storage._blob_path(tenant_a.tenant, sha256).read_bytes()]
        assert len(stored) == (3 if store == "database" else 1)
        assert not any(b"warehouse" in blob or b"filler filler" in blob for blob in stored)
        assert storage.blob_get(tenant=tenant_a.tenant, sha256=sha256) == big
        storage.blob_delete(tenant=tenant_a.tenant, sha256=sha256)
        assert not storage.blob_exists(tenant=tenant_a.tenant, sha256=sha256)


def test_an_original_stored_as_a_file_stays_readable_once_the_database_is_the_store(ingest, tenant_a, settings):
    settings.ENCLAVE_ORIGINALS_STORE = "files"
    ingest(tenant_a, "old.txt", TEXT_V2)
    settings.ENCLAVE_ORIGINALS_STORE = "database"

    with schema_context("tenant_a"):
        sha256 = storage.content_sha256(TEXT_V2)
        assert storage.blob_get(tenant=tenant_a.tenant, sha256=sha256) == TEXT_V2
        assert not OriginalPart.objects.filter(original_id=sha256).exists()


def test_a_transient_database_error_is_retried_and_the_document_still_indexes(tenant_a, monkeypatch):
    from django.db import OperationalError

    from ingestion import pipeline

    with schema_context("tenant_a"):
        outcome = document_upload(tenant=tenant_a.tenant, user=tenant_a.admin, filename="w.txt", data=TEXT_V1)
    real_index, calls = pipeline._index, []

    def flaky_index(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_index(**kwargs)

    monkeypatch.setattr(pipeline, "_index", flaky_index)

    _run(outcome.version.pk)

    with schema_context("tenant_a"):
        version = DocumentVersion.objects.get(pk=outcome.version.pk)
    assert len(calls) == 2
    assert version.status == IngestionStatus.INDEXED
    assert version.attempts == 2


def test_a_transient_error_that_persists_ends_failed_with_the_reason(tenant_a, monkeypatch):
    from django.db import OperationalError

    from ingestion import pipeline

    with schema_context("tenant_a"):
        outcome = document_upload(tenant=tenant_a.tenant, user=tenant_a.admin, filename="w.txt", data=TEXT_V1)

    def broken_index(**kwargs):
        raise OperationalError("database is down")

    monkeypatch.setattr(pipeline, "_index", broken_index)

    _run(outcome.version.pk)

    with schema_context("tenant_a"):
        version = DocumentVersion.objects.get(pk=outcome.version.pk)
    assert version.status == IngestionStatus.FAILED
    assert "failed 6 times: database is down" in version.error


def test_a_failed_version_is_read_again_on_request_and_indexed(api, tenant_a):
    with schema_context("tenant_a"):
        outcome = document_upload(tenant=tenant_a.tenant, user=tenant_a.admin, filename="w.txt", data=TEXT_V1)
        version_fail(version_id=outcome.version.pk, reason="the embedding model was not loaded")
    path = f"/api/v1/documents/{outcome.document.public_id}/reingest/"

    by_a_reader = api("post", path, key=tenant_a.finance_key)
    queued = api("post", path, key=tenant_a.admin_key)
    again_while_queued = api("post", path, key=tenant_a.admin_key)
    _run(outcome.version.pk)

    assert by_a_reader.status_code == 403  # a member key has no upload scope
    assert queued.status_code == 202 and queued.json()["status"] == "queued" and queued.json()["error"] == ""
    assert (
        again_while_queued.status_code == 409
        and "being ingested already" in again_while_queued.json()["error"]["message"]
    )
    with schema_context("tenant_a"):
        document = Document.objects.get(pk=outcome.document.pk)
        audit = AuditEvent.objects.get(action="document.reingested", target_id=str(document.public_id))
    assert (document.status, document.current_version) == (IngestionStatus.INDEXED, 1)
    assert audit.detail == {"version": 1, "was": "failed", "error": "the embedding model was not loaded"}
    assert len(_chunks(document)) > 1


def test_an_unreadable_file_type_is_not_queued_again(api, tenant_a):
    with schema_context("tenant_a"):
        outcome = document_upload(tenant=tenant_a.tenant, user=tenant_a.admin, filename="x.bin", data=b"\x00\x01" * 50)

    response = api("post", f"/api/v1/documents/{outcome.document.public_id}/reingest/", key=tenant_a.admin_key)

    assert response.status_code == 409 and "not a file type" in response.json()["error"]["message"]
    with schema_context("tenant_a"):
        assert Document.objects.get(pk=outcome.document.pk).status == IngestionStatus.FAILED
