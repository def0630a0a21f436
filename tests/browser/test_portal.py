"""The upload portal end to end: a browser uploads through the real ASGI server, a real Celery
worker ingests through Redis, and the page shows upload progress and then each document's state."""

import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from ingestion.models import Document
from ingestion.services import document_delete
from tests.conftest import PASSWORD
from tests.processes import celery_worker, web_server

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

GOOD = ("policy.md", b"# Travel policy\n\nEconomy class for flights under six hours. " * 20)
BAD = ("scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
DROPPED = ("notes.txt", b"Quarterly notes: the northern depot closes on Fridays.")


@pytest.fixture(scope="module")
def ingestion_stack(world, django_db_blocker):
    environment = {"ENCLAVE_INGESTION_QUEUE": f"portal-{uuid.uuid4().hex[:8]}"}
    with (
        django_db_blocker.unblock(),
        celery_worker(queue=environment["ENCLAVE_INGESTION_QUEUE"], extra_env=environment),
        web_server(extra_env=environment) as port,
    ):
        yield port
        with schema_context("tenant_a"):
            for document in Document.objects.all():
                document_delete(tenant=world["a"].tenant, document=document, actor=world["a"].admin)
        connection.close()  # opened outside a test: pytest-django would not close it before dropping the database


def _sign_in(page, host: str, port: int) -> None:
    page.goto(f"http://{host}:{port}/login/?next=/documents/")
    page.fill("input[name=username]", "fay")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#drop-zone")


def test_files_chosen_or_dropped_are_uploaded_and_their_ingestion_state_follows_live(
    browser_page, ingestion_stack, world
):
    page = browser_page
    _sign_in(page, world["a"].host, ingestion_stack)
    page.check("input[name=acl][value=groups]")
    page.check(f"input[name=group][value='{world['a'].finance_group.public_id}']")

    page.set_input_files(
        "#file-input",
        [{"name": name, "mimeType": "application/octet-stream", "buffer": data} for name, data in (GOOD, BAD)],
    )
    transfer = page.evaluate_handle(
        """([name, text]) => { const dt = new DataTransfer();
             dt.items.add(new File([text], name, {type: "text/plain"})); return dt; }""",
        [DROPPED[0], DROPPED[1].decode()],
    )
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})

    for name in (GOOD[0], DROPPED[0]):
        row = page.locator("tr", has_text=name)
        row.locator("text=indexed").wait_for(timeout=180_000)
        assert row.locator("progress").get_attribute("value") == "100"
        assert int(row.locator(".chunks").inner_text()) >= 1
    failed = page.locator("tr", has_text=BAD[0])
    failed.locator("text=no OCR").wait_for(timeout=30_000)

    with schema_context("tenant_a"):
        stored = {doc.filename: doc for doc in Document.objects.all()}
    connection.close()  # while Playwright's loop runs, Django opened a separate, context-local connection
    assert stored[GOOD[0]].acl_principals == [f"group:{world['a'].finance_group.public_id}"]
    assert stored[DROPPED[0]].status == "indexed"
    assert stored[BAD[0]].status == "failed"
