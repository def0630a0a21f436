"""Who opens answer traces to a tenant's admins, and what a trace shows them: opening takes two people
(an admin asks, a second admin or the operator agrees), closing takes one; a trace shows only what its
reader may read; members see on their data page whether admins read their traces."""

import json

import pytest
from django_tenants.utils import schema_context

from chat.conversations.transcripts import trace_as_read
from tenants.accounts import services as accounts
from tenants.accounts.models import AuditEvent, User

pytestmark = pytest.mark.django_db

QUESTION = "When does the Project Zanzibar acquisition of Kestrel Labs close?"
ANSWER = "The acquisition of Kestrel Labs closes in March for 42 million euros [1]. The moon is cheese [1]."
SECRET = "42 million"


@pytest.fixture
def second_admin_key(tenant_a) -> str:
    with schema_context("tenant_a"):
        ada, _ = accounts.user_create(username="ada", role=User.Role.ADMIN, actor=tenant_a.admin)
        return accounts.api_key_create(user=ada, name="tests", actor=ada)[1]


def traces_switch(api, key: str, on: bool) -> dict:
    response = api("patch", "/api/v1/chat/settings/", key=key, data={"admin_reads_traces": on})
    assert response.status_code == 200
    return response.json()


def asked(api, key: str) -> str:
    conversation = api("post", "/api/v1/conversations/", key=key, data={"title": "Deal"}).json()["id"]
    body = api(
        "post", f"/api/v1/conversations/{conversation}/messages/", key=key, data={"content": QUESTION, "stream": False}
    ).json()
    return body["message"]["id"]


def trace_read(api, world, message: str):
    return api("get", f"/api/v1/messages/{message}/trace/", key=world.admin_key)


def actions(*names: str) -> list[AuditEvent]:
    with schema_context("tenant_a"):
        return list(AuditEvent.objects.filter(action__in=names).order_by("id"))


def test_one_admin_alone_only_asks_and_the_traces_stay_closed(api, fake_llm, tenant_a, handbook):
    fake_llm.answer(ANSWER)
    message = asked(api, tenant_a.legal_key)

    first = traces_switch(api, tenant_a.admin_key, True)
    again = traces_switch(api, tenant_a.admin_key, True)

    assert first["admin_reads_traces"] is False and first["trace_access_requested_by"] == "admin"
    assert again == first  # asking twice is not a second person
    assert trace_read(api, tenant_a, message).status_code == 403
    assert [e.actor_label for e in actions("chat.trace_access_requested")] == ["admin"]


def test_a_second_admin_opens_the_traces_the_first_asked_for(api, fake_llm, tenant_a, handbook, second_admin_key):
    fake_llm.answer(ANSWER)
    message = asked(api, tenant_a.legal_key)
    traces_switch(api, tenant_a.admin_key, True)

    opened = traces_switch(api, second_admin_key, True)

    assert opened["admin_reads_traces"] is True and opened["trace_access_requested_by"] is None
    assert trace_read(api, tenant_a, message).status_code == 200
    changed = actions("chat.trace_access_changed")[-1]
    assert changed.actor_label == "ada" and changed.detail["requested_by"] == "admin"


def test_the_operator_opens_a_tenants_traces_and_the_tenant_audit_log_says_so(
    api, fake_llm, tenant_a, handbook, operator
):
    fake_llm.answer(ANSWER)
    message = asked(api, tenant_a.legal_key)
    path = f"/api/v1/operator/tenants/{tenant_a.tenant.pk}/trace-access/"

    refused = api("put", path, key=tenant_a.admin_key, data={"admin_reads_traces": True})
    opened = api("put", path, key=operator.key, data={"admin_reads_traces": True})

    assert refused.status_code in (403, 404)
    assert opened.status_code == 200 and opened.json()["admin_reads_traces"] is True
    assert trace_read(api, tenant_a, message).status_code == 200
    assert [e.actor_label for e in actions("chat.trace_access_changed")] == ["ops"]


def test_one_admin_closes_the_traces_alone(api, fake_llm, tenant_a, handbook, second_admin_key):
    fake_llm.answer(ANSWER)
    message = asked(api, tenant_a.legal_key)
    traces_switch(api, tenant_a.admin_key, True)
    traces_switch(api, second_admin_key, True)

    closed = traces_switch(api, tenant_a.admin_key, False)

    assert closed["admin_reads_traces"] is False and trace_read(api, tenant_a, message).status_code == 403


def test_a_trace_shows_its_reader_only_the_passages_they_may_read(
    api, fake_llm, settings, tenant_a, handbook, second_admin_key
):
    settings.ENCLAVE_QUOTE_SCORE = 1.0  # the model's draft, not a quote: the fake engine answers
    fake_llm.answer(ANSWER)
    message = asked(api, tenant_a.finance_key)  # Fay of finance, from the memo only finance reads
    traces_switch(api, tenant_a.admin_key, True)
    traces_switch(api, second_admin_key, True)

    outside = trace_read(api, tenant_a, message).json()
    with schema_context("tenant_a"):
        accounts.group_member_add(group=tenant_a.finance_group, user=tenant_a.admin, actor=tenant_a.admin)
    inside = trace_read(api, tenant_a, message).json()

    assert SECRET in json.dumps(inside)  # the positive control: read from inside the group, it is all there
    assert SECRET not in json.dumps(outside) and "Kestrel Labs closes" not in json.dumps(outside)
    assert outside["question"] == QUESTION  # what trace reading opens: the member's question
    assert outside["message"]["sources_withheld"] == 1 and outside["message"]["citations"] == [
        {"number": 1, "available": False}
    ]
    withheld = [e for e in outside["evidence"] if e.get("withheld")]
    assert withheld and all(e["sentence"] is None for e in withheld)
    assert [r["sentence"] for r in outside["removed_sentences"]] == [None]
    assert [d["claim"] for d in outside["diagnosis"]] == [None]
    assert [r["sentence"] for r in inside["removed_sentences"]] == ["The moon is cheese."]


def test_members_read_on_their_data_page_whether_admins_read_their_traces(api, client, tenant_a, second_admin_key):
    def data_page() -> str:
        with schema_context("tenant_a"):
            client.force_login(tenant_a.legal)
        return client.get("/data/", HTTP_HOST=tenant_a.host).content.decode()

    closed = data_page()
    traces_switch(api, tenant_a.admin_key, True)
    asked_for = data_page()
    traces_switch(api, second_admin_key, True)
    opened = data_page()

    assert "Admins cannot read your questions and answers" in closed
    assert "admin asked to read the traces" in asked_for
    assert "Admins can read the traces of your answers" in opened and " since 20" in opened


def test_a_question_rewritten_from_answers_the_reader_cannot_read_is_withheld_and_one_asked_as_is_stays():
    rewritten = {"question": "And its price?", "standalone_query": "What does the Kestrel deal cost?"}
    as_asked = {"question": "When does it close?", "standalone_query": "When does it close?"}

    assert trace_as_read(rewritten, hidden=set(), history_hidden=True)["standalone_query"] is None
    assert trace_as_read(rewritten, hidden=set(), history_hidden=False) == rewritten
    assert trace_as_read(as_asked, hidden=set(), history_hidden=True) == as_asked
