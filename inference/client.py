"""The client every part of the appliance uses to talk to an LLM: any OpenAI-compatible server.

- Retries (bounded, with backoff) only before the first event of an answer: a half-sent answer is
  never silently restarted.
- A circuit breaker per server turns a dead server into a fast LlmUnavailable.
- Streams stop the server when the caller goes away: closing a ChatStream (or dropping it) closes
  the connection (tested: the server sees the disconnect; stopping decoding is the server's job).
- Every call is metered in the tenant's schema (inference.metering), limits are checked first, and
  the prompt is checked against the context window before anything is sent.
- A per-tenant `cache_salt` keeps the server's prefix cache from being shared across tenants (vLLM's
  request field). llama.cpp's server has no such field: for it (ENCLAVE_LLM_PARTITION_LINE, on by default)
  the salt also leads the prompt as its first line, so a prompt can share a prefix only with prompts of
  its own tenant, in a slot or in the server's prompt cache (inference/embedded_server.py).
"""

import hashlib
import hmac
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from core import metrics
from inference import adapters, budget, metering, transport
from inference.breaker import CircuitBreaker
from inference.errors import ContextTooLong, LlmBadResponse, LlmError, LlmRateLimited, LlmTimeout, LlmUnavailable
from inference.models import LlmCall

logger = logging.getLogger(__name__)
RETRYABLE = (LlmUnavailable, LlmTimeout)
breaker = CircuitBreaker(threshold=3, cooldown=30.0)


@dataclass
class Generation:
    """What an answer came to: the text so far, whether it is complete, and what it cost."""

    text: str = ""
    finish_reason: str | None = None
    complete: bool = False
    error: LlmError | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    ttft_ms: float | None = None
    duration_ms: float = 0.0
    attempts: int = 0


def cache_salt(schema_name: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"llm-prefix-cache:{schema_name}".encode(), hashlib.sha256).hexdigest()[:32]


HEX_AS_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def partitioned(messages: list[dict], salt: str) -> list[dict]:
    """The messages with the tenant's partition line leading the first one (its role unchanged)."""
    line = f"Workspace {salt[:12].translate(HEX_AS_LETTERS)}."  # letters only: the same token estimate for all
    first, *rest = messages
    if isinstance(first.get("content"), str):
        return [{**first, "content": f"{line}\n\n{first['content']}"}, *rest]
    return [{"role": "system", "content": line}, *messages]


def _tenant_messages(messages: list[dict]) -> list[dict]:
    if connection.schema_name == "public" or not messages or not settings.ENCLAVE_LLM_PARTITION_LINE:
        return messages
    return partitioned(messages, cache_salt(connection.schema_name))


def adapters_known() -> list[str]:
    """Adapter names the current tenant's requests may name: the operator's shared ones and the tenant's own
    (inference/adapters.py)."""
    return adapters.known()


def adapters_served() -> list[str]:
    """Of those, the ones the model server applies now."""
    return adapters.served()


def _with_adapter(body: dict, adapter: str | None) -> dict:
    """vLLM applies an adapter named as the model; llama.cpp's server one listed by id in `lora`.

    llama.cpp's server (the build in xllamacpp 2026.10) reuses a slot's prompt prefix read under another
    adapter's weights, so a base answer after an adapted one came out different: while the embedded engine
    has adapters loaded, no request reuses a prompt (tests/inference/test_embedded_engine.py)."""
    engine = adapters.engine_ids()
    if adapter:
        body["model"] = adapter
        if adapter in settings.ENCLAVE_EMBEDDED_LORA_NAMES:
            body["lora"] = [{"id": settings.ENCLAVE_EMBEDDED_LORA_NAMES.index(adapter), "scale": 1.0}]
        elif adapter in engine:
            body["lora"] = [{"id": engine[adapter], "scale": 1.0}]
    if settings.ENCLAVE_EMBEDDED_LORA_NAMES or engine:
        body["cache_prompt"] = False
    return body


def _body(
    messages, *, max_tokens: int, temperature: float, stream: bool, model: str | None = None, adapter: str | None = None
) -> dict:
    body = {
        "model": model or settings.LLM_MODEL,
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "stream": stream,
    }
    if connection.schema_name != "public":
        body["cache_salt"] = cache_salt(connection.schema_name)
    return _with_adapter(body, adapter)


def _server(base_url: str | None) -> str:
    return (base_url or settings.LLM_BASE_URL).rstrip("/")


def _allowed(adapter: str | None) -> str | None:
    """The adapter, if this tenant may name it and the server applies it now; a retired, foreign or not yet
    loaded one is not applied: the base model answers (and is metered as such)."""
    if adapter and adapter not in adapters_served():
        logger.warning("adapter %s is not served to this tenant now; the base model answers", adapter)
        return None
    return adapter


class _Call:
    """The bookkeeping shared by streaming and plain calls: limits, budget, breaker, retries, metering."""

    def __init__(self, messages, *, max_tokens, purpose, user_id, base_url, headers, adapter=None, partition=True):
        self.messages = _tenant_messages(messages) if partition else messages
        self.max_tokens, self.purpose = max_tokens, purpose
        self.user_id, self.adapter = user_id, _allowed(adapter)
        self.base_url, self.headers = base_url, headers
        self.server = _server(base_url)
        self.generation = Generation()
        self.started = time.perf_counter()
        self.metered = False
        self.reserved: int | None = None  # the metering row slot_reserve wrote when the call was admitted

    def admit(self) -> None:
        try:
            self.generation.prompt_tokens = budget.check_fits(
                self.messages, max_tokens=self.max_tokens, context_tokens=settings.LLM_CONTEXT_TOKENS
            )
            breaker.before(self.server)  # an open circuit refuses before anything is counted
            self.reserved = metering.slot_reserve(
                user_id=self.user_id,
                purpose=self.purpose,
                model=self.adapter or settings.LLM_MODEL,
                prompt_tokens=self.generation.prompt_tokens,
                max_tokens=self.max_tokens,
            )
        except (LlmRateLimited, ContextTooLong) as exc:
            self.finish(exc, status=LlmCall.Status.REFUSED)
            raise

    def with_retries(self, attempt_once):
        while True:
            self.generation.attempts += 1
            try:
                return attempt_once()
            except RETRYABLE as exc:
                if self.generation.attempts > settings.LLM_RETRIES:
                    self.fail(exc)
                    raise
                time.sleep(0.2 * 2 ** (self.generation.attempts - 1))
            except LlmError as exc:
                self.fail(exc)
                raise

    def fail(self, exc: LlmError) -> None:
        if not isinstance(exc, ContextTooLong):
            breaker.failed(self.server)
        status = LlmCall.Status.INCOMPLETE if self.generation.text else LlmCall.Status.FAILED
        self.finish(exc, status=status)

    def finish(self, exc: LlmError | None = None, *, status: str) -> None:
        if self.metered:
            return
        self.metered = True
        generation = self.generation
        generation.error = exc
        generation.duration_ms = (time.perf_counter() - self.started) * 1000
        if status == LlmCall.Status.COMPLETE:
            generation.complete = True
            breaker.succeeded(self.server)
        outcome = {
            "purpose": self.purpose,
            "status": status,
            "error_code": exc.code if exc else "",
            "prompt_tokens": generation.prompt_tokens if status != LlmCall.Status.REFUSED else 0,
            "completion_tokens": generation.completion_tokens,
            "ttft_ms": generation.ttft_ms,
        }
        metrics.llm_call_observe(**outcome)
        metering.record(
            **outcome,
            user_id=self.user_id,
            model=self.adapter or settings.LLM_MODEL,
            duration_ms=generation.duration_ms,
            attempts=generation.attempts,
            reserved=self.reserved,
        )


class ChatStream:
    """Iterate for the answer's text deltas; `generation` holds what has arrived so far.

    On a failure mid-answer the typed error is raised after the partial text, which stays in
    `generation` with complete=False. `close()` (or leaving a `with` block) cancels the answer.
    """

    def __init__(self, call: _Call, *, temperature: float, read_timeout: float):
        self._call, self._temperature, self._read_timeout = call, temperature, read_timeout
        self._events: Iterator[dict] | None = None
        self._iterator = self._run()

    @property
    def generation(self) -> Generation:
        return self._call.generation

    def __iter__(self):
        return self

    def __next__(self) -> str:
        return next(self._iterator)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self) -> None:
        self._iterator.close()

    def _open(self) -> dict:
        body = _body(
            self._call.messages,
            max_tokens=self._call.max_tokens,
            temperature=self._temperature,
            stream=True,
            adapter=self._call.adapter,
        )
        self._events = transport.stream_events(
            "/chat/completions",
            body,
            read_timeout=self._read_timeout,
            base_url=self._call.base_url,
            headers=self._call.headers,
        )
        first = next(self._events, None)
        if first is None:
            raise LlmBadResponse("the model server closed the stream before answering")
        return first

    def _run(self) -> Iterator[str]:
        call, generation = self._call, self._call.generation
        call.admit()
        first = call.with_retries(self._open)
        try:
            for payload in _chain(first, self._events):
                delta, finish_reason = _delta(payload)
                if delta:
                    if generation.ttft_ms is None:
                        generation.ttft_ms = (time.perf_counter() - call.started) * 1000
                    generation.text += delta
                    generation.completion_tokens += 1
                    yield delta
                generation.finish_reason = finish_reason or generation.finish_reason
                usage = payload.get("usage") or {}
                generation.completion_tokens = usage.get("completion_tokens", generation.completion_tokens)
            if generation.finish_reason is None:
                raise LlmBadResponse("the model server ended the stream without finishing the answer")
        except LlmError as exc:
            call.fail(exc)
            raise
        except GeneratorExit:
            generation.finish_reason = "cancelled"
            call.finish(status=LlmCall.Status.INCOMPLETE)
            raise
        finally:
            self._events.close()
        call.finish(status=LlmCall.Status.COMPLETE)


def _chain(first: dict, rest: Iterator[dict]) -> Iterator[dict]:
    yield first
    yield from rest


def _delta(payload: dict) -> tuple[str, str | None]:
    try:
        choice = (payload.get("choices") or [{}])[0]
        return (choice.get("delta") or {}).get("content") or "", choice.get("finish_reason")
    except (AttributeError, IndexError, TypeError) as exc:
        raise LlmBadResponse("the model server sent an event without the expected fields") from exc


def chat_stream(
    messages: list[dict],
    *,
    max_tokens: int,
    temperature: float = 0.2,
    purpose: str = "chat",
    user_id=None,
    conversation: str | None = None,
    read_timeout: float | None = None,
    base_url: str | None = None,
    adapter: str | None = None,
) -> ChatStream:
    headers = {"x-enclave-conversation": conversation} if conversation else {}
    call = _Call(
        messages,
        max_tokens=max_tokens,
        purpose=purpose,
        user_id=user_id,
        base_url=base_url,
        headers=headers,
        adapter=adapter,
    )
    return ChatStream(call, temperature=temperature, read_timeout=read_timeout or settings.LLM_READ_TIMEOUT)


def chat_complete(
    messages: list[dict],
    *,
    max_tokens: int,
    temperature: float = 0.0,
    purpose: str = "chat",
    user_id=None,
    read_timeout: float | None = None,
    base_url: str | None = None,
    model: str | None = None,
    adapter: str | None = None,
    partition: bool = True,
) -> Generation:
    """One answer without streaming (the server's own usage numbers are kept when it sends them).
    `partition=False` leaves the messages as given (a guard model's exact prompt format; its server is
    expected to honour `cache_salt`, as vLLM does)."""
    call = _Call(
        messages,
        partition=partition,
        max_tokens=max_tokens,
        purpose=purpose,
        user_id=user_id,
        base_url=base_url,
        headers={},
        adapter=adapter,
    )
    call.admit()
    body = _body(
        call.messages, max_tokens=max_tokens, temperature=temperature, stream=False, model=model, adapter=call.adapter
    )

    def send() -> dict:
        return transport.post_json(
            "/chat/completions", body, read_timeout=read_timeout or settings.LLM_READ_TIMEOUT, base_url=base_url
        )

    answer = call.with_retries(send)
    generation = call.generation
    try:
        choice = answer["choices"][0]
        generation.text = choice["message"].get("content") or ""
        generation.finish_reason = choice.get("finish_reason") or "stop"
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        error = LlmBadResponse("the model server's answer lacks choices[0].message")
        call.fail(error)
        raise error from exc
    usage = answer.get("usage") or {}
    generation.prompt_tokens = usage.get("prompt_tokens", generation.prompt_tokens)
    generation.completion_tokens = usage.get("completion_tokens", budget.count_tokens(generation.text))
    generation.ttft_ms = None
    call.finish(status=LlmCall.Status.COMPLETE)
    return generation
