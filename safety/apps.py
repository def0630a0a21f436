from django.apps import AppConfig


class SafetyConfig(AppConfig):
    """Moderation, prompt-injection screening and PII redaction (issue: safety)."""

    name = "safety"
