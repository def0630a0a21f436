from django.apps import AppConfig


class InferenceConfig(AppConfig):
    """The LLM seam: HTTP to OpenAI-compatible servers and the embedded llama.cpp engine (its metrics too)."""

    name = "inference"

    def ready(self):
        from core.metrics import REGISTRY
        from inference import adapters, metering
        from inference.engine_metrics import EngineCollector
        from tenants.erasure import erased

        erased.connect(metering.on_erased, dispatch_uid="inference.erasure")
        erased.connect(adapters.on_erased, dispatch_uid="inference.adapters.erasure")
        REGISTRY.register(EngineCollector())
