"""Prometheus metrics (prometheus_client), served to operators at /metrics on the public host.

Counted where things happen in the web process: requests by route (`MetricsMiddleware`), model calls
(inference/client.py), moderation decisions (safety/moderation.py). Apps register collectors that read
the database at scrape time (ingestion/metrics.py), so the workers need no endpoint of their own.
Each web process has its own counters: scrape every process (every pod), as Prometheus does by
default."""

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

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
