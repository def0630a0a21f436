"""Optional OpenTelemetry tracing (ENCLAVE_OTEL_TRACING=on): spans for every HTTP request (Django),
every Celery task, sent and run, with the trace carried from the request to the worker, and every
model call (httpx), exported over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT.

The exporter, sampler and batch settings are OpenTelemetry's own environment variables
(OTEL_EXPORTER_OTLP_*, OTEL_TRACES_SAMPLER, OTEL_BSP_*). Spans carry routes, methods, statuses,
task names and timings; never bodies, prompts or answers, and URLs lose their query strings (a
search's words are a tenant's data)."""

import os

from django.conf import settings

_started = False

URL_ATTRIBUTES = ("http.url", "http.target", "url.full")


def _without_query(span, _request) -> None:
    if not span.is_recording():
        return
    attributes = getattr(span, "attributes", None) or {}
    for name in URL_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str) and "?" in value:
            span.set_attribute(name, value.split("?", 1)[0])
    if "url.query" in attributes:
        span.set_attribute("url.query", "")


def tracing_start(service_name: str) -> bool:
    """Install the tracer and the instrumentations once per process; False when tracing is off."""
    global _started
    if _started or not settings.ENCLAVE_OTEL_TRACING:
        return _started
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service_name}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument(request_hook=_without_query)
    CeleryInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()
    _started = True
    return True
