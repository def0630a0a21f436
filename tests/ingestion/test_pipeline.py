import json

import pytest
from django.conf import settings
from django_tenants.utils import schema_context

from ingestion.models import IngestionStatus
from retrieval.embeddings import MODEL_NAME
from retrieval.models import Chunk

pytestmark = pytest.mark.django_db
COVID = settings.ENCLAVE_CORPORA_DIR / "covid-qa-dev" / "corpus.jsonl"


def _article() -> dict:
    return json.loads(COVID.open().readline())


def test_a_long_text_document_is_chunked_embedded_and_indexed(ingest, tenant_a):
    article = _article()
    text = f"# {article['title'] or 'Article'}\n\n" + article["text"]

    document = ingest(tenant_a, "article.md", text.encode())

    assert document.status == IngestionStatus.INDEXED
    assert document.progress == 100
    with schema_context("tenant_a"):
        chunks = list(Chunk.objects.filter(document_id=document.public_id).order_by("ordinal"))
    assert document.chunk_count == len(chunks) > 10
    assert [chunk.ordinal for chunk in chunks] == list(range(len(chunks)))
    assert all(chunk.embedding_model == MODEL_NAME and len(chunk.embedding) == 384 for chunk in chunks)
    assert all(chunk.token_count <= 200 for chunk in chunks)
    assert chunks[0].acl_principals == ["tenant:everyone"]
