import pytest

from tests.processes import llama_server

pytestmark = pytest.mark.django_db


def test_liveness_answers_on_any_host(client):
    assert client.get("/health/live", HTTP_HOST="unknown.localhost").json() == {"status": "ok"}


def test_readiness_reports_database_and_broker_and_a_missing_llm_as_degraded(client, settings):
    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"

    response = client.get("/health/ready")

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
def test_readiness_is_ok_with_the_embedded_llama_cpp_server(client, settings):
    with llama_server() as base_url:
        settings.LLM_BASE_URL = base_url
        body = client.get("/health/ready").json()

    assert body["status"] == "ok"
    assert body["checks"]["llm"]["models"] == ["smollm2-135m-instruct"]
