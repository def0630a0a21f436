"""The one module that speaks HTTP to model servers, so tests, timeouts and connection reuse have a
single seam. It knows HTTP and server-sent events, not tenants or budgets (see client.py)."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from django.conf import settings

from inference.errors import ContextTooLong, LlmBadResponse, LlmTimeout, LlmUnavailable

CONNECT_TIMEOUT = 2.0
_client: httpx.Client | None = None


@dataclass(frozen=True)
class ServerState:
    ok: bool
    detail: str
    models: tuple[str, ...] = ()


def client() -> httpx.Client:
    """One pooled client per process: no connection setup per request."""
    global _client
    if _client is None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=16, keepalive_expiry=30)
        _client = httpx.Client(limits=limits, http2=False)
    return _client


def url_of(path: str, base_url: str | None = None) -> str:
    return (base_url or settings.LLM_BASE_URL).rstrip("/") + path


def llm_server_state(*, base_url: str | None = None, timeout: float = 2.0) -> ServerState:
    """Ask an OpenAI-compatible server which models it serves (GET /models)."""
    url = url_of("/models", base_url)
    try:
        response = client().get(url, headers=_headers(), timeout=timeout)
        response.raise_for_status()
        models = tuple(item.get("id", "") for item in response.json().get("data", []))
    except (httpx.HTTPError, ValueError) as exc:
        return ServerState(ok=False, detail=f"{type(exc).__name__}: {exc}"[:300])
    return ServerState(ok=True, detail=url, models=models)


def engine_metrics_text(*, base_url: str | None = None, timeout: float = 1.0) -> str:
    """The server's own Prometheus exposition (GET /metrics at the server's root, beside /v1)."""
    url = (base_url or settings.LLM_BASE_URL).rstrip("/").removesuffix("/v1") + "/metrics"
    with _sending():
        response = client().get(url, headers=_headers(), timeout=timeout)
    if response.status_code >= 400:
        raise _server_error(response.status_code, response.content)
    return response.text


def engine_lora_adapters(*, base_url: str | None = None, timeout: float = 1.0) -> list[dict]:
    """The adapters llama.cpp's server loaded at its start (GET /lora-adapters): [{"id", "path", "scale"}]."""
    url = (base_url or settings.LLM_BASE_URL).rstrip("/").removesuffix("/v1") + "/lora-adapters"
    with _sending():
        response = client().get(url, headers=_headers(), timeout=timeout)
    if response.status_code >= 400:
        raise _server_error(response.status_code, response.content)
    return response.json()


def _headers(extra: dict | None = None) -> dict:
    headers = {"accept": "text/event-stream, application/json", **(extra or {})}
    if settings.LLM_API_KEY:
        headers["authorization"] = f"Bearer {settings.LLM_API_KEY}"
    return headers


def _server_error(status: int, body: bytes) -> Exception:
    try:
        detail = json.loads(body)
        message = detail.get("error", detail)
        message = message.get("message", message) if isinstance(message, dict) else message
    except (ValueError, AttributeError):
        message = body[:300].decode(errors="replace")
    text = str(message)[:300]
    lowered = text.lower()
    if status in (400, 413) and ("context" in lowered or "too long" in lowered or "maximum" in lowered):
        return ContextTooLong(f"the model server refused the prompt as too long: {text}")
    if status in (502, 503, 504):
        return LlmUnavailable(f"the model server is unavailable ({status}): {text}")
    return LlmBadResponse(f"the model server answered {status}: {text}")


def _timeouts(read_timeout: float) -> httpx.Timeout:
    return httpx.Timeout(connect=CONNECT_TIMEOUT, read=read_timeout, write=10.0, pool=5.0)


@contextmanager
def _sending():
    """httpx's failures while sending a request, as the typed errors callers handle."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise (LlmUnavailable if isinstance(exc, httpx.ConnectTimeout) else LlmTimeout)(
            f"the model server did not answer in time ({type(exc).__name__})"
        ) from exc
    except httpx.TransportError as exc:
        raise LlmUnavailable(f"cannot reach the model server ({type(exc).__name__})") from exc


def post_json(path: str, body: dict, *, read_timeout: float, base_url: str | None = None, headers=None) -> dict:
    with _sending():
        response = client().post(
            url_of(path, base_url), json=body, headers=_headers(headers), timeout=_timeouts(read_timeout)
        )
    if response.status_code >= 400:
        raise _server_error(response.status_code, response.content)
    try:
        return response.json()
    except ValueError as exc:
        raise LlmBadResponse("the model server's answer is not JSON") from exc


def stream_events(
    path: str, body: dict, *, read_timeout: float, base_url: str | None = None, headers=None
) -> Iterator[dict]:
    """The JSON payloads of a server-sent-event stream, until `data: [DONE]`.

    Closing the iterator closes the connection, which is how a server learns to stop generating.
    """
    request = client().build_request(
        "POST", url_of(path, base_url), json=body, headers=_headers(headers), timeout=_timeouts(read_timeout)
    )
    with _sending():
        response = client().send(request, stream=True)
    try:
        if response.status_code >= 400:
            raise _server_error(response.status_code, response.read())
        yield from _sse_payloads(response)
    except httpx.TimeoutException as exc:
        raise LlmTimeout("the model server stopped sending mid-answer") from exc
    except httpx.TransportError as exc:
        raise LlmUnavailable(f"the model server dropped the connection mid-answer ({type(exc).__name__})") from exc
    finally:
        response.close()


def _sse_payloads(response: httpx.Response) -> Iterator[dict]:
    for line in response.iter_lines():
        if not line or line.startswith(":"):
            continue  # keep-alive or comment
        field, _, value = line.partition(":")
        if field != "data":
            continue
        value = value.strip()
        if value == "[DONE]":
            return
        try:
            payload = json.loads(value)
        except ValueError as exc:
            raise LlmBadResponse(f"the model server sent a malformed event: {value[:100]!r}") from exc
        if not isinstance(payload, dict):
            raise LlmBadResponse("the model server sent an event that is not an object")
        if "error" in payload:
            error = payload["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise LlmBadResponse(f"the model server reported an error mid-answer: {str(message)[:300]}")
        yield payload
