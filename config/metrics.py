"""Prometheus metrics (prometheus_client), served to operators at /metrics on the public host.

Counted where things happen in the web process: requests by route (`MetricsMiddleware`), model calls
(inference/client.py), moderation decisions (safety/moderation.py). Ingestion (depth and
throughput, whichever worker did the work) is read from the database at scrape time, so the workers
need no endpoint of their own. Each web process has its own
counters: scrape every process (every pod), as Prometheus does by default."""

import time
from datetime import timedelta

from django.db.models import Count, Sum
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

REGISTRY = CollectorRegistry(auto_describe=True)
SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUEST_SECONDS = Histogram(
    "enclave_http_request_duration_seconds",
    "Time from a request's arrival to its response headers (a stream's body is not included), by route",
    ["route", "method", "status"],
    buckets=SECONDS,
    registry=REGISTRY,
)
LLM_TTFT_SECONDS = Histogram(
    "enclave_llm_time_to_first_token_seconds",
    "Time from sending a model call to its first token",
    ["purpose"],
    buckets=SECONDS,
    registry=REGISTRY,
)
LLM_TOKENS = Counter("enclave_llm_tokens", "Tokens of model calls", ["direction"], registry=REGISTRY)
LLM_CALLS = Counter("enclave_llm_calls", "Model calls by how they ended", ["status"], registry=REGISTRY)
LLM_ERRORS = Counter("enclave_llm_errors", "Failed or refused model calls by error kind", ["kind"], registry=REGISTRY)
MODERATION = Counter(
    "enclave_moderation_decisions",
    "Moderation decisions by category (none: nothing found), action and whose text",
    ["category", "action", "role"],
    registry=REGISTRY,
)


class IngestionCollector:
    """Document versions per tenant and status, the queue depth (not yet indexed nor failed) and
    the throughput: versions and bytes indexed in the last hour, by any worker."""

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                "enclave_ingestion_versions", "Document versions by tenant and status", labels=["tenant", "status"]
            ),
            GaugeMetricFamily(
                "enclave_ingestion_queue_depth", "Document versions waiting or being ingested", labels=["tenant"]
            ),
            GaugeMetricFamily(
                "enclave_ingestion_indexed_last_hour", "Document versions indexed in the last hour", labels=["tenant"]
            ),
            GaugeMetricFamily(
                "enclave_ingestion_indexed_bytes_last_hour",
                "Bytes of the document versions indexed in the last hour",
                labels=["tenant"],
            ),
        )

    def describe(self):  # registering must not query the database
        return self._families()

    def collect(self):
        versions, depth, recent, recent_bytes = self._families()
        for schema, counts, last_hour in ingestion_by_tenant():
            for status, n in counts.items():
                versions.add_metric([schema, status], n)
            depth.add_metric([schema], queue_depth(counts))
            recent.add_metric([schema], last_hour["n"])
            recent_bytes.add_metric([schema], last_hour["size"] or 0)
        return versions, depth, recent, recent_bytes


def ingestion_by_tenant() -> list[tuple[str, dict, dict]]:
    """(schema, versions by status, indexed in the last hour) for every tenant."""
    from ingestion.models import DocumentVersion, IngestionStatus
    from tenants.models import Tenant

    hour_ago = timezone.now() - timedelta(hours=1)
    found = []
    schemas = Tenant.objects.exclude(schema_name=get_public_schema_name()).values_list("schema_name", flat=True)
    for schema in schemas:
        with schema_context(schema):
            counts = dict(DocumentVersion.objects.values_list("status").annotate(n=Count("id")))
            last_hour = DocumentVersion.objects.filter(
                status=IngestionStatus.INDEXED, indexed_at__gte=hour_ago
            ).aggregate(n=Count("id"), size=Sum("size_bytes"))
        found.append((schema, {status: counts.get(status, 0) for status in IngestionStatus.values}, last_hour))
    return found


def queue_depth(counts: dict) -> int:
    """Versions waiting or being ingested: neither indexed nor failed."""
    return sum(n for status, n in counts.items() if status not in ("indexed", "failed"))


REGISTRY.register(IngestionCollector())


def exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def llm_call_observe(*, purpose: str, status: str, error_code: str, prompt_tokens, completion_tokens, ttft_ms) -> None:
    LLM_CALLS.labels(status).inc()
    if error_code:
        LLM_ERRORS.labels(error_code).inc()
    LLM_TOKENS.labels("prompt").inc(prompt_tokens or 0)
    LLM_TOKENS.labels("completion").inc(completion_tokens or 0)
    if ttft_ms is not None:
        LLM_TTFT_SECONDS.labels(purpose).observe(ttft_ms / 1000)


class MetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.view_name if match else "unmatched"
        REQUEST_SECONDS.labels(route, request.method, str(response.status_code)).observe(time.perf_counter() - started)
        return response
