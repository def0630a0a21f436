from django.apps import AppConfig


class IngestionConfig(AppConfig):
    """Documents and the parse -> chunk -> embed -> index pipeline (issue: ingestion)."""

    name = "ingestion"
