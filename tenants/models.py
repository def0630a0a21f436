from django.conf import settings
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Tenant(TenantMixin):
    """An organisation on the appliance. Its content lives in its own PostgreSQL schema."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"

    name = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.CharField(max_length=200, blank=True)
    storage_quota_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    llm_requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    llm_tokens_per_day = models.PositiveBigIntegerField(null=True, blank=True)
    # With nothing relevant in the documents, answer from the model's own knowledge, labelled as such.
    allow_ungrounded_answers = models.BooleanField(default=False)
    # The answer settings in force ({"name": ..., "settings": {...}}, chat/answer/variants.py): an experiment's
    # promoted treatment; empty means the appliance's defaults.
    answer_variant = models.JSONField(default=dict, blank=True)
    # Whether the tenant's admins may read answer traces, which hold members' questions and answers. Opening
    # takes two people (chat/conversations/trace_access.py): the admin who asked waits here for a second
    # admin or an operator.
    admin_reads_traces = models.BooleanField(default=False)
    admin_reads_traces_since = models.DateTimeField(null=True, blank=True)
    trace_access_requested_by = models.UUIDField(null=True, blank=True)
    # May consenting conversations and feedback reach a training export? Off until a tenant admin says so.
    training_consent = models.BooleanField(default=False)
    training_consent_changed_at = models.DateTimeField(null=True, blank=True)
    # Conversations (with their messages, traces and feedback) and traces older than this are deleted.
    conversation_retention_days = models.PositiveIntegerField(null=True, blank=True)
    trace_retention_days = models.PositiveIntegerField(null=True, blank=True)
    usage = models.JSONField(default=dict, blank=True)
    usage_computed_at = models.DateTimeField(null=True, blank=True)

    # Schemas are created and dropped only by tenants.services, inside its transactions.
    auto_create_schema = False
    auto_drop_schema = False

    def __str__(self) -> str:
        return self.name

    @property
    def storage_quota(self) -> int:
        return self.storage_quota_bytes or settings.ENCLAVE_TENANT_QUOTA_BYTES

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Domain(DomainMixin):
    """A host name that resolves to a tenant's pages (e.g. acme.localhost)."""


class TenantKey(models.Model):
    """A tenant's data key, wrapped by the key-encryption key. Deleting it crypto-shreds the tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="keys")
    version = models.PositiveIntegerField()
    wrapped_key = models.BinaryField()
    kek_id = models.CharField(max_length=16)
    # "kek": wrapped by the KEK itself (keys made before tenant secrets existed);
    # "tenant-secret": wrapped by a key derived from the KEK and the tenant's secret in the key store.
    wrapping = models.CharField(max_length=16, default="kek")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "version"], name="tenant_key_version_unique")]


class ApiKeyRoute(models.Model):
    """Public index from an API key's prefix to the schema that holds the key (null: operators)."""

    prefix = models.CharField(max_length=16, unique=True)
    tenant = models.ForeignKey(Tenant, null=True, on_delete=models.CASCADE, related_name="api_key_routes")


class TenantSecret(models.Model):
    """A tenant's secret (tenants/tenant_secrets.py), wrapped by the KEK: kept in the database, so
    every host has it. `tenant_id` is no foreign key: secrets are managed by id, as in the file store."""

    tenant_id = models.BigIntegerField(unique=True)
    wrapped = models.BinaryField()
    kek_id = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
