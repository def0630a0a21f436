"""Writes to the chunk table. Ingestion is the only writer; search only reads."""

import uuid
from dataclasses import dataclass

import numpy as np
from django.db import transaction

from retrieval.models import Chunk

CHUNK_NAMESPACE = uuid.UUID("6f1c1c52-5d3a-4c1e-9a57-2f0c4b1d9e11")


@dataclass(frozen=True)
class ChunkRow:
    ordinal: int
    text: str
    section: str
    page: int | None
    token_count: int
    content_hash: str
    embedding: np.ndarray


def chunk_id(*, document_id: uuid.UUID, version: int, ordinal: int, content_hash: str) -> uuid.UUID:
    return uuid.uuid5(CHUNK_NAMESPACE, f"{document_id}:{version}:{ordinal}:{content_hash}")


def chunks_replace(
    *,
    document_id: uuid.UUID,
    version: int,
    rows: list[ChunkRow],
    acl_principals: list[str],
    embedding_model: str,
    metadata: dict,
) -> int:
    """Swap a document's chunks for those of `version` in one transaction: readers see all old
    rows or all new rows, never a mix or none. Running it twice leaves the same rows."""
    with transaction.atomic():
        Chunk.objects.filter(document_id=document_id).delete()
        Chunk.objects.bulk_create(
            [
                Chunk(
                    id=chunk_id(
                        document_id=document_id, version=version, ordinal=row.ordinal, content_hash=row.content_hash
                    ),
                    document_id=document_id,
                    version=version,
                    ordinal=row.ordinal,
                    text=row.text,
                    content_hash=row.content_hash,
                    page=row.page,
                    section=row.section[:500],
                    token_count=row.token_count,
                    acl_principals=acl_principals,
                    embedding=row.embedding,
                    embedding_model=embedding_model,
                    embedding_dimensions=len(row.embedding),
                    metadata=metadata,
                )
                for row in rows
            ],
            batch_size=500,
        )
    return len(rows)


def chunks_delete_for_document(*, document_id: uuid.UUID) -> int:
    deleted, _ = Chunk.objects.filter(document_id=document_id).delete()
    return deleted


def chunks_acl_update(*, document_id: uuid.UUID, acl_principals: list[str]) -> int:
    return Chunk.objects.filter(document_id=document_id).update(acl_principals=acl_principals)


def embeddings_known(*, content_hashes: list[str], embedding_model: str) -> dict[str, list[float]]:
    """Embeddings this tenant already computed for the same text and model: never embed twice."""
    known = (
        Chunk.objects.filter(content_hash__in=content_hashes, embedding_model=embedding_model)
        .values_list("content_hash", "embedding")
        .distinct("content_hash")
        .order_by("content_hash")
    )
    return dict(known)
