"""Feedback, regeneration with a pairwise preference, and traces for tenant admins."""

import json

import pytest
from django_tenants.utils import schema_context

from chat.models import Feedback, Preference
from tenants.accounts.models import AuditEvent

pytestmark = pytest.mark.django_db

QUESTION = "Which class may I book for a four hour flight?"
ANSWER = "Flights shorter than six hours are booked in economy class [1]."


def answered(api, world) -> tuple[str, str]:
    conversation = api("post", "/api/v1/conversations/", key=world.legal_key, data={"title": "t"}).json()["id"]
    body = api(
        "post",
        f"/api/v1/conversations/{conversation}/messages/",
        key=world.legal_key,
        data={"content": QUESTION, "stream": False},
    ).json()
    return conversation, body["message"]["id"]


def test_thumbs_with_a_reason_and_an_encrypted_comment(api, fake_llm, tenant_a, handbook):
    fake_llm.answer(ANSWER)
    _, message = answered(api, tenant_a)

    first = api("post", f"/api/v1/messages/{message}/feedback/", key=tenant_a.legal_key, data={"rating": "up"})
    second = api(
        "post",
        f"/api/v1/messages/{message}/feedback/",
        key=tenant_a.legal_key,
        data={"rating": "down", "reason": "incomplete", "comment": "misses the business class rule"},
    )

    assert first.status_code == second.status_code == 200
    with schema_context(tenant_a.tenant.schema_name):
        feedback = Feedback.objects.get()
    assert feedback.rating == -1 and feedback.reason == "incomplete"
    assert b"business class" not in bytes(feedback.comment_encrypted)


def test_regenerate_then_prefer_one_answer(api, fake_llm, tenant_a, handbook):
    fake_llm.answer(ANSWER)
    conversation, first = answered(api, tenant_a)
    fake_llm.answer("Economy class is the rule for flights shorter than six hours [1].")

    again = api("post", f"/api/v1/messages/{first}/regenerate/", key=tenant_a.legal_key, data={"stream": False}).json()
    second = again["message"]["id"]
    preference = api("post", f"/api/v1/messages/{second}/preference/", key=tenant_a.legal_key, data={"over": first})
    stored = api("get", f"/api/v1/conversations/{conversation}/", key=tenant_a.legal_key).json()

    assert preference.status_code == 200
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant", "assistant"]
    assert stored["messages"][2]["regenerated_from"] == first
    with schema_context(tenant_a.tenant.schema_name):
        pair = Preference.objects.get()
        assert (str(pair.chosen.public_id), str(pair.rejected.public_id)) == (second, first)
    question_sent = fake_llm.requests[-1]["body"]["messages"][-1]["content"]
    assert question_sent.endswith(QUESTION) and question_sent.count("Question:") == 1


def test_a_preference_needs_two_answers_to_the_same_question(api, fake_llm, tenant_a, handbook):
    fake_llm.answer(ANSWER)
    _, first = answered(api, tenant_a)
    _, other = answered(api, tenant_a)

    response = api("post", f"/api/v1/messages/{first}/preference/", key=tenant_a.legal_key, data={"over": other})

    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_feedback"


def test_traces_are_closed_to_admins_until_the_tenant_opens_them_and_every_read_is_audited(
    api, fake_llm, tenant_a, handbook, open_traces
):
    fake_llm.answer(ANSWER)
    _, message = answered(api, tenant_a)

    closed = api("get", f"/api/v1/messages/{message}/trace/", key=tenant_a.admin_key)
    open_traces(tenant_a)
    opened = api("get", f"/api/v1/messages/{message}/trace/", key=tenant_a.admin_key)
    api("get", f"/api/v1/messages/{message}/trace/", key=tenant_a.admin_key)

    assert closed.status_code == 403 and "admin_reads_traces" in closed.json()["error"]["message"]
    assert opened.status_code == 200
    with schema_context("tenant_a"):
        reads = AuditEvent.objects.filter(action="trace.read", target_id=message)
        assert reads.count() == 2 and {e.actor_id for e in reads} == {tenant_a.admin.public_id}
        assert AuditEvent.objects.filter(action="chat.trace_access_changed").exists()


def test_an_admin_reads_the_trace_and_members_cannot(api, fake_llm, tenant_a, handbook, open_traces):
    fake_llm.answer(ANSWER + " The moon is cheese [1].")
    _, message = answered(api, tenant_a)
    open_traces(tenant_a)

    trace = api("get", f"/api/v1/messages/{message}/trace/", key=tenant_a.admin_key)
    refused = api("get", f"/api/v1/messages/{message}/trace/", key=tenant_a.legal_key)

    assert refused.status_code == 403
    body = trace.json()
    assert body["standalone_query"] == QUESTION and body["prompt_version"] == "evidence-v2"
    assert body["candidates"][0]["fused"] > 0 and "rerank_score" in body["candidates"][0]
    assert body["evidence"][0]["number"] == 1 and set(body["evidence"][0]["features"]) == {"dense", "lexical", "rank"}
    assert body["removed_sentences"] == [
        {"sentence": "The moon is cheese.", "cited": [1], "reason": "too few of its words are in the passage"}
    ]
    assert set(body["timings_ms"]) >= {"sources", "evidence", "first_token", "total"}
    assert body["retrieval_ms"] > 0 and body["tokens"]["prompt_tokens"] >= 0
    assert json.dumps(body)  # plain JSON all the way
