"""The conversation REST API: CRUD of one's own conversations, answers as SSE or JSON, and the
OpenAI-compatible endpoint through the test client."""

import json

import pytest
from django_tenants.utils import schema_context

from inference.models import LlmCall

pytestmark = pytest.mark.django_db

QUESTION = "Which class may I book for a four hour flight?"
ANSWER = "Flights shorter than six hours are booked in economy class [1]."


def sse_events(response) -> list[tuple[str, dict]]:
    body = b"".join(response).decode()
    events = []
    for block in body.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events


def new_conversation(api, world, key=None) -> str:
    response = api("post", "/api/v1/conversations/", key=key or world.legal_key, data={"title": "Travel"})
    assert response.status_code == 201
    return response.json()["id"]


def test_a_question_streams_sources_tokens_and_the_verified_message(api, fake_llm, tenant_a, handbook):
    fake_llm.answer(ANSWER)
    conversation = new_conversation(api, tenant_a)

    response = api(
        "post", f"/api/v1/conversations/{conversation}/messages/", key=tenant_a.legal_key, data={"content": QUESTION}
    )

    assert response.status_code == 200 and response["content-type"] == "text/event-stream"
    events = sse_events(response)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "sources" and kinds[-1] == "message" and "token" in kinds
    assert events[-1][1]["citations"][0]["document_id"] == handbook["travel"]


def test_the_json_form_and_the_stored_conversation(api, fake_llm, tenant_a, handbook):
    fake_llm.answer(ANSWER)
    conversation = new_conversation(api, tenant_a)

    body = api(
        "post",
        f"/api/v1/conversations/{conversation}/messages/",
        key=tenant_a.legal_key,
        data={"content": QUESTION, "stream": False},
    ).json()
    stored = api("get", f"/api/v1/conversations/{conversation}/", key=tenant_a.legal_key).json()

    assert body["message"]["text"] == ANSWER and body["sources"][0]["number"] == 1
    assert stored["title"] == "Travel"
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"]
    assert stored["messages"][1]["citations"][0]["page"] == 1


def test_rename_list_and_delete(api, tenant_a):
    conversation = new_conversation(api, tenant_a)

    renamed = api("patch", f"/api/v1/conversations/{conversation}/", key=tenant_a.legal_key, data={"title": "Trips"})
    listed = api("get", "/api/v1/conversations/", key=tenant_a.legal_key).json()
    deleted = api("delete", f"/api/v1/conversations/{conversation}/", key=tenant_a.legal_key)

    assert renamed.json()["title"] == "Trips"
    assert [c["title"] for c in listed["results"]] == ["Trips"]
    receipt = deleted.json()["receipt"]
    assert receipt["conversation"] == conversation and receipt["removed"]["messages"] == 0
    assert api("get", f"/api/v1/conversations/{conversation}/", key=tenant_a.legal_key).status_code == 404


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_users_conversation_is_not_found(api, tenant_a, method):
    conversation = new_conversation(api, tenant_a)

    response = api(method, f"/api/v1/conversations/{conversation}/", key=tenant_a.finance_key, data={"title": "x"})

    assert response.status_code == 404


def test_another_user_cannot_post_into_it(api, fake_llm, tenant_a):
    conversation = new_conversation(api, tenant_a)

    response = api(
        "post", f"/api/v1/conversations/{conversation}/messages/", key=tenant_a.admin_key, data={"content": "hi"}
    )

    assert response.status_code == 404 and fake_llm.requests == []


def test_an_llm_that_is_down_gives_an_error_event_and_a_failed_message(api, tenant_a, handbook, settings):
    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"
    settings.ENCLAVE_QUOTE_SCORE = 1.0  # the model is asked, not the evidence quoted
    conversation = new_conversation(api, tenant_a)

    events = sse_events(
        api(
            "post",
            f"/api/v1/conversations/{conversation}/messages/",
            key=tenant_a.legal_key,
            data={"content": QUESTION},
        )
    )

    assert events[-1][0] == "error" and events[-1][1]["code"] == "llm_unavailable"
    assert events[-2][1]["status"] == "failed"


def test_the_openai_compatible_endpoint_answers_with_sources(api, fake_llm, tenant_a, handbook):
    fake_llm.answer(ANSWER)

    response = api(
        "post",
        "/v1/chat/completions",
        key=tenant_a.legal_key,
        data={"model": "enclave", "messages": [{"role": "user", "content": QUESTION}]},
    )

    body = response.json()
    assert response.status_code == 200 and body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == ANSWER
    assert body["sources"][0]["document_id"] == handbook["travel"]
    assert body["citations"][0]["number"] == 1


def test_the_openai_compatible_stream_ends_with_done(api, fake_llm, tenant_a, handbook):
    fake_llm.answer(ANSWER)

    response = api(
        "post",
        "/v1/chat/completions",
        key=tenant_a.legal_key,
        data={"stream": True, "messages": [{"role": "user", "content": QUESTION}]},
    )

    lines = [line for line in b"".join(response).decode().splitlines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == ANSWER
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["sources"]


@pytest.mark.parametrize(
    "data",
    [{}, {"messages": []}, {"messages": [{"role": "assistant", "content": "hi"}]}, {"messages": "hi"}],
)
def test_the_openai_endpoint_refuses_odd_requests(api, tenant_a, data):
    assert api("post", "/v1/chat/completions", key=tenant_a.legal_key, data=data).status_code == 400


def test_the_openai_endpoint_needs_a_key(api, tenant_a):
    response = api("post", "/v1/chat/completions", host=tenant_a.host, data={"messages": []})

    assert response.status_code == 401


def test_an_abstention_streamed_to_an_openai_client_still_has_content(api, fake_llm, tenant_a, handbook):
    response = api(
        "post",
        "/v1/chat/completions",
        key=tenant_a.legal_key,
        data={"stream": True, "messages": [{"role": "user", "content": "Who won the 1954 football world cup?"}]},
    )

    lines = [line for line in b"".join(response).decode().splitlines() if line.startswith("data: {")]
    content = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content", "") for line in lines)
    assert content.startswith("I could not find this in the documents you can access")


def test_an_answer_beyond_the_tenants_calls_in_flight_is_a_429_with_retry_after(
    api, fake_llm, tenant_a, settings, handbook
):
    """The engine's slots are full for this tenant (two answers still streaming): the next is refused at once,
    with when to come back, instead of waiting in the engine's queue; nothing reaches the model server."""
    settings.ENCLAVE_LLM_CONCURRENT_PER_TENANT = 2
    with schema_context(tenant_a.tenant.schema_name):
        for _ in range(2):
            LlmCall.objects.create(purpose="chat", model="m", status=LlmCall.Status.SENDING)
    conversation = new_conversation(api, tenant_a)
    path = f"/api/v1/conversations/{conversation}/messages/"

    refused = api("post", path, key=tenant_a.legal_key, data={"content": QUESTION, "stream": False})
    openai = api(
        "post",
        "/v1/chat/completions",
        key=tenant_a.legal_key,
        data={"messages": [{"role": "user", "content": QUESTION}]},
    )
    streamed = sse_events(api("post", path, key=tenant_a.legal_key, data={"content": QUESTION}))

    assert refused.status_code == 429 and refused["Retry-After"] == "5"
    assert refused.json()["error"]["code"] == "concurrency_limited"
    assert openai.status_code == 429 and openai["Retry-After"] == "5"
    assert dict(streamed)["error"]["retry_after"] == 5
    assert fake_llm.requests == []
