from django.apps import AppConfig


class InferenceConfig(AppConfig):
    """The LLM seam: HTTP to OpenAI-compatible servers and the embedded llama.cpp engine (its metrics too)."""

    name = "inference"

    def ready(self):
        from config.metrics import REGISTRY
        from inference.engine_metrics import EngineCollector
        from inference.metering import on_erased
        from tenants.erasure import erased

        erased.connect(on_erased, dispatch_uid="inference.erasure")
        REGISTRY.register(EngineCollector())
