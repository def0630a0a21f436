import re

import httpx
import pytest

from tests.processes import llama_server

pytestmark = pytest.mark.django_db


def test_liveness_answers_on_any_host(client):
    assert client.get("/health/live", HTTP_HOST="unknown.localhost").json() == {"status": "ok"}


def test_readiness_reports_database_and_broker_and_a_missing_llm_as_degraded(client, settings, operator):
    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"

    response = client.get("/health/ready", HTTP_AUTHORIZATION=f"Bearer {operator.key}")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == {"ok": True, "detail": "pgvector 0.8.5"}
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["llm"]["ok"] is False


def test_readiness_is_503_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


@pytest.mark.integration
def test_readiness_is_ok_with_the_embedded_llama_cpp_server(client, settings, operator):
    with llama_server() as base_url:
        settings.LLM_BASE_URL = base_url
        body = client.get("/health/ready", HTTP_AUTHORIZATION=f"Bearer {operator.key}").json()

    assert body["status"] == "ok"
    assert body["checks"]["llm"]["models"] == ["smollm2-135m-instruct"]


def test_readiness_without_an_operator_key_says_only_what_is_down(client, settings, tenant_a):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    anonymous = client.get("/health/ready")
    with_a_tenant_key = client.get("/health/ready", HTTP_AUTHORIZATION=f"Bearer {tenant_a.admin_key}")

    for response in (anonymous, with_a_tenant_key):
        assert response.status_code == 503
        assert response.json()["checks"] == {"database": {"ok": True}, "broker": {"ok": False}, "llm": {"ok": False}}
        assert "127.0.0.1" not in response.content.decode() and "Error" not in response.content.decode()


def test_readiness_is_not_answered_on_a_tenants_host(client, tenant_a):
    response = client.get("/health/ready", HTTP_HOST=tenant_a.host)

    assert response.status_code == 404 and "checks" not in response.json()
    assert client.get("/health/live", HTTP_HOST=tenant_a.host).status_code == 200


def test_the_system_page_shows_the_engine_slots_queue_and_rates(client, settings, operator):
    client.force_login(operator.user)
    with llama_server() as base_url:
        settings.LLM_BASE_URL = base_url
        httpx.post(
            f"{base_url}/chat/completions", json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3}
        )
        page = client.get("/system/", HTTP_HOST="localhost").content.decode()
    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"
    without_engine = client.get("/system/", HTTP_HOST="localhost").content.decode()

    cells = dict(re.findall(r'data-engine="(\w+)">([^<]*)<', page))
    assert cells, page[:3000]
    assert cells["slots_busy"] == "0.0" and cells["queued"] == "0.0"
    assert float(cells["generation_rate"]) > 0 and float(cells["prompt_rate"]) > 0
    assert 'id="engine-unreachable"' in without_engine and "data-engine=" not in without_engine
