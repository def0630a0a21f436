from django.apps import AppConfig


class InferenceConfig(AppConfig):
    """The LLM seam: HTTP to OpenAI-compatible servers and the embedded llama.cpp engine."""

    name = "inference"
