"""Rebuilding the embedding index with another model while search keeps reading the active one."""

from django.conf import settings
from django.db import transaction

from ingestion.models import Document
from retrieval import services as chunk_services
from retrieval.embeddings import embedder
from retrieval.models import Chunk, EmbeddingIndex
from tenants.accounts.audit import audit_record
from tenants.accounts.models import User
from tenants.models import Tenant
from tenants.tasking import tenant_task_send

REEMBED_TASK = "ingestion.document_reembed"


def embedding_index_rebuild(*, tenant: Tenant, model_name: str, actor: User | None = None) -> int:
    """Start embedding every served document with `model_name` beside the active index.

    Search keeps reading the active index; when the last document is done the two swap in one
    transaction (embedding_index_finish_if_complete). Returns how many documents were queued.
    """
    model = embedder(model_name)
    with transaction.atomic():
        chunk_services.embedding_index_start(model_name=model.name, dimensions=model.dimensions)
        documents = list(Document.objects.filter(current_version__isnull=False).values_list("public_id", flat=True))
        audit_record(
            action="index.rebuild_started", actor=actor, detail={"model": model.name, "documents": len(documents)}
        )
        for public_id in documents:
            transaction.on_commit(
                lambda public_id=public_id: tenant_task_send(
                    REEMBED_TASK,
                    tenant=tenant,
                    queue=settings.ENCLAVE_INGESTION_QUEUE,
                    priority=9,
                    document_id=str(public_id),
                    model_name=model.name,
                )
            )
        if not documents:
            chunk_services.embedding_index_activate(model_name=model.name)
    return len(documents)


def embedding_index_finish_if_complete(*, model_name: str) -> bool:
    """Swap to the rebuilt index once every served document has chunks from `model_name`."""
    with transaction.atomic():
        building = EmbeddingIndex.objects.select_for_update().filter(
            model_name=model_name, state=EmbeddingIndex.State.BUILDING
        )
        if not building.exists():
            return False
        done = Chunk.objects.filter(embedding_model=model_name).values("document_id")
        if Document.objects.filter(current_version__isnull=False).exclude(public_id__in=done).exists():
            return False
        dropped = chunk_services.embedding_index_activate(model_name=model_name)
        audit_record(action="index.rebuild_finished", detail={"model": model_name, "old_chunks_dropped": dropped})
    return True
