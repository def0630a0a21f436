from django.apps import AppConfig


class RetrievalConfig(AppConfig):
    """Chunks and ACL-filtered hybrid search (issue: retrieval)."""

    name = "retrieval"
