"""Re-indexing a tenant after an embedding-model change, with no time when search has no index."""

import hashlib

import numpy as np
import pytest
from django_tenants.utils import schema_context

from core.api import ServiceError
from ingestion.index_rebuild import embedding_index_rebuild
from ingestion.tasks import document_reembed
from retrieval import embeddings
from retrieval.embeddings import MODEL_NAME, Embedder
from retrieval.models import Chunk, EmbeddingIndex
from retrieval.selectors import active_embedding_model
from tenants.tasking import TENANT_KWARG

pytestmark = pytest.mark.django_db
NEW_MODEL = "tests/hashing-384"


class HashingModel:
    """A deterministic stand-in for a second embedding model (only one ships offline)."""

    def __init__(self):
        self.tokenizer = embeddings.embedder(MODEL_NAME).tokenizer

    def encode(self, texts, **_options):
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, int(hashlib.sha256(word.encode()).hexdigest(), 16) % 384] += 1
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


@pytest.fixture(autouse=True)
def _second_model():
    embeddings.register(NEW_MODEL, lambda: Embedder(model=HashingModel(), name=NEW_MODEL, dimensions=384))
    yield
    embeddings.LOADERS.pop(NEW_MODEL, None)
    embeddings._loaded.pop(NEW_MODEL, None)


def _counts() -> dict:
    with schema_context("tenant_a"):
        return {model: Chunk.objects.filter(embedding_model=model).count() for model in (MODEL_NAME, NEW_MODEL)}


def _reembed(document) -> None:
    document_reembed.apply(
        kwargs={TENANT_KWARG: "tenant_a", "document_id": str(document.public_id), "model_name": NEW_MODEL}
    )


def test_search_reads_the_old_index_until_every_document_is_in_the_new_one(ingest, tenant_a):
    first = ingest(tenant_a, "one.txt", ("Pallets are stacked three high in aisle four. " * 40).encode())
    second = ingest(tenant_a, "two.txt", ("Forklift drivers renew their licence every year. " * 40).encode())
    before = _counts()[MODEL_NAME]

    with schema_context("tenant_a"):
        queued = embedding_index_rebuild(tenant=tenant_a.tenant, model_name=NEW_MODEL)
    _reembed(first)

    halfway = _counts()
    with schema_context("tenant_a"):
        assert active_embedding_model() == MODEL_NAME
    assert queued == 2
    assert halfway[MODEL_NAME] == before
    assert halfway[NEW_MODEL] == first.chunk_count

    _reembed(second)

    after = _counts()
    with schema_context("tenant_a"):
        assert active_embedding_model() == NEW_MODEL
        states = dict(EmbeddingIndex.objects.values_list("model_name", "state"))
    assert after == {MODEL_NAME: 0, NEW_MODEL: first.chunk_count + second.chunk_count}
    assert states == {MODEL_NAME: "retired", NEW_MODEL: "active"}


def test_a_document_uploaded_during_a_rebuild_is_indexed_with_both_models(ingest, tenant_a):
    ingest(tenant_a, "one.txt", b"Inventory is counted on the last Friday of each month.")
    with schema_context("tenant_a"):
        embedding_index_rebuild(tenant=tenant_a.tenant, model_name=NEW_MODEL)

    during = ingest(tenant_a, "late.txt", b"Returns are accepted within thirty days with a receipt.")

    with schema_context("tenant_a"):
        models = set(Chunk.objects.filter(document_id=during.public_id).values_list("embedding_model", flat=True))
    assert models == {MODEL_NAME, NEW_MODEL}


def test_a_second_rebuild_while_one_runs_is_refused(ingest, tenant_a):
    ingest(tenant_a, "one.txt", b"Some text to index.")
    with schema_context("tenant_a"):
        embedding_index_rebuild(tenant=tenant_a.tenant, model_name=NEW_MODEL)

        with pytest.raises(ServiceError, match="already under way"):
            embedding_index_rebuild(tenant=tenant_a.tenant, model_name=NEW_MODEL)


def test_changing_the_configured_model_alone_does_not_switch_what_search_reads(ingest, tenant_a, settings):
    ingest(tenant_a, "one.txt", b"Some text to index.")

    settings.ENCLAVE_EMBEDDING_MODEL = NEW_MODEL

    with schema_context("tenant_a"):
        assert active_embedding_model() == MODEL_NAME


def test_an_unknown_model_is_a_clear_error(tenant_a):
    with schema_context("tenant_a"), pytest.raises(LookupError, match="unknown embedding model"):
        embedding_index_rebuild(tenant=tenant_a.tenant, model_name="nope/nothing")
