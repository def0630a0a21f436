"""Access follows the ACL at read time: an answer that cited a document its reader can no longer read
(the ACL narrowed, the reader left the group, the document deleted) is withheld on every read, its
citation keeps only its number, and it no longer reaches the model as history."""

import json

import pytest
from django_tenants.utils import schema_context

from ingestion.models import Document
from ingestion.services import document_acl_update, document_delete, document_upload
from ingestion.tasks import document_version_ingest
from tenants.accounts.models import AuditEvent
from tenants.accounts.selectors import EVERYONE
from tenants.accounts.services import group_member_add, group_member_remove
from tenants.tasking import TENANT_KWARG
from tests.retrieval.conftest import group_principal

pytestmark = pytest.mark.django_db

QUESTION = "When does the Project Zanzibar acquisition of Kestrel Labs close?"
ANSWER = "The acquisition of Kestrel Labs closes in March for 42 million euros [1]."
SECRET = "42 million"
FOLLOW_UP = "And what does it cost?"  # a follow-up: condensing it sends the history to the model


def narrow_the_acl(world, document):
    document_acl_update(document=document, acl_principals=[group_principal(world.legal_group)], actor=world.admin)


def leave_the_group(world, document):
    group_member_remove(group=world.finance_group, user=world.finance, actor=world.admin)


def delete_the_document(world, document):
    document_delete(tenant=world.tenant, document=document, actor=world.admin)


def upload(world, filename: str, text: str, acl: list[str]):
    with schema_context("tenant_a"):
        outcome = document_upload(
            tenant=world.tenant, user=world.admin, filename=filename, data=text.encode(), acl_principals=acl
        )
    document_version_ingest.apply(kwargs={TENANT_KWARG: "tenant_a", "version_id": outcome.version.pk})
    return outcome.document.public_id


@pytest.fixture
def memo(tenant_a):
    """The merger memo, only the finance group may read it, and the travel policy everyone may: uploaded
    and ingested for real."""
    upload(
        tenant_a,
        "travel-policy.md",
        "# Travel\n\nEmployees may book economy class for flights shorter "
        "than six hours. Longer flights may be business class.",
        [EVERYONE],
    )
    return upload(
        tenant_a,
        "zanzibar-memo.md",
        "# Zanzibar\n\nProject Zanzibar: the acquisition of Kestrel Labs closes in March for 42 million euros.",
        [group_principal(tenant_a.finance_group)],
    )


@pytest.fixture
def answered(api, fake_llm, settings, tenant_a, memo):
    """Fay of finance asked about the merger memo only finance may read, and got a cited answer."""
    settings.ENCLAVE_QUOTE_SCORE = 1.0  # the model's draft, not a quote: the fake engine answers
    fake_llm.answer(ANSWER)
    conversation = api("post", "/api/v1/conversations/", key=tenant_a.finance_key, data={"title": "Deal"}).json()["id"]
    assert SECRET in json.dumps(
        ask(api, tenant_a, conversation, QUESTION)
    )  # the positive control: before the change she reads it
    return conversation


def ask(api, world, conversation, question: str) -> dict:
    """Fay asks in her conversation; the answer as JSON."""
    return api(
        "post",
        f"/api/v1/conversations/{conversation}/messages/",
        key=world.finance_key,
        data={"content": question, "stream": False},
    ).json()


def messages_read(api, world, conversation):
    return api("get", f"/api/v1/conversations/{conversation}/messages/", key=world.finance_key).json()


@pytest.mark.parametrize(
    ("change", "citations"),
    [
        (narrow_the_acl, [{"number": 1, "available": False}]),
        (leave_the_group, [{"number": 1, "available": False}]),
        (delete_the_document, []),  # deleting a document erases the citations of it
    ],
    ids=["acl-narrowed", "group-left", "document-deleted"],
)
def test_an_answer_citing_a_document_the_reader_lost_is_withheld(api, tenant_a, memo, answered, change, citations):
    before = messages_read(api, tenant_a, answered)
    assert SECRET in json.dumps(before) and before[1]["sources_withheld"] == 0
    with schema_context("tenant_a"):
        change(tenant_a, Document.objects.get(public_id=memo))

    after = messages_read(api, tenant_a, answered)
    detail = api("get", f"/api/v1/conversations/{answered}/", key=tenant_a.finance_key).json()

    answer = after[1]
    assert answer["content"] == "This answer is withheld: 1 of its sources are no longer available to you."
    assert answer["sources_withheld"] == 1 and answer["citations"] == citations
    assert after[0]["content"] == QUESTION  # her own question stays
    for body in (after, detail):
        text = json.dumps(body)
        assert SECRET not in text and "Kestrel Labs closes" not in text and "zanzibar-memo" not in text.lower()


def test_a_lost_answer_no_longer_reaches_the_model_as_history(api, fake_llm, tenant_a, memo, answered):
    with schema_context("tenant_a"):
        narrow_the_acl(tenant_a, Document.objects.get(public_id=memo))
    fake_llm.answer("Flights shorter than six hours are booked in economy class [1].")

    ask(api, tenant_a, answered, FOLLOW_UP)

    prompts = [json.dumps(request["body"]["messages"]) for request in fake_llm.requests[1:]]
    assert prompts and all(SECRET not in prompt for prompt in prompts)


def test_the_history_keeps_an_answer_whose_sources_the_reader_still_reads(api, fake_llm, tenant_a, answered):
    fake_llm.answer("Flights shorter than six hours are booked in economy class [1].")

    ask(api, tenant_a, answered, FOLLOW_UP)

    assert any(SECRET in json.dumps(request["body"]["messages"]) for request in fake_llm.requests[1:])


def test_the_admin_trace_of_an_answer_whose_document_was_deleted_is_gone(api, tenant_a, memo, answered, open_traces):
    message = messages_read(api, tenant_a, answered)[1]["id"]
    open_traces(tenant_a)
    with schema_context("tenant_a"):  # an admin reads in a trace only what they may read: here, the memo
        group_member_add(group=tenant_a.finance_group, user=tenant_a.admin, actor=tenant_a.admin)
    assert SECRET in json.dumps(api("get", f"/api/v1/messages/{message}/trace/", key=tenant_a.admin_key).json())
    with schema_context("tenant_a"):
        delete_the_document(tenant_a, Document.objects.get(public_id=memo))

    response = api("get", f"/api/v1/messages/{message}/trace/", key=tenant_a.admin_key)

    assert response.status_code == 404 and SECRET not in response.content.decode()


def test_my_conversations_download_is_mine_only_and_withholds_what_i_lost(api, tenant_a, memo, answered):
    path = "/api/v1/conversations/export/"
    before = api("get", path, key=tenant_a.finance_key)
    others = api("get", path, key=tenant_a.legal_key).json()
    with schema_context("tenant_a"):
        narrow_the_acl(tenant_a, Document.objects.get(public_id=memo))
    after = api("get", path, key=tenant_a.finance_key).json()

    assert before.status_code == 200 and before["Content-Disposition"].startswith(
        'attachment; filename="conversations-fay-'
    )
    mine = before.json()["conversations"]
    assert [c["id"] for c in mine] == [answered] and mine[0]["title"] == "Deal"
    assert [m["role"] for m in mine[0]["messages"]] == ["user", "assistant"] and SECRET in json.dumps(mine)
    assert others["user"] == "leo" and others["conversations"] == [] and SECRET not in json.dumps(others)
    answer = after["conversations"][0]["messages"][1]
    assert answer["sources_withheld"] == 1 and SECRET not in json.dumps(after)
    with schema_context("tenant_a"):
        assert (
            AuditEvent.objects.filter(action="conversations.exported", actor_id=tenant_a.finance.public_id).count() == 2
        )
