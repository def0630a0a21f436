"""Writes to the chunk table. Ingestion is the only writer; search only reads."""

import uuid
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone

from core.api import ServiceError
from retrieval.models import Chunk, EmbeddingIndex


class IndexRebuildError(ServiceError):
    pass


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
    safety_flags: tuple[str, ...] = ()


def chunk_id(*, document_id: uuid.UUID, version: int, ordinal: int, content_hash: str) -> uuid.UUID:
    return uuid.uuid5(CHUNK_NAMESPACE, f"{document_id}:{version}:{ordinal}:{content_hash}")


def _chunk_objects(*, document_id, version, rows, acl_principals, embedding_model, metadata) -> list[Chunk]:
    return [
        Chunk(
            id=chunk_id(document_id=document_id, version=version, ordinal=row.ordinal, content_hash=row.content_hash),
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
            safety_flags=list(row.safety_flags),
        )
        for row in rows
    ]


def chunks_replace(
    *,
    document_id: uuid.UUID,
    version: int,
    rows_by_model: dict[str, list[ChunkRow]],
    acl_principals: list[str],
    metadata: dict,
    only_model: bool = False,
) -> int:
    """Swap a document's chunks for those of `version` (one set per embedding model) in one
    transaction: readers see all old rows or all new rows, never a mix or none. Idempotent.

    With `only_model`, only the given models' rows are replaced and other models' rows keep
    serving (an index rebuild)."""
    stale = Chunk.objects.filter(document_id=document_id)
    if only_model:
        stale = stale.filter(embedding_model__in=list(rows_by_model))
    with transaction.atomic():
        stale.delete()
        for model_name, rows in rows_by_model.items():
            Chunk.objects.bulk_create(
                _chunk_objects(
                    document_id=document_id,
                    version=version,
                    rows=rows,
                    acl_principals=acl_principals,
                    embedding_model=model_name,
                    metadata=metadata,
                ),
                batch_size=500,
            )
    return sum(len(rows) for rows in rows_by_model.values())


def embedding_index_pin(*, model_name: str, dimensions: int) -> None:
    """Record the model of the tenant's first indexed chunks as active, so a configuration change
    later cannot silently switch search to a model the stored chunks were not embedded with."""
    if not EmbeddingIndex.objects.filter(state=EmbeddingIndex.State.ACTIVE).exists():
        EmbeddingIndex.objects.get_or_create(
            model_name=model_name,
            defaults={"dimensions": dimensions, "state": EmbeddingIndex.State.ACTIVE, "activated_at": timezone.now()},
        )


def embedding_index_start(*, model_name: str, dimensions: int) -> EmbeddingIndex:
    with transaction.atomic():
        if EmbeddingIndex.objects.select_for_update().filter(state=EmbeddingIndex.State.BUILDING).exists():
            raise IndexRebuildError("a rebuild of this tenant's index is already under way")
        index, _created = EmbeddingIndex.objects.update_or_create(
            model_name=model_name,
            defaults={"dimensions": dimensions, "state": EmbeddingIndex.State.BUILDING, "activated_at": None},
        )
    return index


def embedding_index_activate(*, model_name: str) -> int:
    """Make `model_name` the active index and drop every other model's chunks, in one transaction."""
    with transaction.atomic():
        EmbeddingIndex.objects.select_for_update().filter(state=EmbeddingIndex.State.ACTIVE).update(
            state=EmbeddingIndex.State.RETIRED
        )
        EmbeddingIndex.objects.filter(model_name=model_name).update(
            state=EmbeddingIndex.State.ACTIVE, activated_at=timezone.now()
        )
        dropped, _ = Chunk.objects.exclude(embedding_model=model_name).delete()
    return dropped


def chunks_delete_for_document(*, document_id: uuid.UUID) -> int:
    deleted, _ = Chunk.objects.filter(document_id=document_id).delete()
    return deleted


def chunks_acl_update(*, document_id: uuid.UUID, acl_principals: list[str]) -> int:
    return Chunk.objects.filter(document_id=document_id).update(acl_principals=acl_principals)


def chunks_metadata_update(*, document_id: uuid.UUID, metadata: dict) -> int:
    return Chunk.objects.filter(document_id=document_id).update(metadata=metadata)


def embeddings_known(*, content_hashes: list[str], embedding_model: str) -> dict[str, list[float]]:
    """Embeddings this tenant already computed for the same text and model: never embed twice."""
    known = (
        Chunk.objects.filter(content_hash__in=content_hashes, embedding_model=embedding_model)
        .values_list("content_hash", "embedding")
        .distinct("content_hash")
        .order_by("content_hash")
    )
    return dict(known)
