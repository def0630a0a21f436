"""Against the real bundled llama.cpp server: streaming, a server killed mid-answer, and the token
estimate the budget relies on."""

import httpx
import pytest
from django_tenants.utils import schema_context

from inference.budget import count_tokens
from inference.client import chat_complete, chat_stream
from inference.errors import LlmBadResponse, LlmUnavailable
from inference.models import LlmCall
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
        tokenize = base_url.removesuffix("/v1") + "/extras/tokenize"
        real = [len(httpx.post(tokenize, json={"input": text}, timeout=30).json()["tokens"]) for text in SAMPLES]

    estimates = [count_tokens(text) for text in SAMPLES]
    assert all(estimate >= count for estimate, count in zip(estimates, real, strict=True)), list(
        zip(estimates, real, strict=True)
    )


QUESTION = [
    {"role": "system", "content": "Answer from the passages only."},
    {"role": "user", "content": "[1] The vault code of the Leeds office is 4711.\n\nWhat is the vault code?"},
]


def test_the_embedded_server_reuses_a_prompt_only_for_the_tenant_that_sent_it(tenant_a, tenant_b, settings, tmp_path):
    """llama-cpp-python's prefix reuse and prompt cache would let tenant B's identical request skip the
    prompt tenant A evaluated (a timing probe of A's passages); the server logs every reuse it makes."""
    log = tmp_path / "llm.log"

    def ask(world) -> str:
        seen = log.stat().st_size
        with schema_context(world.tenant.schema_name):
            chat_complete(QUESTION, max_tokens=4)
        with log.open("rb") as output:
            output.seek(seen)
            return output.read().decode(errors="replace")

    with llama_server_process(log=log) as (base_url, _process):
        settings.LLM_BASE_URL = base_url
        ask(tenant_a)
        tenant_b_after_a = ask(tenant_b)
        tenant_a_again = ask(tenant_a)

    assert "prefix-match hit" not in tenant_b_after_a and "cache hit" not in tenant_b_after_a
    assert "cache hit" in tenant_a_again and "prefix-match hit" in tenant_a_again
