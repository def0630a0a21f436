import json
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from chat.conversations import retention
from chat.conversations.services import answer_store, conversation_create, feedback_give, message_add, preference_give
from chat.models import Citation, Conversation, Feedback, Message, Preference, Trace, TrainingExport
from chat.tasks import retention_enforce as retention_enforce_task
from config.celery import app
from tenants import services
from tenants.accounts.models import AuditEvent
from tenants.models import Tenant
from tenants.tasking import TENANT_KWARG
from tenants.tasks import retention_dispatch
from tests.processes import celery_worker, in_own_connection

pytestmark = pytest.mark.django_db


def _retain(world, *, conversations=None, traces=None) -> Tenant:
    Tenant.objects.filter(pk=world.tenant.pk).update(
        conversation_retention_days=conversations, trace_retention_days=traces
    )
    world.tenant.refresh_from_db()
    return world.tenant


def _answer(world, conversation, *, regenerated_from=None) -> Message:
    return answer_store(
        tenant=world.tenant,
        conversation=conversation,
        content="Economy class for flights shorter than six hours [1].",
        status=Message.Status.COMPLETE,
        error_code="",
        citations=[
            {
                "number": 1,
                "chunk_id": uuid.uuid4(),
                "document_id": uuid.uuid4(),
                "version": 1,
                "quote": "Employees may book economy class for flights shorter than six hours.",
                "support": 0.9,
            }
        ],
        trace={"question": "How may I fly?"},
        context_documents=[],
        regenerated_from=regenerated_from,
    )


def _conversation(world, *, idle_days: int) -> Conversation:
    """A question, an answer and its regeneration (citations, traces), feedback and a preference,
    last updated `idle_days` ago."""
    tenant, user = world.tenant, world.finance
    with schema_context(tenant.schema_name):
        conversation = conversation_create(tenant=tenant, user=user, title="Travel")
        message_add(tenant=tenant, conversation=conversation, role=Message.Role.USER, content="How may I fly?")
        answer = _answer(world, conversation)
        regenerated = _answer(world, conversation, regenerated_from=answer)
        feedback_give(tenant=tenant, message=answer, user=user, rating=1, reason="", comment="clear")
        preference_give(chosen=regenerated, rejected=answer, user=user)
        idle_since = timezone.now() - timedelta(days=idle_days)
        Conversation.objects.filter(pk=conversation.pk).update(updated_at=idle_since)
    return conversation


def _export(world, *conversations) -> TrainingExport:
    with schema_context(world.tenant.schema_name):
        return TrainingExport.objects.create(
            sft_encrypted=b"",
            preferences_encrypted=b"",
            conversation_ids=[conversation.public_id for conversation in conversations],
        )


def _rows(world, conversation) -> dict:
    """How many rows of each kind hang off a conversation."""
    with schema_context(world.tenant.schema_name):
        messages = Message.objects.filter(conversation_id=conversation.pk)
        return {
            "conversation": Conversation.objects.filter(pk=conversation.pk).count(),
            "messages": messages.count(),
            "citations": Citation.objects.filter(message__in=messages).count(),
            "traces": Trace.objects.filter(message__in=messages).count(),
            "feedback": Feedback.objects.filter(message__in=messages).count(),
            "preferences": Preference.objects.filter(chosen__in=messages).count(),
        }


FULL = {"conversation": 1, "messages": 3, "citations": 2, "traces": 2, "feedback": 1, "preferences": 1}
GONE = dict.fromkeys(FULL, 0)


def _retention_audits(world):
    with schema_context(world.tenant.schema_name):
        return list(AuditEvent.objects.filter(action="retention.enforced"))


def test_conversations_idle_past_the_period_are_deleted_with_everything_under_them(tenant_a):
    tenant = _retain(tenant_a, conversations=30)
    old = _conversation(tenant_a, idle_days=31)
    recent = _conversation(tenant_a, idle_days=29)

    receipt = retention.retention_enforce(tenant=tenant)

    assert _rows(tenant_a, old) == GONE
    assert _rows(tenant_a, recent) == FULL
    assert receipt["conversations_deleted"] == 1
    assert receipt["messages_deleted"] == 3
    assert receipt["traces_deleted"] == 2
    assert connection.schema_name == "public"


def test_traces_past_their_period_are_deleted_and_their_messages_stay(tenant_a):
    tenant = _retain(tenant_a, traces=7)
    conversation = _conversation(tenant_a, idle_days=400)
    with schema_context("tenant_a"):
        first_answer = Message.objects.get(conversation=conversation, regenerated_from=None, role="assistant")
        Trace.objects.filter(message=first_answer).update(created_at=timezone.now() - timedelta(days=8))

    receipt = retention.retention_enforce(tenant=tenant)

    assert _rows(tenant_a, conversation) == {**FULL, "traces": 1}
    with schema_context("tenant_a"):
        assert not Trace.objects.filter(message=first_answer).exists()
    assert receipt["traces_deleted"] == 1
    assert receipt["conversations_deleted"] == receipt["messages_deleted"] == 0


def test_a_tenant_without_periods_keeps_everything_and_audits_nothing(tenant_a):
    conversation = _conversation(tenant_a, idle_days=3650)
    with schema_context("tenant_a"):
        Trace.objects.update(created_at=timezone.now() - timedelta(days=3650))

    receipt = retention.retention_enforce(tenant=tenant_a.tenant)

    assert _rows(tenant_a, conversation) == FULL
    assert receipt["cutoffs"] == {"conversations": None, "traces": None}
    assert [receipt[key] for key in ("conversations_deleted", "traces_deleted", "exports_deleted")] == [0, 0, 0]
    assert _retention_audits(tenant_a) == []


def test_another_tenants_conversations_and_exports_are_untouched(tenant_a, tenant_b):
    tenant = _retain(tenant_a, conversations=30, traces=1)
    _retain(tenant_b, conversations=30, traces=1)
    _conversation(tenant_a, idle_days=31)
    theirs = _conversation(tenant_b, idle_days=31)
    their_export = _export(tenant_b, theirs)

    retention.retention_enforce(tenant=tenant)

    assert _rows(tenant_b, theirs) == FULL
    with schema_context("tenant_b"):
        assert TrainingExport.objects.filter(pk=their_export.pk).exists()
    assert _retention_audits(tenant_b) == []


def test_a_training_export_that_drew_from_a_deleted_conversation_is_deleted(tenant_a):
    tenant = _retain(tenant_a, conversations=30)
    old = _conversation(tenant_a, idle_days=31)
    recent = _conversation(tenant_a, idle_days=1)
    mixed = _export(tenant_a, recent, old)
    kept = _export(tenant_a, recent)

    receipt = retention.retention_enforce(tenant=tenant)

    with schema_context("tenant_a"):
        assert list(TrainingExport.objects.filter(pk__in=[mixed.pk, kept.pk])) == [kept]
    assert receipt["exports_deleted"] == 1


def test_the_receipt_counts_everything_deleted_and_is_audited(tenant_a):
    tenant = _retain(tenant_a, conversations=30, traces=7)
    _conversation(tenant_a, idle_days=31)
    _export(tenant_a, _conversation(tenant_a, idle_days=60))
    kept = _conversation(tenant_a, idle_days=1)
    with schema_context("tenant_a"):
        Trace.objects.filter(message__conversation=kept).update(created_at=timezone.now() - timedelta(days=8))
    now = timezone.now()

    receipt = retention.retention_enforce(tenant=tenant, now=now)

    assert receipt == {
        "tenant": "tenant_a",
        "ran_at": now.isoformat(),
        "conversations_deleted": 2,
        "messages_deleted": 6,
        "traces_deleted": 6,  # 4 with their conversations, 2 past the trace period
        "exports_deleted": 1,
        "cutoffs": {
            "conversations": (now - timedelta(days=30)).isoformat(),
            "traces": (now - timedelta(days=7)).isoformat(),
        },
    }
    [event] = _retention_audits(tenant_a)
    assert (event.actor_id, event.actor_label) == (None, "system")
    assert (event.target_type, event.target_id) == ("tenant", "tenant_a")
    assert event.detail == receipt


def test_a_large_backlog_is_deleted_batch_by_batch(tenant_a):
    tenant = _retain(tenant_a, conversations=30, traces=7)
    old = [_conversation(tenant_a, idle_days=31) for _ in range(5)]
    kept = _conversation(tenant_a, idle_days=1)
    with schema_context("tenant_a"):
        Trace.objects.filter(message__conversation=kept).update(created_at=timezone.now() - timedelta(days=8))

    with mock.patch.object(retention, "BATCH_SIZE", 2):
        receipt = retention.retention_enforce(tenant=tenant)

    assert [_rows(tenant_a, conversation) for conversation in old] == [GONE] * 5
    assert _rows(tenant_a, kept) == {**FULL, "traces": 0}
    assert (receipt["conversations_deleted"], receipt["messages_deleted"], receipt["traces_deleted"]) == (5, 15, 12)


def test_the_retention_task_runs_in_the_tenants_schema(tenant_a):
    _retain(tenant_a, conversations=30)
    old = _conversation(tenant_a, idle_days=31)

    receipt = retention_enforce_task.apply(kwargs={TENANT_KWARG: "tenant_a"}).get()

    assert receipt["tenant"] == "tenant_a"
    assert receipt["conversations_deleted"] == 1
    assert _rows(tenant_a, old) == GONE
    assert connection.schema_name == "public"


def _dispatched() -> list[tuple[str, str]]:
    sent = []

    def enqueue(task, *, tenant, **kwargs):
        sent.append((task.name, tenant.schema_name))

    with mock.patch("tenants.tasks.tenant_task_enqueue", enqueue):
        retention_dispatch.apply().get()
    return sent


def test_the_dispatcher_enqueues_retention_only_for_tenants_with_a_period(tenant_a, tenant_b):
    _retain(tenant_a, conversations=30)

    assert _dispatched() == [("chat.retention_enforce", "tenant_a")]

    _retain(tenant_b, traces=7)

    assert _dispatched() == [("chat.retention_enforce", "tenant_a"), ("chat.retention_enforce", "tenant_b")]


def test_the_dispatcher_skips_suspended_tenants(tenant_a, tenant_b):
    _retain(tenant_a, conversations=30)
    _retain(tenant_b, conversations=30)
    services.tenant_suspend(tenant=tenant_a.tenant)

    assert _dispatched() == [("chat.retention_enforce", "tenant_b")]


def test_the_dispatcher_sends_the_tenant_with_the_task(tenant_a):
    _retain(tenant_a, conversations=30)

    with mock.patch("celery.app.task.Task.apply_async") as apply_async:
        assert retention_dispatch.apply().get() == ["tenant_a"]

    apply_async.assert_called_once_with(kwargs={TENANT_KWARG: "tenant_a"})


def test_the_dispatcher_is_scheduled():
    [entry] = [entry for entry in app.conf.beat_schedule.values() if entry["task"] == "tenants.retention_dispatch"]

    assert entry["schedule"] > 0


@pytest.mark.integration
def test_a_real_worker_enforces_a_tenants_retention(world):
    tenant_a = world["a"]

    def plant():
        _retain(tenant_a, conversations=30)
        return _conversation(tenant_a, idle_days=31), _conversation(tenant_a, idle_days=1)

    def clean_up():
        _retain(tenant_a)
        with schema_context("tenant_a"):
            Conversation.objects.filter(pk=recent.pk).delete()
            AuditEvent.objects.filter(action="retention.enforced").delete()

    old, recent = in_own_connection(plant)
    try:
        with celery_worker() as worker:
            result = retention_enforce_task.apply_async(kwargs={TENANT_KWARG: "tenant_a"}, queue=worker.queue)
            receipt = result.get(timeout=120)
        assert receipt["conversations_deleted"] == 1
        assert in_own_connection(lambda: (_rows(tenant_a, old), _rows(tenant_a, recent))) == (GONE, FULL)
    finally:
        in_own_connection(clean_up)


def test_a_tenant_admin_sets_retention_periods_audited_and_members_cannot(api, tenant_a):
    refused = api("put", "/api/v1/retention/", key=tenant_a.finance_key, data={"conversation_days": 1, "trace_days": 1})
    invalid = api("put", "/api/v1/retention/", key=tenant_a.admin_key, data={"conversation_days": 0, "trace_days": 1})
    response = api(
        "put", "/api/v1/retention/", key=tenant_a.admin_key, data={"conversation_days": 30, "trace_days": None}
    )

    assert refused.status_code == 403 and invalid.status_code == 400
    assert response.json() == {"conversation_days": 30, "trace_days": None}
    assert api("get", "/api/v1/retention/", key=tenant_a.admin_key).json() == response.json()
    with schema_context("tenant_a"):
        event = AuditEvent.objects.get(action="retention.changed")
    assert event.detail["to"] == {"conversation_retention_days": 30, "trace_retention_days": None}


def test_the_command_sets_periods_and_enforces_them_now(tenant_a, capsys):
    with schema_context("tenant_a"):
        conversation = conversation_create(tenant=tenant_a.tenant, user=tenant_a.finance, title="old")
        Conversation.objects.filter(pk=conversation.pk).update(updated_at=timezone.now() - timedelta(days=40))

    call_command("retention", "--tenant", "tenant_a", "--conversation-days", "30", "--enforce")

    output = json.loads(capsys.readouterr().out)
    assert output["periods"] == {"conversation_days": 30, "trace_days": None}
    assert output["receipt"]["conversations_deleted"] == 1
    call_command("retention", "--tenant", "tenant_a", "--conversation-days", "keep")
    tenant_a.tenant.refresh_from_db()
    assert tenant_a.tenant.conversation_retention_days is None
