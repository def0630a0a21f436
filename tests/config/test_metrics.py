"""Prometheus metrics (issue #16 item 4): after a real upload (ingested by a Celery worker process) and
a real answer through the ASGI server, the operator's scrape of /metrics shows the series moved."""

import io
import json
import logging
import time

import pytest
import requests
from django_tenants.utils import schema_context
from prometheus_client.parser import text_string_to_metric_families

from core.logging import ContextFilter, JsonFormatter, access_log
from inference.models import LlmCall
from tests.inference.fake_llm import FakeLlm
from tests.processes import celery_worker, in_own_connection, web_server

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

MEMO = b"The Oslo office moves to Bergen in March 2027. The lease ends in February."


def scrape(base_url: str, key: str | None) -> dict[tuple[str, tuple], float]:
    headers = {"Host": "localhost", **({"Authorization": f"Bearer {key}"} if key else {})}
    response = requests.get(f"{base_url}/metrics", headers=headers, timeout=30)
    response.raise_for_status()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(samples: dict, name: str, **labels) -> float:
    wanted = set(labels.items())
    return sum(value for (sample, found), value in samples.items() if sample == name and wanted <= set(found))


def _forget_model_calls():
    """The web server's model calls were committed; later tests count tenant A's calls against limits."""
    with schema_context("tenant_a"):
        LlmCall.objects.all().delete()


def test_a_scrape_after_an_upload_and_an_answer_shows_the_series_moved(world):
    tenant_a, operator = world["a"], world["operator"]
    fake = FakeLlm()
    fake.answer("The Oslo office moves to Bergen in March 2027 [1].")
    with celery_worker() as worker, fake.running():
        env = {"LLM_BASE_URL": fake.base_url, "ENCLAVE_INGESTION_QUEUE": worker.queue, "ENCLAVE_QUOTE_SCORE": "1"}
        with web_server(extra_env=env) as port:
            base_url = f"http://127.0.0.1:{port}"
            api = {"Host": tenant_a.host, "Authorization": f"Bearer {tenant_a.admin_key}"}
            before = scrape(base_url, operator.key)

            uploaded = requests.post(
                f"{base_url}/api/v1/documents/", headers=api, files={"files": ("oslo.txt", MEMO)}, timeout=60
            )
            assert uploaded.status_code == 201, uploaded.text
            document = uploaded.json()["documents"][0]["id"]
            deadline = time.monotonic() + 180
            while requests.get(f"{base_url}/api/v1/documents/{document}/", headers=api, timeout=30).json()[
                "status"
            ] not in ("indexed", "failed"):
                assert time.monotonic() < deadline, "the worker did not ingest the upload"
                time.sleep(0.5)
            conversation = requests.post(
                f"{base_url}/api/v1/conversations/", headers=api, json={"title": "metrics"}, timeout=30
            ).json()["id"]
            answered = requests.post(
                f"{base_url}/api/v1/conversations/{conversation}/messages/",
                headers=api,
                json={"content": "When does the Oslo office move to Bergen?", "stream": False},
                timeout=120,
            )
            assert answered.status_code in (200, 201), answered.text
            after = scrape(base_url, operator.key)
            refused = requests.get(f"{base_url}/metrics", headers={"Host": "localhost"}, timeout=30)
            member = requests.get(f"{base_url}/metrics", headers=api, timeout=30)
            requests.delete(f"{base_url}/api/v1/documents/{document}/", headers=api, timeout=30)
            requests.delete(f"{base_url}/api/v1/conversations/{conversation}/", headers=api, timeout=30)
    in_own_connection(_forget_model_calls)

    def moved(name: str, **labels) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    upload_route = {"route": "ingestion:document-list", "method": "POST", "status": "201"}
    assert moved("enclave_http_request_duration_seconds_count", **upload_route) == 1
    assert moved("enclave_llm_time_to_first_token_seconds_count") >= 1
    assert moved("enclave_llm_tokens_total", direction="completion") > 0
    assert moved("enclave_llm_calls_total", status="complete") >= 1
    assert moved("enclave_moderation_decisions_total", role="user") >= 1
    assert moved("enclave_ingestion_versions", tenant="tenant_a", status="indexed") == 1
    assert total(after, "enclave_ingestion_queue_depth", tenant="tenant_a") == 0
    assert moved("enclave_ingestion_indexed_last_hour", tenant="tenant_a") == 1
    assert moved("enclave_ingestion_indexed_bytes_last_hour", tenant="tenant_a") > 0
    assert refused.status_code in (401, 403) and refused.json()["error"]
    assert member.status_code in (401, 403, 404)  # a tenant's key is no operator's


def test_every_request_leaves_a_json_access_line_with_its_request_id(client):
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    access_log.addHandler(handler)
    try:
        response = client.get("/health/live", HTTP_HOST="localhost", HTTP_X_REQUEST_ID="req-123")
    finally:
        access_log.removeHandler(handler)

    entry = json.loads(lines.getvalue().splitlines()[-1])
    assert response["X-Request-ID"] == "req-123" and entry["request_id"] == "req-123"
    assert entry["route"] == "health-live" and entry["status"] == 200 and entry["method"] == "GET"
    assert entry["ms"] >= 0 and entry["logger"] == "enclave.access"
