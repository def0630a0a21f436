"""Evaluation runs and their metrics, kept in the public schema so runs can be compared over time.

A run measured one variant (a named bundle of answer settings, identified by the fingerprint of its
settings) on one dataset; each metric row carries its value, its 95% interval when it is a rate, the
number of items behind it and, for per-category breakdowns, the category."""

import uuid

from django.db import models


class EvaluationRun(models.Model):
    class Kind(models.TextChoices):
        ANSWERS = "answers"
        SAFETY = "safety"
        RETRIEVAL = "retrieval"
        TRAINING = "training"  # an alignment run: its losses, of the variant naming its adapter

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    dataset = models.CharField(max_length=200)
    variant = models.CharField(max_length=100, default="default")
    variant_fingerprint = models.CharField(max_length=64, db_index=True)
    variant_settings = models.JSONField(default=dict)
    machine = models.CharField(max_length=300)
    commit = models.CharField(max_length=40, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "variant_fingerprint", "finished_at"], name="run_kind_variant_time")]


class Metric(models.Model):
    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="metrics")
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=100, blank=True)  # a per-category row; blank for the whole set
    value = models.FloatField()
    low = models.FloatField(null=True)  # the 95% interval, for rates
    high = models.FloatField(null=True)
    n = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "name", "category"], name="metric_unique_per_run")]
