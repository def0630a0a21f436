from django.apps import AppConfig


class IngestionConfig(AppConfig):
    """Documents and the parse -> chunk -> embed -> index pipeline (issue: ingestion)."""

    name = "ingestion"

    def ready(self):
        from core.metrics import REGISTRY
        from ingestion import storage
        from ingestion.metrics import IngestionCollector
        from tenants.erasure import erased
        from tenants.usage import usage_counted

        REGISTRY.register(IngestionCollector())
        erased.connect(storage.on_erased, dispatch_uid="ingestion.storage.erasure")
        usage_counted.connect(storage.on_usage_counted, dispatch_uid="ingestion.storage.usage")
