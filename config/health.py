"""Liveness (the process answers) and readiness (database, broker, LLM server)."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from kombu import Connection

from inference.client import breaker
from inference.transport import llm_server_state


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
    except Exception as exc:  # any database failure means not ready
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:300]}
    if row is None:
        return {"ok": False, "detail": "the vector extension is not installed"}
    return {"ok": True, "detail": f"pgvector {row[0]}"}


def _broker() -> dict:
    try:
        with Connection(
            settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS, connect_timeout=2
        ) as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
            transport = broker.transport_cls
    except Exception as exc:  # any broker failure means not ready
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "detail": str(transport)}


def _llm() -> dict:
    state = llm_server_state()
    circuit = "open" if breaker.is_open(settings.LLM_BASE_URL.rstrip("/")) else "closed"
    return {"ok": state.ok, "detail": state.detail, "models": list(state.models), "circuit": circuit}


def live(request):
    return JsonResponse({"status": "ok"})


def ready(request):
    """503 when the database or broker is down; "degraded" (200) when only the LLM server is:
    ingestion and search still work without it, chat does not."""
    checks = {"database": _database(), "broker": _broker(), "llm": _llm()}
    if not (checks["database"]["ok"] and checks["broker"]["ok"]):
        status, code = "unavailable", 503
    elif not checks["llm"]["ok"]:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JsonResponse({"status": status, "checks": checks}, status=code)
