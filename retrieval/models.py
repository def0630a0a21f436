from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from pgvector.django import HnswIndex, VectorField

EMBEDDING_DIMENSIONS = 384


class Chunk(models.Model):
    """A passage of one document version, as search sees it.

    Text, its tsvector and its embedding stay plaintext inside the tenant's schema because search
    needs them; the original file is encrypted. `acl_principals` is matched inside the search SQL.
    The id is derived from document, version, position and content, so re-indexing writes the same rows.
    """

    id = models.UUIDField(primary_key=True)
    document_id = models.UUIDField(db_index=True)
    version = models.PositiveIntegerField()
    ordinal = models.PositiveIntegerField()
    text = models.TextField()
    content_hash = models.CharField(max_length=64, db_index=True)
    page = models.PositiveIntegerField(null=True, blank=True)
    section = models.CharField(max_length=500, blank=True)
    token_count = models.PositiveIntegerField()
    acl_principals = ArrayField(models.CharField(max_length=80))
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    embedding_model = models.CharField(max_length=100)
    embedding_dimensions = models.PositiveIntegerField(default=EMBEDDING_DIMENSIONS)
    search_vector = models.GeneratedField(
        expression=SearchVector("text", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    metadata = models.JSONField(default=dict, blank=True)
    # Set at ingestion by safety.injection: e.g. "instruction" (text addressed to the assistant),
    # "hidden:zero_width", "hidden:css". A flagged passage never reaches a prompt as it is.
    safety_flags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["document_id", "version", "ordinal", "embedding_model"], name="chunk_position_unique"
            )
        ]
        indexes = [
            HnswIndex(
                name="chunk_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            GinIndex(fields=["search_vector"], name="chunk_search_vector_gin"),
            GinIndex(fields=["acl_principals"], name="chunk_acl_gin"),
        ]


class EmbeddingIndex(models.Model):
    """Which embedding model's chunks search reads in this tenant.

    After a model change, a rebuild fills a BUILDING index beside the ACTIVE one; search keeps
    reading the active one until every document is in the new one, then they swap in one transaction.
    No row at all means the configured default model is active.
    """

    class State(models.TextChoices):
        BUILDING = "building"
        ACTIVE = "active"
        RETIRED = "retired"

    model_name = models.CharField(max_length=100, unique=True)
    dimensions = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=State.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
