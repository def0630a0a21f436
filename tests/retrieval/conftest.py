import datetime
import hashlib
import uuid

import pytest
from django_tenants.utils import schema_context

from retrieval import sql
from retrieval.embeddings import embedder
from retrieval.services import ChunkRow, chunks_replace
from tenants.accounts.selectors import EVERYONE


def plant(
    world,
    texts: list[str],
    *,
    acl: list[str] | None = None,
    title: str = "planted",
    kind: str = "md",
    tags: list[str] | None = None,
    uploaded_at: datetime.datetime | None = None,
) -> str:
    """Index `texts` as the chunks of one new document of `world`'s tenant, with real embeddings; its id."""
    document_id = uuid.uuid4()
    model = embedder()
    vectors = model.embed(texts)
    rows = [
        ChunkRow(
            ordinal=ordinal,
            text=text,
            section=title,
            page=1,
            token_count=len(text.split()),
            content_hash=hashlib.sha256(text.encode()).hexdigest(),
            embedding=vector,
        )
        for ordinal, (text, vector) in enumerate(zip(texts, vectors, strict=True))
    ]
    metadata = {
        "title": title,
        "filename": f"{title}.{kind}",
        "kind": kind,
        "tags": tags or [],
        "uploaded_at": (uploaded_at or datetime.datetime.now(datetime.UTC)).isoformat(),
    }
    with schema_context(world.tenant.schema_name):
        chunks_replace(
            document_id=document_id,
            version=1,
            rows_by_model={model.name: rows},
            acl_principals=acl or [EVERYONE],
            metadata=metadata,
        )
    return str(document_id)


def group_principal(group) -> str:
    return f"group:{group.public_id}"


def user_principals(world, user) -> list[str]:
    from tenants.accounts.selectors import user_principals as principals_of

    with schema_context(world.tenant.schema_name):
        return principals_of(user=user)


@pytest.fixture
def library(tenant_a):
    """Tenant A's small library: three public documents and one only the finance group may read."""
    return {
        "cats": plant(
            tenant_a,
            ["Domestic cats sleep for most of the day and hunt small rodents at night."],
            title="cats",
            tags=["animals"],
        ),
        "taxes": plant(
            tenant_a,
            ["The quarterly VAT return must be filed with the tax office within thirty days."],
            title="taxes",
            kind="pdf",
            tags=["finance", "tax"],
        ),
        "contracts": plant(
            tenant_a,
            ["A contract requires an offer, an acceptance and consideration to be binding."],
            title="contracts",
            kind="docx",
            tags=["legal"],
            uploaded_at=datetime.datetime(2024, 1, 15, tzinfo=datetime.UTC),
        ),
        "secret": plant(
            tenant_a,
            ["Project Zanzibar merger: the acquisition price is 42 million euros, approved by the board."],
            title="zanzibar",
            acl=[group_principal(tenant_a.finance_group)],
            tags=["finance"],
        ),
    }


@pytest.fixture(params=["visible-scan", "indexed"])
def full_text_path(request, monkeypatch):
    """Both ways full text runs: over the caller's few visible rows, or through the GIN index."""
    if request.param == "indexed":
        monkeypatch.setattr(sql, "FEW_VISIBLE", 0)
    return request.param
