"""The one module that speaks HTTP to model servers, so tests and timeouts have a single seam."""

from dataclasses import dataclass

import httpx
from django.conf import settings


@dataclass(frozen=True)
class ServerState:
    ok: bool
    detail: str
    models: tuple[str, ...] = ()


def llm_server_state(*, base_url: str | None = None, timeout: float = 2.0) -> ServerState:
    """Ask an OpenAI-compatible server which models it serves (GET /models)."""
    url = (base_url or settings.LLM_BASE_URL).rstrip("/") + "/models"
    try:
        response = httpx.get(url, timeout=timeout)
        response.raise_for_status()
        models = tuple(item.get("id", "") for item in response.json().get("data", []))
    except (httpx.HTTPError, ValueError) as exc:
        return ServerState(ok=False, detail=f"{type(exc).__name__}: {exc}"[:300])
    return ServerState(ok=True, detail=url, models=models)


class LlmError(Exception):
    """The model server could not give an answer (down, timed out, or an unusable reply)."""


def chat_complete(
    messages: list[dict],
    *,
    max_tokens: int,
    temperature: float = 0.0,
    timeout: float = 20.0,
    base_url: str | None = None,
) -> str:
    """One non-streaming chat completion; the text of its first choice."""
    url = (base_url or settings.LLM_BASE_URL).rstrip("/") + "/chat/completions"
    body = {"model": settings.LLM_MODEL, "messages": messages, "max_tokens": max_tokens, "temperature": temperature}
    try:
        response = httpx.post(url, json=body, timeout=httpx.Timeout(timeout, connect=2.0))
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"] or ""
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise LlmError(f"{type(exc).__name__}: {exc}"[:300]) from exc
