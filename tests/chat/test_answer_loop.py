"""The answer loop with a scripted model: citations verified, ACLs respected, abstention, failures, stop."""

import pytest
from django_tenants.utils import schema_context

from chat import selectors
from chat.answer import Turn, answer_events
from chat.models import Citation, Message
from tenants.accounts.selectors import user_principals

pytestmark = pytest.mark.django_db

TRAVEL_ANSWER = "Flights shorter than six hours are booked in economy class [1]. Cats are great pets [1]. See [7]."


def ask(world, user, conversation, question):
    with schema_context(world.tenant.schema_name):
        turn = Turn(
            tenant=world.tenant,
            conversation=conversation,
            user=user,
            principals=user_principals(user=user),
            question=question,
        )
        return list(answer_events(turn))


def by_type(events, kind):
    return [event["data"] for event in events if event["event"] == kind]


def test_a_grounded_answer_keeps_only_supported_citations(fake_llm, tenant_a, handbook, conversation_of):
    fake_llm.answer(TRAVEL_ANSWER)
    conversation = conversation_of(tenant_a, tenant_a.legal)

    events = ask(tenant_a, tenant_a.legal, conversation, "Which class may I book for a four hour flight?")

    assert events[0]["event"] == "sources" and events[-1]["event"] == "message"
    sources = by_type(events, "sources")[0]
    assert sources[0]["document_id"] == handbook["travel"]
    message = by_type(events, "message")[0]
    assert message["text"].startswith("Flights shorter than six hours are booked in economy class [1].")
    assert "Cats are great pets." in message["text"] and "[7]" not in message["text"]
    assert [c["number"] for c in message["citations"]] == [1]
    assert message["citations"][0]["document_id"] == handbook["travel"]
    assert "economy class" in message["citations"][0]["quote"]
    assert "".join(e["text"] for e in by_type(events, "token")) == TRAVEL_ANSWER


def test_the_answer_is_stored_encrypted_with_its_trace(fake_llm, tenant_a, handbook, conversation_of):
    fake_llm.answer(TRAVEL_ANSWER)
    conversation = conversation_of(tenant_a, tenant_a.legal)

    ask(tenant_a, tenant_a.legal, conversation, "Which class may I book for a four hour flight?")

    with schema_context(tenant_a.tenant.schema_name):
        question, answer = Message.objects.filter(conversation=conversation).order_by("created_at")
        assert b"four hour" not in bytes(question.content_encrypted)
        assert selectors.message_content(tenant=tenant_a.tenant, message=question).startswith("Which class")
        trace = selectors.trace_of(tenant=tenant_a.tenant, message=answer)
        assert Citation.objects.filter(message=answer).count() == 1
    assert trace["passages_sent"] and trace["prompt_version"] == "answer-v1"
    assert {d["reason"] for d in trace["citations_dropped"]} == {"unsupported", "no such passage"}
    assert trace["timings_ms"]["ttft"] is not None and trace["candidates"]


def test_a_document_the_user_cannot_read_is_never_a_source_and_the_answer_abstains(
    fake_llm, tenant_a, handbook, conversation_of
):
    conversation = conversation_of(tenant_a, tenant_a.legal)

    events = ask(tenant_a, tenant_a.legal, conversation, "When does the Zanzibar acquisition of Kestrel Labs close?")

    assert "Zanzibar" not in str(by_type(events, "sources")) and "Kestrel" not in str(events)
    assert by_type(events, "message")[0]["status"] == "abstained"
    assert fake_llm.requests == []  # nothing relevant: the model is not even asked


def test_the_group_member_gets_the_memo_as_a_source(fake_llm, tenant_a, handbook, conversation_of):
    fake_llm.answer("The acquisition of Kestrel Labs closes in March [1].")
    conversation = conversation_of(tenant_a, tenant_a.finance)

    events = ask(tenant_a, tenant_a.finance, conversation, "When does the Zanzibar acquisition of Kestrel Labs close?")

    message = by_type(events, "message")[0]
    assert message["status"] == "complete" and message["citations"][0]["document_id"] == handbook["merger"]


def test_an_answer_with_no_supported_sentence_becomes_an_abstention(fake_llm, tenant_a, handbook, conversation_of):
    fake_llm.answer("The moon is made of cheese [1].")
    conversation = conversation_of(tenant_a, tenant_a.legal)

    events = ask(tenant_a, tenant_a.legal, conversation, "Which class may I book for a four hour flight?")

    message = by_type(events, "message")[0]
    assert message["status"] == "abstained" and message["citations"] == []
    assert "will not guess" in message["text"]


def test_a_model_failure_mid_answer_keeps_the_partial_answer(fake_llm, tenant_a, handbook, conversation_of):
    fake_llm.scenario = "drop"
    conversation = conversation_of(tenant_a, tenant_a.legal)

    events = ask(tenant_a, tenant_a.legal, conversation, "Which class may I book for a four hour flight?")

    assert by_type(events, "message")[0]["status"] == "incomplete"
    assert by_type(events, "message")[0]["text"] == "Partial answer"
    assert by_type(events, "error")[0]["code"] == "llm_bad_response"


def test_stopping_the_answer_stops_the_model_and_keeps_what_arrived(fake_llm, tenant_a, handbook, conversation_of):
    fake_llm.scenario = "endless"
    conversation = conversation_of(tenant_a, tenant_a.legal)
    with schema_context(tenant_a.tenant.schema_name):
        turn = Turn(tenant_a.tenant, conversation, tenant_a.legal, user_principals(user=tenant_a.legal), "Which class?")
        events = answer_events(turn)
        tokens = 0
        for event in events:
            tokens += event["event"] == "token"
            if tokens == 3:
                break
        events.close()
        stored = Message.objects.get(conversation=conversation, role="assistant")

    assert fake_llm.disconnected.wait(5)
    assert stored.status == "incomplete"


def test_citations_are_checked_sentence_by_sentence_while_streaming(fake_llm, tenant_a, handbook, conversation_of):
    fake_llm.answer(TRAVEL_ANSWER)
    conversation = conversation_of(tenant_a, tenant_a.legal)

    events = ask(tenant_a, tenant_a.legal, conversation, "Which class may I book for a four hour flight?")

    checked = by_type(events, "citations")
    assert checked[0] == {"sentence": 1, "kept": [1], "dropped": []}
    assert checked[1] == {"sentence": 2, "kept": [], "dropped": [1]}
    kinds = [e["event"] for e in events]
    assert kinds.index("citations") < max(i for i, kind in enumerate(kinds) if kind == "token")
