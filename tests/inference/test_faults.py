"""Every way a model server fails becomes a typed error, in bounded time, with the partial answer
kept and marked incomplete, and nothing left open."""

import time

import pytest

from inference.client import chat_complete, chat_stream
from inference.errors import ContextTooLong, LlmBadResponse, LlmTimeout, LlmUnavailable
from inference.models import LlmCall

pytestmark = pytest.mark.django_db

HELLO = [{"role": "user", "content": "Say hello."}]


def drain(stream) -> list[str]:
    return list(stream)


def test_a_healthy_stream_is_complete_and_metered(fake_llm, in_tenant_a):
    stream = chat_stream(HELLO, max_tokens=16, user_id=in_tenant_a.finance.public_id)

    assert "".join(drain(stream)) == "Hello there."
    assert stream.generation.complete and stream.generation.finish_reason == "stop"
    call = LlmCall.objects.get()
    assert call.status == "complete" and call.completion_tokens == 3 and call.user_id == in_tenant_a.finance.public_id
    assert call.ttft_ms is not None and call.attempts == 1


def test_a_server_that_is_down_is_a_clear_503_after_bounded_retries(in_tenant_a, settings):
    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"

    with pytest.raises(LlmUnavailable) as raised:
        drain(chat_stream(HELLO, max_tokens=16))

    assert raised.value.status_code == 503
    call = LlmCall.objects.get()
    assert call.status == "failed" and call.error_code == "llm_unavailable"
    assert call.attempts == 1 + settings.LLM_RETRIES


def test_the_circuit_opens_and_then_fails_fast_without_calling(fake_llm, in_tenant_a, fresh_breaker):
    fake_llm.scenario = "unavailable"
    for _ in range(3):
        with pytest.raises(LlmUnavailable):
            drain(chat_stream(HELLO, max_tokens=16))
    sent = len(fake_llm.requests)

    with pytest.raises(LlmUnavailable, match="tries again in"):
        drain(chat_stream(HELLO, max_tokens=16))

    assert len(fake_llm.requests) == sent
    assert fresh_breaker.is_open(fake_llm.base_url)


def test_the_circuit_lets_a_trial_through_after_the_cooldown(fake_llm, in_tenant_a, monkeypatch):
    from inference import client
    from inference.breaker import CircuitBreaker

    now = [1000.0]
    breaker = CircuitBreaker(threshold=1, cooldown=30.0, clock=lambda: now[0])
    monkeypatch.setattr(client, "breaker", breaker)
    fake_llm.scenario = "unavailable"
    with pytest.raises(LlmUnavailable):
        drain(chat_stream(HELLO, max_tokens=16))
    fake_llm.scenario = "ok"
    now[0] += 31

    assert "".join(drain(chat_stream(HELLO, max_tokens=16))) == "Hello there."
    assert not breaker.is_open(fake_llm.base_url)


def test_a_slow_server_times_out_and_is_retried_only_before_the_first_token(fake_llm, in_tenant_a, settings):
    fake_llm.scenario, fake_llm.delay = "slow", 1.0

    with pytest.raises(LlmTimeout) as raised:
        drain(chat_stream(HELLO, max_tokens=16, read_timeout=0.2))

    assert raised.value.status_code == 504
    assert len(fake_llm.requests) == 1 + settings.LLM_RETRIES


def test_a_malformed_stream_is_a_bad_response_and_not_retried(fake_llm, in_tenant_a):
    fake_llm.scenario = "malformed"

    with pytest.raises(LlmBadResponse, match="malformed event"):
        drain(chat_stream(HELLO, max_tokens=16))

    assert len(fake_llm.requests) == 1


def test_an_error_json_is_shown_with_the_servers_message(fake_llm, in_tenant_a):
    fake_llm.scenario = "error"

    with pytest.raises(LlmBadResponse, match="boom: the model crashed"):
        chat_complete(HELLO, max_tokens=16)
    with pytest.raises(LlmBadResponse, match="boom"):
        drain(chat_stream(HELLO, max_tokens=16))


def test_the_servers_own_length_refusal_is_context_too_long(fake_llm, in_tenant_a):
    fake_llm.scenario = "context_error"

    with pytest.raises(ContextTooLong) as raised:
        drain(chat_stream(HELLO, max_tokens=16))

    assert raised.value.status_code == 400


def test_a_prompt_over_the_context_window_is_never_sent(fake_llm, in_tenant_a, settings):
    settings.LLM_CONTEXT_TOKENS = 200

    with pytest.raises(ContextTooLong, match="exceed the model's context of 200 tokens"):
        drain(chat_stream([{"role": "user", "content": "word " * 400}], max_tokens=16))

    assert fake_llm.requests == []
    assert LlmCall.objects.get().status == "refused"


def test_a_stream_cut_mid_answer_keeps_the_partial_answer_marked_incomplete(fake_llm, in_tenant_a):
    fake_llm.scenario = "drop"
    stream = chat_stream(HELLO, max_tokens=16)
    received = []

    with pytest.raises(LlmBadResponse, match="without finishing"):
        for delta in stream:
            received.append(delta)

    assert "".join(received) == stream.generation.text == "Partial answer"
    assert not stream.generation.complete
    assert LlmCall.objects.get().status == "incomplete"
    assert len(fake_llm.requests) == 1  # never restarted after tokens arrived


def test_a_caller_that_goes_away_stops_the_generation(fake_llm, in_tenant_a):
    fake_llm.scenario = "endless"
    stream = chat_stream(HELLO, max_tokens=4000)

    for count, _delta in enumerate(stream, start=1):
        if count == 3:
            stream.close()
            break

    assert fake_llm.disconnected.wait(5), "the server never saw the connection close"
    assert stream.generation.finish_reason == "cancelled" and not stream.generation.complete
    assert LlmCall.objects.get().status == "incomplete"


def test_no_connection_is_left_open_after_failures(fake_llm, in_tenant_a):
    for scenario in ("ok", "malformed", "error", "drop", "endless"):
        fake_llm.scenario = scenario
        with chat_stream(HELLO, max_tokens=16) as stream:
            try:
                next(stream)
                next(stream)
            except (LlmBadResponse, StopIteration):
                pass

    deadline = time.monotonic() + 5
    while fake_llm.open_connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake_llm.open_connections == 0
