"""Deletion with receipts: a document, a conversation, a user's memories, a user; each cascades and is audited."""

import pytest
from django_tenants.utils import schema_context

from chat.conversations.services import answer_store, conversation_create, message_add
from chat.memory.services import remember
from chat.models import Citation, Conversation, Feedback, MemoryFact, Message, Trace, TrainingExport
from chat.training import services as training
from inference.models import LlmCall
from ingestion.services import document_upload
from tenants.accounts.models import ApiKey, AuditEvent, User
from tenants.models import ApiKeyRoute

pytestmark = pytest.mark.django_db


def _answered(world, user, *, document=None):
    """A conversation of `user` with one cited answer drawing on `document`, rated, and exported."""
    conversation = conversation_create(tenant=world.tenant, user=user, title="Travel")
    message_add(tenant=world.tenant, conversation=conversation, role="user", content="Travel class?")
    citations = (
        []
        if document is None
        else [
            {
                "number": 1,
                "chunk_id": "00000000-0000-0000-0000-000000000001",
                "document_id": document.public_id,
                "version": 1,
                "page": 1,
                "section": "",
                "title": "policy",
                "quote": "Economy under six hours.",
                "support": 1.0,
            }
        ]
    )
    answer = answer_store(
        tenant=world.tenant,
        conversation=conversation,
        content="Economy [1].",
        status="complete",
        error_code="",
        citations=citations,
        trace={"question": "Travel class?"},
        context_documents=[document.public_id] if document else [],
    )
    Feedback.objects.create(message=answer, user=user, rating=1)
    return conversation, answer


def _exported(world):
    training.tenant_consent_set(tenant=world.tenant, consent=True, actor=world.admin)
    return training.export_create(tenant=world.tenant, actor=world.admin)


def _document(world):
    return document_upload(tenant=world.tenant, user=world.admin, filename="policy.txt", data=b"Economy.").document


def test_deleting_a_document_removes_its_quotes_traces_and_exports_with_a_receipt(api, tenant_a):
    with schema_context("tenant_a"):
        document = _document(tenant_a)
        _conversation, answer = _answered(tenant_a, tenant_a.finance, document=document)
        export = _exported(tenant_a)

    response = api("delete", f"/api/v1/documents/{document.public_id}/", key=tenant_a.admin_key)

    receipt = response.json()["receipt"]
    assert {k: receipt[k] for k in ("versions", "citations", "traces", "training_exports")} == {
        "versions": 1,
        "citations": 1,
        "traces": 1,
        "training_exports": 1,
    }
    assert receipt["deleted_at"]
    with schema_context("tenant_a"):
        assert not Citation.objects.filter(message=answer).exists()
        assert not Trace.objects.filter(message=answer).exists()
        assert not TrainingExport.objects.filter(pk=export.pk).exists()
        assert Message.objects.filter(pk=answer.pk).exists()  # the user's conversation stays theirs
        assert AuditEvent.objects.filter(action="document.deleted", target_id=str(document.public_id)).exists()


def test_marking_a_document_no_train_removes_exports_that_drew_on_it(api, tenant_a):
    with schema_context("tenant_a"):
        document = _document(tenant_a)
        _answered(tenant_a, tenant_a.finance, document=document)
        _exported(tenant_a)

    response = api("patch", f"/api/v1/documents/{document.public_id}/", key=tenant_a.admin_key, data={"no_train": True})

    assert response.status_code == 200 and response.json()["no_train"] is True
    with schema_context("tenant_a"):
        assert not TrainingExport.objects.exists()
        event = AuditEvent.objects.get(action="document.no_train_changed")
        assert event.detail == {"from": False, "to": True, "removed": {"training_exports": 1}}


def test_deleting_a_conversation_cascades_and_is_audited(api, tenant_a):
    with schema_context("tenant_a"):
        conversation, answer = _answered(tenant_a, tenant_a.finance, document=_document(tenant_a))
        _exported(tenant_a)

    response = api("delete", f"/api/v1/conversations/{conversation.public_id}/", key=tenant_a.finance_key)

    assert response.json()["receipt"]["removed"] == {
        "messages": 2,
        "citations": 1,
        "traces": 1,
        "feedback": 1,
        "preferences": 0,
        "training_exports": 1,
    }
    with schema_context("tenant_a"):
        assert not Message.objects.filter(pk=answer.pk).exists()
        assert not TrainingExport.objects.exists()
        assert AuditEvent.objects.filter(action="conversation.deleted", actor_id=tenant_a.finance.public_id).exists()


def test_marking_a_conversation_no_train_excludes_it_and_its_exports(api, tenant_a):
    with schema_context("tenant_a"):
        conversation, _answer = _answered(tenant_a, tenant_a.finance)
        _exported(tenant_a)

    response = api(
        "patch", f"/api/v1/conversations/{conversation.public_id}/", key=tenant_a.finance_key, data={"no_train": True}
    )

    assert response.json()["no_train"] is True
    with schema_context("tenant_a"):
        assert not TrainingExport.objects.exists()
        assert training.tenant_export(tenant=tenant_a.tenant).sft == []


def test_forgetting_memories_returns_a_receipt_and_is_audited(api, tenant_a):
    with schema_context("tenant_a"):
        remember(tenant=tenant_a.tenant, user=tenant_a.finance, text="I prefer aisle seats")
        remember(tenant=tenant_a.tenant, user=tenant_a.legal, text="I prefer window seats")

    response = api("delete", "/api/v1/memories/", key=tenant_a.finance_key)

    assert response.json()["receipt"]["facts_deleted"] == 1
    with schema_context("tenant_a"):
        assert MemoryFact.objects.count() == 1  # the other user's memory stays
        assert AuditEvent.objects.filter(action="memory.forgotten", actor_id=tenant_a.finance.public_id).exists()


def test_erasing_a_user_removes_everything_of_theirs_and_pseudonymises_the_audit(api, tenant_a):
    with schema_context("tenant_a"):
        finance = tenant_a.finance
        conversation, _answer = _answered(tenant_a, finance, document=_document(tenant_a))
        remember(tenant=tenant_a.tenant, user=finance, text="My desk is 4.12")
        LlmCall.objects.create(user_id=finance.public_id, purpose="chat", status="complete")
        _exported(tenant_a)
        others = Conversation.objects.exclude(user=finance).count()
        prefixes = list(ApiKey.objects.filter(user=finance).values_list("prefix", flat=True))

    response = api("post", f"/api/v1/users/{finance.public_id}/erase/", key=tenant_a.admin_key)

    removed = response.json()["receipt"]["removed"]
    assert response.status_code == 200
    assert {k: removed[k] for k in ("conversations", "messages", "feedback", "memory_facts", "api_keys")} == {
        "conversations": 1,
        "messages": 2,
        "feedback": 1,
        "memory_facts": 1,
        "api_keys": 1,
    }
    assert removed["training_exports"] == 1 and removed["llm_calls_anonymised"] == 1
    assert api("get", "/api/v1/me/", key=tenant_a.finance_key).status_code == 401
    assert not ApiKeyRoute.objects.filter(prefix__in=prefixes).exists()
    with schema_context("tenant_a"):
        assert not User.objects.filter(public_id=finance.public_id).exists()
        assert Conversation.objects.count() == others
        assert not Conversation.objects.filter(pk=conversation.pk).exists()
        assert not AuditEvent.objects.filter(actor_label="fay").exists()
        assert AuditEvent.objects.filter(action="user.erased", target_id=str(finance.public_id)).exists()
        assert LlmCall.objects.filter(user_id__isnull=True, purpose="chat").exists()


def test_an_admin_cannot_erase_themselves_and_members_cannot_erase(api, tenant_a):
    own = api("post", f"/api/v1/users/{tenant_a.admin.public_id}/erase/", key=tenant_a.admin_key)
    member = api("post", f"/api/v1/users/{tenant_a.legal.public_id}/erase/", key=tenant_a.finance_key)

    assert own.status_code == 409 and member.status_code == 403
    with schema_context("tenant_a"):
        assert User.objects.filter(public_id=tenant_a.legal.public_id).exists()
