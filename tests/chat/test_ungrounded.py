"""Ungrounded answers: off by default (abstain); a tenant admin may allow them, labelled, never cited."""

import pytest
from django.db import connection

from tenants.accounts.models import AuditEvent
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

QUESTION = "What is the capital of Australia?"


def ask(api, world):
    conversation = api("post", "/api/v1/conversations/", key=world.legal_key, data={}).json()["id"]
    return api(
        "post",
        f"/api/v1/conversations/{conversation}/messages/",
        key=world.legal_key,
        data={"content": QUESTION, "stream": False},
    ).json()


def test_by_default_the_assistant_abstains(api, fake_llm, tenant_a, handbook):
    body = ask(api, tenant_a)

    assert body["message"]["status"] == "abstained" and fake_llm.requests == []


def test_an_admin_allows_labelled_ungrounded_answers(api, fake_llm, tenant_a, handbook):
    fake_llm.answer("Canberra.")
    changed = api("patch", "/api/v1/chat/settings/", key=tenant_a.admin_key, data={"allow_ungrounded_answers": True})

    body = ask(api, tenant_a)

    assert changed.json() == {
        "allow_ungrounded_answers": True,
        "admin_reads_traces": False,
        "trace_access_requested_by": None,
    }
    assert body["message"]["status"] == "ungrounded" and body["message"]["citations"] == []
    assert body["message"]["text"] == "Not from your documents: Canberra."
    assert "Passages" not in str(fake_llm.requests[0]["body"]["messages"])
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).allow_ungrounded_answers
    connection.set_tenant(tenant_a.tenant)
    try:
        assert AuditEvent.objects.filter(action="chat.ungrounded_answers_changed").exists()
    finally:
        connection.set_schema_to_public()


def test_members_cannot_change_the_policy(api, tenant_a):
    response = api("patch", "/api/v1/chat/settings/", key=tenant_a.legal_key, data={"allow_ungrounded_answers": True})

    assert response.status_code == 403
