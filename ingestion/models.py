import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class IngestionStatus(models.TextChoices):
    QUEUED = "queued"
    PARSING = "parsing"
    CHUNKING = "chunking"
    EMBEDDING = "embedding"
    INDEXED = "indexed"
    FAILED = "failed"


class Document(models.Model):
    """A document of the tenant, readable by the principals in `acl_principals`.

    `status` and `progress` follow the newest version; `current_version` is the version search
    serves, which stays in place while a newer version is processed or after one fails.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=300)
    filename = models.CharField(max_length=255)
    acl_principals = ArrayField(models.CharField(max_length=80))
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=IngestionStatus.choices, default=IngestionStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    latest_version = models.PositiveIntegerField(default=0)
    current_version = models.PositiveIntegerField(null=True, blank=True)
    page_count = models.PositiveIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)
    # An answer whose context held a passage of this document never reaches a training export.
    no_train = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status"], name="document_status")]


class DocumentVersion(models.Model):
    """One uploaded content of a document. The file is stored once per SHA-256, encrypted."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.PositiveBigIntegerField()
    file_kind = models.CharField(max_length=16)
    mime_type = models.CharField(max_length=120)
    status = models.CharField(max_length=16, choices=IngestionStatus.choices, default=IngestionStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_by = models.CharField(max_length=120, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    page_count = models.PositiveIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)
    embedding_model = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    indexed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="document_version_unique")]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="version_status_heartbeat")]


class StoredOriginal(models.Model):
    """An original file in this tenant's schema, once per SHA-256 of its content; its bytes are in
    `OriginalPart`s of at most 1 MiB, each encrypted with the tenant's data key."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size_bytes = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)


class OriginalPart(models.Model):
    original = models.ForeignKey(StoredOriginal, on_delete=models.CASCADE, related_name="parts")
    ordinal = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["original", "ordinal"], name="original_part_unique")]
