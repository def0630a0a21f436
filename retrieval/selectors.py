from django.conf import settings

from retrieval.models import Chunk, EmbeddingIndex


def active_embedding_model() -> str:
    """The model whose chunks search reads (and embeds queries with) in the current tenant."""
    active = EmbeddingIndex.objects.filter(state=EmbeddingIndex.State.ACTIVE).values_list("model_name", flat=True)
    return active.first() or settings.ENCLAVE_EMBEDDING_MODEL


def building_embedding_model() -> str | None:
    building = EmbeddingIndex.objects.filter(state=EmbeddingIndex.State.BUILDING).values_list("model_name", flat=True)
    return building.first()


def index_models() -> list[str]:
    """Every model a newly indexed document must be embedded with: the active one, and one being built."""
    models = [active_embedding_model()]
    building = building_embedding_model()
    if building and building not in models:
        models.append(building)
    return models


def documents_readable(*, principals: list[str], ids) -> set:
    """The ids among `ids` of documents still indexed whose ACL names one of `principals` (the ACL search
    applies, inside the query). A tenant admin is no exception: managing the library is not reading it."""
    ids = set(ids)
    if not ids:
        return set()
    chunks = Chunk.objects.filter(document_id__in=ids, acl_principals__overlap=principals)
    return set(chunks.order_by().values_list("document_id", flat=True).distinct())


def chunks_readable(*, principals: list[str], ids) -> set[str]:
    """The ids (as text) among `ids` of chunks still indexed whose ACL names one of `principals`."""
    ids = {str(chunk_id) for chunk_id in ids}
    if not ids:
        return set()
    chunks = Chunk.objects.filter(id__in=ids, acl_principals__overlap=principals)
    return {str(chunk_id) for chunk_id in chunks.values_list("id", flat=True)}
