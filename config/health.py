"""Liveness (the process answers) and readiness (database, broker, LLM server).

Readiness is for the operator's probes: it is not answered on a tenant's host (404), and says only what
is up or down unless an operator key is sent; failure details (exception text, addresses) need one.
"""

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import JsonResponse
from django.http.request import split_domain_port
from kombu import Connection

from config.celery import app as celery_app
from core.api import error_response
from inference.client import breaker
from inference.transport import llm_server_state
from tenants import selectors
from tenants.accounts.models import User


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


def readiness_checks() -> dict:
    return {"database": _database(), "broker": _broker(), "llm": _llm()}


def workers() -> dict:
    """Celery workers that answer a ping within a second, by name."""
    try:
        replies = celery_app.control.ping(timeout=1.0)
    except Exception as exc:  # a broker failure: no worker can be reached
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:300], "names": []}
    names = sorted(name for reply in replies for name in reply)
    return {"ok": bool(names), "detail": f"{len(names)} answering", "names": names}


def live(request):
    return JsonResponse({"status": "ok"})


def _on_a_tenant_host(request) -> bool:
    try:
        host, _port = split_domain_port(request.get_host())
    except DisallowedHost:
        return True  # not a host this appliance serves: nothing to say there
    return selectors.tenant_for_host(host=host).tenant is not None


def _from_an_operator(request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    outcome = selectors.api_key_resolve(raw_key=token.strip())
    return bool(not outcome.error and outcome.tenant is None and outcome.api_key.user.role == User.Role.OPERATOR)


def ready(request):
    """503 when the database or broker is down; "degraded" (200) when only the LLM server is:
    ingestion and search still work without it, chat does not."""
    if _on_a_tenant_host(request):
        return error_response(status=404, code="not_found", message="Readiness is answered on the operator's host.")
    checks = readiness_checks()
    if not (checks["database"]["ok"] and checks["broker"]["ok"]):
        status, code = "unavailable", 503
    elif not checks["llm"]["ok"]:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    if not _from_an_operator(request):
        checks = {name: {"ok": check["ok"]} for name, check in checks.items()}
    return JsonResponse({"status": status, "checks": checks}, status=code)
