"""Long-term memory: opt-in, per user, listed and deleted by its owner, used as low-priority context."""

import pytest
from django_tenants.utils import schema_context

from chat.models import MemoryFact

pytestmark = pytest.mark.django_db


def ask(api, key, content):
    conversation = api("post", "/api/v1/conversations/", key=key, data={}).json()["id"]
    return api(
        "post", f"/api/v1/conversations/{conversation}/messages/", key=key, data={"content": content, "stream": False}
    ).json()


def test_memory_is_off_until_the_user_turns_it_on(api, fake_llm, tenant_a):
    reply = ask(api, tenant_a.legal_key, "Remember that I work from the Lyon office.")

    assert "Memory is off" in reply["message"]["text"]
    assert api("get", "/api/v1/memories/", key=tenant_a.legal_key).json() == {"enabled": False, "results": []}
    assert api("post", "/api/v1/memories/", key=tenant_a.legal_key, data={"content": "x"}).status_code == 409


def test_remembered_facts_are_listed_encrypted_used_and_deleted(api, fake_llm, tenant_a, handbook):
    api("put", "/api/v1/memories/settings/", key=tenant_a.legal_key, data={"enabled": True})

    reply = ask(api, tenant_a.legal_key, "Remember that I work from the Lyon office.")
    listed = api("get", "/api/v1/memories/", key=tenant_a.legal_key).json()
    fake_llm.answer("Flights shorter than six hours are booked in economy class [1].")
    ask(api, tenant_a.legal_key, "Which class may I book for a four hour flight?")

    assert reply["message"]["text"].startswith("I will remember that: I work from the Lyon office")
    assert [fact["content"] for fact in listed["results"]] == ["I work from the Lyon office"]
    with schema_context(tenant_a.tenant.schema_name):
        assert b"Lyon" not in bytes(MemoryFact.objects.get().content_encrypted)
    system = fake_llm.requests[-1]["body"]["messages"][0]["content"]
    assert "- I work from the Lyon office" in system and "never cite them" in system

    fact = listed["results"][0]["id"]
    receipt = api("delete", f"/api/v1/memories/{fact}/", key=tenant_a.legal_key).json()["receipt"]
    assert receipt["facts_deleted"] == 1
    assert api("get", "/api/v1/memories/", key=tenant_a.legal_key).json()["results"] == []


def test_one_users_memory_never_reaches_another_user(api, fake_llm, tenant_a, handbook):
    api("put", "/api/v1/memories/settings/", key=tenant_a.legal_key, data={"enabled": True})
    api("put", "/api/v1/memories/settings/", key=tenant_a.finance_key, data={"enabled": True})
    ask(api, tenant_a.legal_key, "Remember that my badge number is 4471.")
    fake_llm.answer("Flights shorter than six hours are booked in economy class [1].")

    ask(api, tenant_a.finance_key, "Which class may I book for a four hour flight?")
    listed = api("get", "/api/v1/memories/", key=tenant_a.finance_key).json()

    assert "4471" not in str(fake_llm.requests[-1]["body"]) and listed["results"] == []
    fact_of_legal = api("get", "/api/v1/memories/", key=tenant_a.legal_key).json()["results"][0]["id"]
    assert api("delete", f"/api/v1/memories/{fact_of_legal}/", key=tenant_a.finance_key).status_code == 404


def test_forget_everything(api, tenant_a):
    api("put", "/api/v1/memories/settings/", key=tenant_a.legal_key, data={"enabled": True})
    for fact in ("a b c", "d e f"):
        api("post", "/api/v1/memories/", key=tenant_a.legal_key, data={"content": fact})

    receipt = api("delete", "/api/v1/memories/", key=tenant_a.legal_key).json()["receipt"]

    assert receipt["facts_deleted"] == 2
