"""The dashboard's numbers come from the tenant's own rows, by day, and only its admins see the page."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from chat.conversations.services import answer_store, conversation_create, feedback_give
from chat.dashboard import appliance_overview, tenant_dashboard
from inference.models import LlmCall
from ingestion.models import DocumentVersion
from ingestion.services import document_upload
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _answer(world, conversation, status, moderation=("", "")):
    return answer_store(
        tenant=world.tenant,
        conversation=conversation,
        content="an answer",
        status=status,
        error_code="",
        citations=[],
        trace={},
        context_documents=[],
        moderation=moderation,
    )


def _seed(world):
    conversation = conversation_create(tenant=world.tenant, user=world.finance, title="t")
    answers = [_answer(world, conversation, s) for s in ("complete", "complete", "abstained", "refused")]
    _answer(world, conversation, "refused", ("refuse", "weapons"))
    _answer(world, conversation, "complete", ("caution", "weapons"))
    _answer(world, conversation, "complete", ("caution", "self_harm"))
    for message, rating in ((answers[0], 1), (answers[1], 1), (answers[2], -1)):
        feedback_give(tenant=world.tenant, message=message, user=world.finance, rating=rating, reason="", comment="")
    for ttft, tokens in ((100, 300), (200, 400), (900, 500)):
        LlmCall.objects.create(
            purpose="chat", status="complete", ttft_ms=ttft, prompt_tokens=tokens, completion_tokens=10
        )
    old = LlmCall.objects.create(purpose="chat", status="complete", ttft_ms=5000, prompt_tokens=7)
    LlmCall.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    failed = document_upload(tenant=world.tenant, user=world.admin, filename="scan.png", data=b"\x89PNG" + b"\0" * 9)
    DocumentVersion.objects.filter(document=failed.document).update(status="failed", error="no OCR: scanned image")


def test_the_dashboard_counts_todays_answers_ratings_latency_tokens_and_failures(tenant_a, tenant_b):
    with schema_context("tenant_b"):
        other_before = tenant_dashboard(tenant=tenant_b.tenant)
    with schema_context("tenant_a"):
        _seed(tenant_a)
        data = tenant_dashboard(tenant=tenant_a.tenant)
    with schema_context("tenant_b"):
        other = tenant_dashboard(tenant=tenant_b.tenant)

    assert len(data["days"]) == 30 and data["days"][-1] == timezone.now().date().isoformat()
    today = {status: series[-1] for status, series in data["answers"].items()}
    assert (today["complete"], today["abstained"], today["refused"]) == (4, 1, 2)
    assert (data["thumbs_up_rate"][-1], data["rated"][-1]) == (round(2 / 3, 3), 3)
    assert data["first_token_ms"]["p50"][-1] == 200
    assert data["first_token_ms"]["p95"][-1] == 830  # interpolated between 200 and 900; the 40-day-old call is out
    assert data["tokens"][-1] == 300 + 400 + 500 + 30
    assert data["ingestion"]["failed"][-1] == 1
    assert data["ingestion"]["failure_reasons"] == [{"reason": "no OCR", "count": 1}]
    assert data["moderation"] == [
        {"category": "weapons", "caution": 1, "refuse": 1},
        {"category": "self_harm", "caution": 1, "refuse": 0},
    ]
    assert other == other_before  # tenant B's numbers do not move with tenant A's rows


def test_only_a_tenant_admin_opens_the_dashboard(client, tenant_a):
    assert client.get("/dashboard/", HTTP_HOST=tenant_a.host)["Location"].startswith("/login/")
    client.post("/login/", {"username": "fay", "password": PASSWORD}, HTTP_HOST=tenant_a.host)
    assert client.get("/dashboard/", HTTP_HOST=tenant_a.host).status_code == 403
    client.post("/logout/", HTTP_HOST=tenant_a.host)
    client.post("/login/", {"username": "admin", "password": PASSWORD}, HTTP_HOST=tenant_a.host)
    with schema_context("tenant_a"):
        LlmCall.objects.create(purpose="chat", status="complete", user_id=tenant_a.finance.public_id, prompt_tokens=321)
    page = client.get("/dashboard/", HTTP_HOST=tenant_a.host)
    assert page.status_code == 200 and b'id="dashboard-table"' in page.content
    assert b'<th scope="row">fay</th><td>1</td><td>321</td>' in page.content  # model usage by person


def test_the_operator_overview_sums_moderation_per_tenant(tenant_a):
    before = appliance_overview(tenants=[tenant_a.tenant])[0]
    with schema_context("tenant_a"):
        _seed(tenant_a)
    after = appliance_overview(tenants=[tenant_a.tenant])[0]

    assert after["cautioned"] - before["cautioned"] == 2
    assert after["refused_by_category"].get("weapons", 0) - before["refused_by_category"].get("weapons", 0) == 1
    assert after["answers"]["refused"] - before["answers"]["refused"] == 2  # one refused without a category
    assert after["ingestion_failed"] - before["ingestion_failed"] == 1
    assert after["first_token_ms"]["p50"] is not None and after["first_token_ms"]["p95"] >= 200
