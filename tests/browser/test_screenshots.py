"""Screenshots of every page, desktop and 375 px wide, from a seeded demo tenant: documents ingested by a
real worker, a conversation with rated answers, a month of model calls. `scripts/screenshots` runs this
with ENCLAVE_SCREENSHOTS_DIR=docs/screenshots; in the suite it writes to a temporary folder, so the
script cannot rot unnoticed."""

import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from chat.conversations.services import answer_store, conversation_create, feedback_give, message_add
from chat.models import Message
from inference.models import LlmCall
from ingestion.models import Document
from ingestion.services import document_upload
from tenants import services
from tenants.accounts import services as accounts
from tests.browser.conftest import own_tenant, serious_accessibility_violations, sign_in
from tests.conftest import PASSWORD
from tests.processes import celery_worker, in_own_connection

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

SCHEMA = "tenant_demo"
DOCUMENTS = {
    "travel-policy.md": "# Travel policy\n\nEmployees book economy class for flights shorter than six hours. "
    "Business class is allowed above six hours with a manager's approval.\n",
    "expenses.md": "# Expenses\n\nReceipts are filed within 30 days. Meals abroad: up to 60 euros a day.\n",
    "security.md": "# Security\n\nLaptops lock after five minutes. Report a lost badge to the front desk at once.\n",
    "scan.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
}
CONVERSATION = [
    (
        "Which class may I book for a four hour flight?",
        "Economy class: flights shorter than six hours are booked in economy [1].",
        1,
    ),
    ("How long do I have to file receipts?", "Receipts are filed within **30 days** [1].", 1),
    ("What is the meal allowance abroad?", "I found nothing about that in your documents.", -1),
]
MODERATED = {1: ("caution", "specialized_advice"), 3: ("refuse", "weapons"), 5: ("caution", "privacy")}
PAGES = {
    "tenant-console": "/",
    "dashboard": "/dashboard/",
    "documents": "/documents/",
    "data": "/data/",
    "audit": "/audit/",
    "safety": "/safety/",
    "experiments": "/experiments/",
}


def _seed(tenant, users) -> None:
    with schema_context(SCHEMA):
        finance = accounts.group_create(name="finance", actor=users["boss"])
        accounts.group_member_add(group=finance, user=users["ana"], actor=users["boss"])
        for name, data in DOCUMENTS.items():
            body = data.encode() if isinstance(data, str) else data
            document_upload(tenant=tenant, user=users["boss"], filename=name, data=body)
        conversation = conversation_create(tenant=tenant, user=users["ana"], title="Travel and expenses")
        for question, answer, rating in CONVERSATION:
            message_add(tenant=tenant, conversation=conversation, role="user", content=question)
            status = "complete" if rating > 0 else "abstained"
            stored = answer_store(
                tenant=tenant,
                conversation=conversation,
                content=answer,
                status=status,
                error_code="",
                citations=[],
                trace={},
                context_documents=[],
            )
            feedback_give(tenant=tenant, message=stored, user=users["ana"], rating=rating, reason="", comment="")
        history = conversation_create(tenant=tenant, user=users["boss"], title="Earlier questions")
        now = timezone.now()
        for day in range(1, 29):
            when = now - timedelta(days=day)
            for index in range(2 + day % 4):
                call = LlmCall.objects.create(
                    purpose="chat",
                    status="complete",
                    prompt_tokens=300 + 20 * index,
                    completion_tokens=40,
                    ttft_ms=400 + 37 * ((day * 7 + index) % 11),
                )
                LlmCall.objects.filter(pk=call.pk).update(created_at=when)
            moderated = MODERATED.get(day % 7, ("", ""))
            answered = message_add(
                tenant=tenant,
                conversation=history,
                role="assistant",
                content="(earlier)",
                status="refused" if moderated[0] == "refuse" else "complete" if day % 5 else "abstained",
                moderation_action=moderated[0],
                moderation_category=moderated[1],
            )
            Message.objects.filter(pk=answered.pk).update(created_at=when)


def _ingested() -> bool:
    with schema_context(SCHEMA):
        return not Document.objects.exclude(status__in=["indexed", "failed"]).exists()


@pytest.fixture(scope="module")
def demo(world, django_db_blocker):
    queue = f"screens-{uuid.uuid4().hex[:8]}"
    with (
        own_tenant(django_db_blocker, name="Acme Demo", schema=SCHEMA, members=("ana",)) as (tenant, users),
        override_settings(ENCLAVE_INGESTION_QUEUE=queue),
        celery_worker(queue=queue, extra_env={"ENCLAVE_INGESTION_QUEUE": queue}),
    ):
        in_own_connection(lambda: _seed(tenant, users))
        deadline = time.monotonic() + 300
        while not in_own_connection(_ingested) and time.monotonic() < deadline:
            time.sleep(1)
        assert in_own_connection(_ingested), "the demo documents were not ingested"
        yield services.tenant_domain(SCHEMA)


SIDEWAYS = "document.documentElement.scrollWidth - window.innerWidth"


def _shoot(page, folder: Path, name: str, url: str, prepare=None, problems: list | None = None) -> list[Path]:
    """Photographs the page at both widths; at each, what axe finds serious and any sideways scroll of
    the whole page go to `problems` (wide tables scroll inside their own region, which is fine)."""
    written = []
    for label, width, height in (("desktop", 1280, 900), ("375px", 375, 812)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(url)
        page.wait_for_load_state("networkidle")
        if prepare:
            prepare(page)
        if problems is not None:
            overflow = page.evaluate(SIDEWAYS)
            problems += [(name, label, "scrolls sideways", overflow)] if overflow > 0 else []
            problems += [(name, label, v["id"], v["nodes"]) for v in serious_accessibility_violations(page)]
        path = folder / f"{name}-{label}.jpg"
        page.screenshot(path=str(path), full_page=True, type="jpeg", quality=70)
        written.append(path)
    return written


def _open_conversation(page) -> None:
    page.click("button.open:text-is('Travel and expenses')")
    page.wait_for_selector(".turn.assistant")


def test_every_page_is_photographed_at_desktop_and_phone_width(browser_page, server_port, demo, tmp_path):
    folder = Path(os.environ.get("ENCLAVE_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page = browser_page
    tenant_url = f"http://{demo}:{server_port}"
    problems = []
    written = _shoot(page, folder, "sign-in", tenant_url + "/login/", problems=problems)
    sign_in(page, host=demo, port=server_port, username="boss", password=PASSWORD)
    for name, path in PAGES.items():
        written += _shoot(page, folder, name, tenant_url + path, problems=problems)
    page.goto(tenant_url + "/documents/")
    page.wait_for_selector("#documents a")
    document_url = tenant_url + page.locator("#documents a").first.get_attribute("href")
    written += _shoot(page, folder, "document", document_url, problems=problems)

    page.context.clear_cookies()
    sign_in(page, host=demo, port=server_port, username="ana", password=PASSWORD)
    written += _shoot(page, folder, "chat", tenant_url + "/chat/", _open_conversation, problems=problems)

    page.context.clear_cookies()
    sign_in(page, host="localhost", port=server_port, username="ops", password=PASSWORD)
    written += _shoot(page, folder, "operator-console", f"http://localhost:{server_port}/", problems=problems)
    written += _shoot(page, folder, "system", f"http://localhost:{server_port}/system/", problems=problems)

    assert len(written) == 2 * (len(PAGES) + 5)
    assert all(path.stat().st_size > 5_000 for path in written)
    assert problems == []
