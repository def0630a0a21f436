from django.conf import settings

from retrieval.models import EmbeddingIndex


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
