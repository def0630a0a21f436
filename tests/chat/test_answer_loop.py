"""The answer loop with a scripted model: only supported sentences are shown, citations that point at
nothing vanish, evidence answers when the draft cannot, ACLs hold, failures and stops keep what was shown."""

import pytest
from django_tenants.utils import schema_context

from chat.answer import Turn, answer_events, support
from chat.conversations import selectors
from chat.models import Citation, Message
from tenants.accounts.selectors import user_principals

pytestmark = pytest.mark.django_db

QUESTION = "Which class may I book for a four hour flight?"
SUPPORTED = "Flights shorter than six hours are booked in economy class [1]."
TRAVEL_ANSWER = f"{SUPPORTED} Cats are great pets [1]. See [7]."
TRAVEL_PASSAGE = (
    "Employees may book economy class for flights shorter than six hours. Longer flights may be business class."
)


def ask(world, user, conversation, question=QUESTION):
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


def shown(events) -> str:
    return "".join(e["text"] for e in by_type(events, "token"))


def trace_of_answer(world, conversation):
    with schema_context(world.tenant.schema_name):
        answer = Message.objects.get(conversation=conversation, role="assistant")
        return answer, selectors.trace_of(tenant=world.tenant, message=answer)


def test_only_supported_sentences_are_streamed_and_the_answer_says_how_many_were_removed(
    fake_llm, tenant_a, handbook, conversation_of
):
    fake_llm.answer(TRAVEL_ANSWER)
    conversation = conversation_of(tenant_a, tenant_a.legal)

    events = ask(tenant_a, tenant_a.legal, conversation)

    assert events[0]["event"] == "sources" and events[-1]["event"] == "message"
    assert by_type(events, "sources")[0][0]["document_id"] == handbook["travel"]
    assert shown(events) == SUPPORTED
    message = by_type(events, "message")[0]
    assert message["kind"] == "generated" and message["status"] == "complete"
    assert message["text"].startswith(SUPPORTED)
    assert "Cats" not in message["text"] and "[7]" not in message["text"]
    assert message["removed_sentences"] == 2
    assert message["note"].startswith("2 sentences were removed") and "\n" not in message["note"]
    assert message["text"].endswith(message["note"])
    assert [c["number"] for c in message["citations"]] == [1]
    assert message["citations"][0]["document_id"] == handbook["travel"]
    assert "economy class" in message["citations"][0]["quote"]


def test_removed_sentences_stay_in_the_trace_for_admins(fake_llm, tenant_a, handbook, conversation_of):
    fake_llm.answer(TRAVEL_ANSWER)
    conversation = conversation_of(tenant_a, tenant_a.legal)

    ask(tenant_a, tenant_a.legal, conversation)

    answer, trace = trace_of_answer(tenant_a, conversation)
    assert [r["sentence"] for r in trace["removed_sentences"]] == ["Cats are great pets.", "See."]
    assert trace["removed_sentences"][0]["cited"] == [1] and trace["removed_sentences"][1]["cited"] == [7]
    assert trace["evidence"] and trace["evidence"][0]["number"] == 1
    assert trace["prompt_version"] == "evidence-v2" and trace["kind"] == "generated"
    assert trace["timings_ms"]["sources"] <= trace["timings_ms"]["first_token"] <= trace["timings_ms"]["total"]
    with schema_context(tenant_a.tenant.schema_name):
        assert Citation.objects.filter(message=answer).count() == 1
        question = Message.objects.get(conversation=conversation, role="user")
        assert b"four hour" not in bytes(question.content_encrypted)


def test_the_prompt_carries_evidence_sentences_numbered_by_passage_not_whole_passages(
    fake_llm, tenant_a, handbook, conversation_of
):
    fake_llm.answer(SUPPORTED)
    conversation = conversation_of(tenant_a, tenant_a.legal)

    ask(tenant_a, tenant_a.legal, conversation)

    prompt_text = fake_llm.requests[-1]["body"]["messages"][-1]["content"]
    assert "[1] Employees may book economy class for flights shorter than six hours." in prompt_text
    assert "Question: " + QUESTION in prompt_text
    assert len(fake_llm.requests[-1]["body"]["messages"]) == 2  # system + evidence and question, no history


def test_a_sentence_with_a_number_its_passage_does_not_hold_is_removed_and_the_evidence_answers(
    fake_llm, tenant_a, handbook, conversation_of
):
    fake_llm.answer("Flights shorter than nine hours are booked in economy class [1].")
    conversation = conversation_of(tenant_a, tenant_a.legal)

    events = ask(tenant_a, tenant_a.legal, conversation)

    message = by_type(events, "message")[0]
    assert "nine" not in message["text"] and "nine" not in shown(events)
    assert message["kind"] == "extractive" and message["status"] == "complete"
    assert message["removed_sentences"] == 1 and "number 9" in message["note"]
    quoted = shown(events)
    assert quoted.startswith("\u201c") and "[1]" in quoted
    assert support.support(quoted, TRAVEL_PASSAGE).ok
    assert message["citations"][0]["document_id"] == handbook["travel"]


def test_a_negated_claim_is_not_supported_by_a_positive_passage(fake_llm, tenant_a, handbook, conversation_of):
    fake_llm.answer("Employees may not book economy class for flights shorter than six hours [1].")
    conversation = conversation_of(tenant_a, tenant_a.legal)

    events = ask(tenant_a, tenant_a.legal, conversation)

    message = by_type(events, "message")[0]
    assert "may not" not in message["text"] and "negation" in message["note"]


def test_a_citation_to_no_passage_never_appears_and_a_supported_sentence_gets_its_passage(
    fake_llm, tenant_a, handbook, conversation_of
):
    fake_llm.answer("Employees may book economy class for flights shorter than six hours [27].")
    conversation = conversation_of(tenant_a, tenant_a.legal)

    events = ask(tenant_a, tenant_a.legal, conversation)

    message = by_type(events, "message")[0]
    assert "[27]" not in message["text"] and "[27]" not in shown(events)
    assert shown(events) == "Employees may book economy class for flights shorter than six hours [1]."
    assert by_type(events, "citations")[0] == {"sentence": 1, "kept": [1], "dropped": [27], "removed": False}


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


def test_a_model_failure_mid_answer_keeps_the_supported_part(fake_llm, tenant_a, handbook, conversation_of):
    fake_llm.scenario = "drop"
    fake_llm.partial = [SUPPORTED, " Longer flights"]
    conversation = conversation_of(tenant_a, tenant_a.legal)

    events = ask(tenant_a, tenant_a.legal, conversation)

    message = by_type(events, "message")[0]
    assert message["status"] == "incomplete" and message["text"].startswith(SUPPORTED)
    assert by_type(events, "error")[0]["code"] == "llm_bad_response"


def test_a_model_failure_before_any_supported_sentence_is_a_failed_answer(
    fake_llm, tenant_a, handbook, conversation_of
):
    fake_llm.scenario = "drop"
    conversation = conversation_of(tenant_a, tenant_a.legal)

    events = ask(tenant_a, tenant_a.legal, conversation)

    assert by_type(events, "message")[0]["status"] == "failed" and shown(events) == ""


@pytest.mark.parametrize("ungrounded", [False, True])
def test_stopping_the_answer_stops_the_model_and_keeps_what_was_shown(
    fake_llm, tenant_a, handbook, conversation_of, ungrounded
):
    fake_llm.scenario = "endless"
    fake_llm.endless_sentence = SUPPORTED
    tenant_a.tenant.allow_ungrounded_answers = ungrounded
    tenant_a.tenant.save()
    conversation = conversation_of(tenant_a, tenant_a.legal)
    question = "What is the capital of Peru?" if ungrounded else QUESTION
    with schema_context(tenant_a.tenant.schema_name):
        turn = Turn(tenant_a.tenant, conversation, tenant_a.legal, user_principals(user=tenant_a.legal), question)
        events = answer_events(turn)
        tokens = 0
        for event in events:
            tokens += event["event"] == "token"
            if tokens == 3:
                break
        events.close()
        stored = Message.objects.get(conversation=conversation, role="assistant")
        trace = selectors.trace_of(tenant=tenant_a.tenant, message=stored)

    assert fake_llm.disconnected.wait(5)
    assert stored.status == "incomplete" and trace["stopped_by_user"] is True
    assert trace.get("ungrounded", False) is ungrounded
    assert SUPPORTED.split(" [")[0] in selectors.message_content(tenant=tenant_a.tenant, message=stored) or ungrounded


def test_the_message_reports_usage(fake_llm, tenant_a, handbook, conversation_of):
    fake_llm.answer(SUPPORTED)
    conversation = conversation_of(tenant_a, tenant_a.legal)

    message = by_type(ask(tenant_a, tenant_a.legal, conversation), "message")[0]

    assert set(message["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert message["usage"]["total_tokens"] == message["usage"]["prompt_tokens"] + message["usage"]["completion_tokens"]


def test_moderation_that_cannot_run_answers_nothing(fake_llm, tenant_a, handbook, conversation_of, monkeypatch):
    from safety import moderation
    from safety.classifiers.embedded import ClassifierUnavailable

    def unavailable():
        raise ClassifierUnavailable("the embedded safety classifier is not built: run `manage.py safety_train`")

    monkeypatch.setattr(moderation, "classifier", unavailable)
    conversation = conversation_of(tenant_a, tenant_a.legal)

    events = ask(tenant_a, tenant_a.legal, conversation)

    assert by_type(events, "sources") == [[]] and by_type(events, "token") == []
    assert by_type(events, "message")[0]["status"] == "failed"
    error = by_type(events, "error")[0]
    assert error["code"] == "moderation_unavailable" and "safety_train" in error["message"]
    assert fake_llm.requests == []


def test_evidence_strong_enough_to_quote_answers_without_asking_the_model(
    fake_llm, tenant_a, handbook, conversation_of, settings
):
    settings.ENCLAVE_QUOTE_SCORE = 0.25  # the default
    fake_llm.answer("Cats are great pets [1].")
    conversation = conversation_of(tenant_a, tenant_a.legal)

    events = ask(tenant_a, tenant_a.legal, conversation)

    message = by_type(events, "message")[0]
    _answer, trace = trace_of_answer(tenant_a, conversation)
    assert [e["event"] for e in events][:2] == ["sources", "token"]
    assert fake_llm.requests == []
    assert message["kind"] == "extractive" and message["status"] == "complete"
    assert trace["quoted_first"] is True and trace["evidence"][0]["score"] >= 0.25
    assert message["note"] == "The documents answer this closely, so this answer quotes them."
    assert message["usage"]["total_tokens"] == 0
    quoted = shown(events)
    assert quoted.startswith("\u201c") and "[1]" in quoted and support.support(quoted, TRAVEL_PASSAGE).ok
    assert message["citations"][0]["document_id"] == handbook["travel"]


def test_evidence_below_the_quote_score_is_drafted_by_the_model(
    fake_llm, tenant_a, handbook, conversation_of, settings
):
    fake_llm.answer(SUPPORTED)
    conversation = conversation_of(tenant_a, tenant_a.legal)
    settings.ENCLAVE_QUOTE_SCORE = 0.99

    events = ask(tenant_a, tenant_a.legal, conversation)

    message = by_type(events, "message")[0]
    _answer, trace = trace_of_answer(tenant_a, conversation)
    assert trace["evidence"][0]["score"] < 0.99 and trace["quoted_first"] is False
    assert len(fake_llm.requests) == 1
    assert message["kind"] == "generated" and shown(events) == SUPPORTED
