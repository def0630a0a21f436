from django.conf import settings
from django.db import models


class PolicyVersion(models.Model):
    """One version of a tenant's safety policy: a region profile and per-category actions that may
    only be stricter than the appliance's floor. Append-only; the newest version is in force."""

    number = models.PositiveIntegerField(unique=True)
    region = models.CharField(max_length=16, default="default")
    overrides = models.JSONField(default=dict, blank=True)  # category -> "caution" | "refuse"
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
