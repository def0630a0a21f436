"""Structured logs: one JSON object per line, carrying the request id, tenant and user."""

import contextvars
import json
import logging
import time
import uuid
from datetime import UTC, datetime

from core.pii import redact

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
tenant_var: contextvars.ContextVar[str] = contextvars.ContextVar("tenant", default="public")
user_var: contextvars.ContextVar[str] = contextvars.ContextVar("user", default="-")

_RECORD_ATTRIBUTES = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.tenant = tenant_var.get()
        record.user = user_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()).text,  # content should never be logged; if it is, no PII
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = redact(value).text if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info)).text
        return json.dumps(entry, default=str)


access_log = logging.getLogger("enclave.access")


class RequestContextMiddleware:
    """Give every request an id (or keep the caller's X-Request-ID) for logs and audit entries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex
        tokens = [request_id_var.set(request.request_id)]
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            access_log.info(
                "%s %s %s",
                request.method,
                match.view_name if match else "unmatched",
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path[:200],
                    "route": match.view_name if match else "",
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        finally:
            for token in tokens:
                request_id_var.reset(token)
            tenant_var.set("public")
            user_var.set("-")
        response["X-Request-ID"] = request.request_id
        return response
