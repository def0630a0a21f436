"""The official `openai` package against the running appliance (uvicorn) and the real bundled model."""

import openai
import pytest

from tests.processes import llama_server, web_server

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

QUESTION = "Which class may I book for a four hour flight?"


def test_the_openai_client_gets_a_grounded_answer_streamed_and_whole(committed_handbook):
    tenant_a, (travel, merger) = committed_handbook
    # The model is always asked (ENCLAVE_QUOTE_SCORE=1): this is the real model's path through the endpoint.
    with llama_server() as llm_url, web_server(extra_env={"LLM_BASE_URL": llm_url, "ENCLAVE_QUOTE_SCORE": "1"}) as port:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=tenant_a.legal_key, max_retries=0)

        whole = client.chat.completions.create(model="enclave", messages=[{"role": "user", "content": QUESTION}])
        chunks = list(
            client.chat.completions.create(
                model="enclave", messages=[{"role": "user", "content": QUESTION}], stream=True
            )
        )
        secret = client.chat.completions.create(
            model="enclave", messages=[{"role": "user", "content": "How much is Kestrel Labs acquired for?"}]
        )
        models = client.models.list()
        model = client.models.retrieve("enclave-grounded")
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("gpt-4")

    extra = whole.model_extra
    assert [source["document_id"] for source in extra["sources"]] == [travel]
    assert all(citation["document_id"] == travel for citation in extra["citations"])
    assert whole.choices[0].message.content and extra["enclave"]["status"] in {"complete", "abstained", "incomplete"}
    assert chunks[-1].choices[0].finish_reason in {"stop", "length"}
    assert chunks[-1].model_extra["sources"][0]["document_id"] == travel
    assert merger not in str(secret.model_extra) and "42 million" not in secret.choices[0].message.content
    assert secret.model_extra["enclave"]["status"] == "abstained"
    assert [m.id for m in models.data] == ["enclave-grounded"] and model.owned_by == "enclave"
    assert whole.usage.prompt_tokens > 0 and whole.usage.completion_tokens > 0
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens > 0
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == chunks[-1].model_extra["enclave"]["final_content"]  # deltas: the verified answer only


def test_a_wrong_key_is_an_authentication_error(committed_handbook):
    with web_server() as port:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="ek_nope_nope", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model="enclave", messages=[{"role": "user", "content": QUESTION}])
