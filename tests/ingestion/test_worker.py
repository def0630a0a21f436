"""Ingestion with real Celery worker processes over the real broker: fairness between tenants,
and a worker killed mid-document."""

import json
import time
import uuid

import pytest
from django.conf import settings
from django.test import override_settings
from django_tenants.utils import schema_context

from ingestion.chunking import chunk_elements
from ingestion.models import Document, DocumentVersion, IngestionStatus
from ingestion.parsers import parse
from ingestion.services import document_delete, document_upload
from retrieval.embeddings import embedder
from retrieval.models import Chunk
from tests.ingestion.conftest import example
from tests.processes import celery_worker, in_own_connection

pytestmark = [pytest.mark.django_db, pytest.mark.integration]
COVID = settings.ENCLAVE_CORPORA_DIR / "covid-qa-dev" / "corpus.jsonl"


@pytest.fixture
def committed(world):
    """Uploads committed for real, so worker processes see them; removed afterwards."""
    queue = f"ingest-{uuid.uuid4().hex[:8]}"
    created = []

    def upload(world_key: str, filename: str, data: bytes) -> Document:
        tenant_world = world[world_key]

        def store():
            with override_settings(ENCLAVE_INGESTION_QUEUE=queue), schema_context(tenant_world.tenant.schema_name):
                return document_upload(
                    tenant=tenant_world.tenant, user=tenant_world.admin, filename=filename, data=data
                ).document

        document = in_own_connection(store)
        created.append((tenant_world, document))
        return document

    def remove():
        for tenant_world, document in created:
            with schema_context(tenant_world.tenant.schema_name):
                document_delete(tenant=tenant_world.tenant, document=document, actor=tenant_world.admin)

    upload.queue = queue
    yield upload
    in_own_connection(remove)


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _version(schema: str, document: Document) -> DocumentVersion:
    with schema_context(schema):
        return DocumentVersion.objects.get(document_id=document.pk)


def test_one_tenants_backlog_does_not_hold_back_another_tenants_document(committed):
    broken = committed("a", "locked.pdf", example("pdf_password.pdf"))
    backlog = [committed("a", f"a-{n}.txt", f"tenant a backlog document number {n}".encode()) for n in range(12)]
    single = committed("b", "b.txt", b"tenant b has a single urgent document")

    with celery_worker(queue=committed.queue) as worker:
        _wait(
            lambda: (
                all(_version("tenant_a", d).status == IngestionStatus.INDEXED for d in backlog)
                and _version("tenant_b", single).status == IngestionStatus.INDEXED
            ),
            240,
            "all documents indexed",
        )

        assert worker.poll() is None, "the worker died"
    assert _version("tenant_a", broken).status == IngestionStatus.FAILED
    assert "password-protected" in _version("tenant_a", broken).error
    finished = sorted(
        [(_version("tenant_a", d).indexed_at, "a") for d in backlog] + [(_version("tenant_b", single).indexed_at, "b")]
    )
    position = [tenant for _at, tenant in finished].index("b") + 1
    assert position <= 4, f"tenant b's document finished {position}th of {len(finished)}"


def test_a_worker_killed_mid_document_leaves_it_to_the_next_worker_with_no_duplicate_or_missing_chunk(committed):
    articles = [json.loads(line) for line in COVID.open().readlines()[:3]]
    text = "\n\n".join(f"# {a['title'] or 'Article'}\n\n{a['text']}" for a in articles)
    document = committed("a", "long.md", text.encode())

    with celery_worker(queue=committed.queue) as first:
        _wait(
            lambda: (v := _version("tenant_a", document)).status == IngestionStatus.EMBEDDING and v.progress >= 40,
            240,
            "embedding to be under way",
        )
        first.kill()
        first.wait()
    stuck = _version("tenant_a", document)
    assert stuck.status == IngestionStatus.EMBEDDING
    with schema_context("tenant_a"):
        assert Chunk.objects.filter(document_id=document.public_id).count() == 0

    time.sleep(2.5)
    with celery_worker(queue=committed.queue, extra_env={"ENCLAVE_INGESTION_STALE_SECONDS": "2"}):
        done = _wait(
            lambda: (v := _version("tenant_a", document)).status == IngestionStatus.INDEXED and v,
            240,
            "the next worker to finish the document",
        )

    with schema_context("tenant_a"):
        rows = list(Chunk.objects.filter(document_id=document.public_id).values_list("id", "ordinal", "version"))
    assert done.attempts == 2
    expected = chunk_elements(parse("md", text.encode()), tokenizer=embedder().tokenizer)
    assert len(rows) == done.chunk_count == len(expected) > 50
    assert sorted(ordinal for _id, ordinal, _v in rows) == list(range(done.chunk_count))
    assert len({chunk_id for chunk_id, _o, _v in rows}) == len(rows)
