import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models


class LlmCall(models.Model):
    """One request to a model server on behalf of this tenant: what it cost and how it went."""

    class Status(models.TextChoices):
        COMPLETE = "complete"
        INCOMPLETE = "incomplete"  # cancelled, or failed after part of the answer arrived
        FAILED = "failed"
        REFUSED = "refused"  # rate limit, quota or context length: never sent
        # Admitted and counted against the limits, at its prompt estimate and max_tokens, until it finishes.
        SENDING = "sending"

    user_id = models.UUIDField(null=True, blank=True)
    purpose = models.CharField(max_length=40)
    model = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    error_code = models.CharField(max_length=40, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    ttft_ms = models.FloatField(null=True, blank=True)
    duration_ms = models.FloatField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    @property
    def tokens_per_second(self) -> float | None:
        decode_ms = self.duration_ms - (self.ttft_ms or 0)
        if self.completion_tokens < 2 or decode_ms <= 0:
            return None
        return (self.completion_tokens - 1) / (decode_ms / 1000)


class Adapter(models.Model):
    """A LoRA adapter trained on this tenant's data (alignment/), served only to this tenant's answers.

    Its lineage is the ids of the conversations, documents and people whose data it learnt from (from the
    training export's manifest, never the content): erasing or withdrawing any of them retires it."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        RETIRED = "retired"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=64, unique=True)  # what a variant names and the engine serves
    label = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    public_data_only = models.BooleanField(default=False)
    run_id = models.UUIDField(null=True, blank=True)  # the alignment run that made it
    card = models.JSONField(default=dict)
    conversation_ids = ArrayField(models.UUIDField(), default=list)
    document_ids = ArrayField(models.UUIDField(), default=list)
    user_ids = ArrayField(models.UUIDField(), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_reason = models.CharField(max_length=200, blank=True)
