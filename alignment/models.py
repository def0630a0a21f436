import uuid

from django.db import models


class AlignmentRun(models.Model):
    """One run of a recipe over one of this tenant's training exports; its adapter is inference.Adapter."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        DISCARDED = "discarded"  # what it learnt from was erased or withdrawn while it trained

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    recipe = models.JSONField()
    export_id = models.UUIDField(null=True, blank=True)  # the training export it reads (chat.TrainingExport)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.JSONField(default=dict)  # {"stage", "step", "steps", "loss"}
    metrics = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    adapter_name = models.CharField(max_length=64, blank=True)
    evaluation_run_id = models.UUIDField(null=True, blank=True)
    requested_by = models.CharField(max_length=150, blank=True)  # an operator, by name
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
