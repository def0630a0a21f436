"""Per-tenant limits (a clear 429), token quotas, and the per-tenant prefix-cache salt."""

import datetime
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from django_tenants.utils import schema_context

from inference.client import cache_salt, chat_stream
from inference.errors import LlmRateLimited
from inference.models import LlmCall
from tests.processes import in_own_connection

pytestmark = pytest.mark.django_db

HELLO = [{"role": "user", "content": "Say hello."}]


def test_the_request_rate_limit_is_a_429_and_nothing_is_sent(fake_llm, in_tenant_a, settings):
    settings.ENCLAVE_LLM_REQUESTS_PER_MINUTE = 2
    for _ in range(2):
        list(chat_stream(HELLO, max_tokens=16))

    with pytest.raises(LlmRateLimited) as raised:
        list(chat_stream(HELLO, max_tokens=16))

    assert raised.value.status_code == 429 and raised.value.code == "rate_limited"
    assert len(fake_llm.requests) == 2
    assert LlmCall.objects.filter(status="refused").count() == 1


def test_a_tenants_own_token_quota_applies(fake_llm, tenant_a):
    tenant_a.tenant.llm_tokens_per_day = 20
    connection.set_tenant(tenant_a.tenant)
    try:
        list(chat_stream([{"role": "user", "content": "Please say hello to everyone in the room."}], max_tokens=16))
        with pytest.raises(LlmRateLimited) as raised:
            list(chat_stream(HELLO, max_tokens=16))
    finally:
        connection.set_schema_to_public()

    assert raised.value.code == "token_quota_exceeded" and "00:00 UTC" in str(raised.value)
    assert len(fake_llm.requests) == 1


def test_one_tenants_usage_does_not_count_against_another(fake_llm, tenant_a, tenant_b, settings):
    settings.ENCLAVE_LLM_REQUESTS_PER_MINUTE = 1
    with schema_context(tenant_a.tenant.schema_name):
        list(chat_stream(HELLO, max_tokens=16))
    with schema_context(tenant_b.tenant.schema_name):
        assert "".join(chat_stream(HELLO, max_tokens=16)) == "Hello there."


def test_each_tenant_gets_its_own_cache_salt(fake_llm, tenant_a, tenant_b):
    for world in (tenant_a, tenant_b, tenant_a):
        with schema_context(world.tenant.schema_name):
            list(chat_stream(HELLO, max_tokens=16))
    list(chat_stream(HELLO, max_tokens=16))  # outside any tenant (public)

    salts = [request["body"].get("cache_salt") for request in fake_llm.requests]
    assert salts[0] == salts[2] == cache_salt("tenant_a")
    assert salts[1] == cache_salt("tenant_b") != salts[0]
    assert salts[3] is None
    assert "tenant_a" not in salts[0]


def test_a_conversation_id_is_sent_for_replica_affinity(fake_llm, in_tenant_a):
    list(chat_stream(HELLO, max_tokens=16, conversation="c-123"))

    assert fake_llm.requests[0]["headers"]["x-enclave-conversation"] == "c-123"


def test_parallel_requests_cannot_all_pass_a_limit_none_has_reached(fake_llm, tenant_a, settings):
    """20 questions at once under a limit of 2 a minute: the check and the count are one locked step, so
    at most 2 reach the model however the requests interleave (each on its own connection, committed)."""
    settings.ENCLAVE_LLM_REQUESTS_PER_MINUTE = 2
    fake_llm.token_delay = 0.05  # every admitted answer is still streaming while the others are admitted
    outcomes, counted, _used = _twenty_at_once()

    assert outcomes.count("rate_limited") == 18 and len(fake_llm.requests) == 2
    assert counted == {"complete": 2, "refused": 18}


def test_parallel_requests_cannot_overshoot_the_token_quota(fake_llm, tenant_a, settings):
    """20 questions at once under a quota of 45 tokens: each admitted call holds its prompt estimate (26, the
    tenant's partition line included) and max_tokens (16) until it settles at what it used (26 + 3 streamed),
    so one call in flight or settled leaves room (42 or 29 < 45) and two never do (at least 58), however the
    requests interleave."""
    settings.ENCLAVE_LLM_REQUESTS_PER_MINUTE = 100
    settings.ENCLAVE_LLM_TOKENS_PER_DAY = 45
    fake_llm.token_delay = 0.05
    outcomes, counted, used = _twenty_at_once()

    assert outcomes.count("token_quota_exceeded") == 18 and len(fake_llm.requests) == 2
    assert counted == {"complete": 2, "refused": 18}
    assert used == [(26, 3), (26, 3)]


def _twenty_at_once() -> tuple[list[str], dict, list]:
    """20 questions of tenant A released together, each on its own committed connection: what each got
    (the answer or the refusal's code), the calls by status, and the completed calls' token counts."""
    start = threading.Barrier(20)

    def ask():
        try:
            with schema_context("tenant_a"):
                start.wait()
                try:
                    return "".join(chat_stream(HELLO, max_tokens=16))
                except LlmRateLimited as exc:
                    return exc.code
        finally:
            connection.close()

    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            outcomes = list(pool.map(lambda _: ask(), range(20)))
        counted = in_own_connection(lambda: _statuses("tenant_a"))
        used = in_own_connection(lambda: _tokens_used("tenant_a"))
    finally:
        in_own_connection(lambda: _calls_delete("tenant_a"))
    return outcomes, counted, used


def _tokens_used(schema: str) -> list:
    with schema_context(schema):
        return list(LlmCall.objects.filter(status="complete").values_list("prompt_tokens", "completion_tokens"))


def _statuses(schema: str) -> dict:
    with schema_context(schema):
        return dict(LlmCall.objects.order_by().values_list("status").annotate(n=Count("id")))


def _calls_delete(schema: str) -> None:
    with schema_context(schema):
        LlmCall.objects.all().delete()


def test_one_user_cannot_use_up_the_tenants_requests(fake_llm, in_tenant_a, settings):
    settings.ENCLAVE_LLM_REQUESTS_PER_USER_PER_MINUTE = 1
    fay, leo = in_tenant_a.finance.public_id, in_tenant_a.legal.public_id
    list(chat_stream(HELLO, max_tokens=16, user_id=fay))

    with pytest.raises(LlmRateLimited) as raised:
        list(chat_stream(HELLO, max_tokens=16, user_id=fay))

    assert raised.value.code == "user_rate_limited" and raised.value.status_code == 429
    assert "".join(chat_stream(HELLO, max_tokens=16, user_id=leo)) == "Hello there."
    assert len(fake_llm.requests) == 2


def test_calls_in_flight_beyond_the_tenants_share_are_refused_at_once_with_retry_after(
    fake_llm, in_tenant_a, tenant_b, settings
):
    settings.ENCLAVE_LLM_CONCURRENT_PER_TENANT = 2
    streaming = [LlmCall.objects.create(purpose="chat", model="m", status=LlmCall.Status.SENDING) for _ in range(2)]
    stale = LlmCall.objects.create(purpose="chat", model="m", status=LlmCall.Status.SENDING)
    LlmCall.objects.filter(pk=stale.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=11))

    with pytest.raises(LlmRateLimited) as raised:
        list(chat_stream(HELLO, max_tokens=16))
    LlmCall.objects.filter(pk=streaming[0].pk).update(status=LlmCall.Status.COMPLETE)
    served_once_one_finished = "".join(chat_stream(HELLO, max_tokens=16))
    with schema_context(tenant_b.tenant.schema_name):
        other_tenant = "".join(chat_stream(HELLO, max_tokens=16))

    assert raised.value.status_code == 429 and raised.value.code == "concurrency_limited"
    assert raised.value.retry_after == 5
    assert served_once_one_finished == other_tenant == "Hello there."
    assert len(fake_llm.requests) == 2
