"""A document's own page in a real browser: its settings are changed, a new version uploaded and the
document deleted with a receipt, each checked in the database. The document belongs to a tenant of
this module's own; its ingestion task goes to a queue no worker reads, as only the page is tested."""

import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from ingestion.models import Document
from ingestion.pipeline import version_fail
from ingestion.services import document_upload
from tenants import services
from tenants.accounts import services as accounts
from tests.browser.conftest import own_tenant, serious_accessibility_violations, sign_in
from tests.conftest import PASSWORD
from tests.processes import in_own_connection

pytestmark = pytest.mark.django_db

SCHEMA = "tenant_docpage"


@pytest.fixture(scope="module")
def docs_tenant(world, django_db_blocker):
    def finance_group():
        with schema_context(SCHEMA):
            accounts.group_create(name="finance", actor=users["uma"])

    with (
        own_tenant(django_db_blocker, name="Docs Co", schema=SCHEMA, members=("uma", "vic")) as (tenant, users),
        override_settings(ENCLAVE_INGESTION_QUEUE="document-page-no-worker"),
    ):
        in_own_connection(finance_group)
        yield {"host": services.tenant_domain(SCHEMA), "tenant": tenant, "uploader": users["uma"]}


def _upload(docs_tenant, name: str, data: bytes = b"Depot hours. " * 40, tags=()) -> str:
    def run():
        with schema_context(SCHEMA), override_settings(ENCLAVE_INGESTION_QUEUE="document-page-no-worker"):
            outcome = document_upload(
                tenant=docs_tenant["tenant"], user=docs_tenant["uploader"], filename=name, data=data, tags=list(tags)
            )
            return str(outcome.document.public_id)

    return in_own_connection(run)


def _document(public_id: str):
    def read():
        with schema_context(SCHEMA):
            return Document.objects.filter(public_id=public_id).first()

    return in_own_connection(read)


def test_the_uploader_changes_title_tags_readers_and_training_then_adds_a_version(
    browser_page, server_port, docs_tenant
):
    public_id = _upload(docs_tenant, "depot.txt")
    page = browser_page
    sign_in(page, host=docs_tenant["host"], port=server_port, username="uma", password=PASSWORD)
    page.goto(f"http://{docs_tenant['host']}:{server_port}/documents/{public_id}/")
    assert serious_accessibility_violations(page) == []

    page.fill("input[name=title]", "Depot opening hours")
    page.fill("input[name=tags]", "Ops, depots")
    page.check("input[name=no_train]")
    page.check("input[name=acl][value=groups]")
    page.check("label:has-text('finance') input[name=groups]")
    with page.expect_navigation():
        page.click("button:text-is('Save')")
    assert page.locator(".messages").inner_text() == "Saved."

    document = _document(public_id)
    assert document.title == "Depot opening hours"
    assert document.tags == ["depots", "ops"]
    assert document.no_train is True
    assert len(document.acl_principals) == 1 and document.acl_principals[0].startswith("group:")

    page.set_input_files("input[name=file]", {"name": "depot.txt", "mimeType": "text/plain", "buffer": b"New hours."})
    with page.expect_navigation():
        page.click("button:text-is('Upload version')")
    assert _document(public_id).latest_version == 2


def test_a_member_who_did_not_upload_it_sees_the_document_but_no_settings(browser_page, server_port, docs_tenant):
    public_id = _upload(docs_tenant, "shared.txt")
    page = browser_page
    sign_in(page, host=docs_tenant["host"], port=server_port, username="vic", password=PASSWORD)
    page.goto(f"http://{docs_tenant['host']}:{server_port}/documents/{public_id}/")
    assert page.locator("h1").inner_text() == "shared"  # the title, from the file name
    assert page.locator("form[action$='/edit/']").count() == 0
    assert page.locator("form[action$='/delete/']").count() == 0
    assert page.locator("form[action$='/reingest/']").count() == 0


def test_a_failed_document_is_queued_again_from_its_page(browser_page, server_port, docs_tenant):
    public_id = _upload(docs_tenant, "scan.txt")

    def fail():
        with schema_context(SCHEMA):
            version_fail(
                version_id=Document.objects.get(public_id=public_id).versions.get().pk, reason="parser crashed"
            )

    in_own_connection(fail)
    page = browser_page
    sign_in(page, host=docs_tenant["host"], port=server_port, username="uma", password=PASSWORD)
    page.goto(f"http://{docs_tenant['host']}:{server_port}/documents/{public_id}/")
    assert "parser crashed" in page.locator("#state").inner_text()

    with page.expect_navigation():
        page.click("button:text-is('Re-ingest')")
    assert page.locator(".messages").inner_text() == "Version 1 is queued to be read again."
    document = _document(public_id)
    assert (document.status, document.error, document.latest_version) == ("queued", "", 1)

    with page.expect_navigation():
        page.click("button:text-is('Re-ingest')")
    assert "being ingested already" in page.locator(".messages .error").inner_text()


def test_deleting_needs_the_filename_typed_and_shows_a_receipt(browser_page, server_port, docs_tenant):
    public_id = _upload(docs_tenant, "old-plan.txt")
    page = browser_page
    sign_in(page, host=docs_tenant["host"], port=server_port, username="boss", password=PASSWORD)
    page.goto(f"http://{docs_tenant['host']}:{server_port}/documents/{public_id}/")

    with page.expect_navigation():
        page.click("button:text-is('Delete document')")
    assert "type old-plan.txt to confirm" in page.locator(".messages .error").inner_text()
    assert _document(public_id) is not None

    page.fill("input[name=confirm]", "old-plan.txt")
    with page.expect_navigation():
        page.click("button:text-is('Delete document')")
    assert page.locator("h1").inner_text() == "old-plan.txt was deleted"
    assert page.locator("#shown-once tr:has(th:text-is('Document')) code").inner_text() == public_id
    assert _document(public_id) is None


def test_the_portal_asks_the_server_for_documents_matching_text_tag_and_type(browser_page, server_port, docs_tenant):
    _upload(docs_tenant, "fleet-budget.md", b"# Fleet\n\nBudget lines.", tags=["finance"])
    _upload(docs_tenant, "fleet-routes.txt", b"Routes north and south.", tags=["ops"])
    page = browser_page
    sign_in(
        page, host=docs_tenant["host"], port=server_port, username="uma", password=PASSWORD, next_path="/documents/"
    )
    listed = lambda: sorted(page.locator("#documents td.name").all_inner_texts())  # noqa: E731

    with page.expect_response(lambda response: "q=fleet" in response.url):
        page.fill("#filter-text", "fleet")
    page.wait_for_function("document.getElementById('listed').textContent === '2 documents.'")
    assert listed() == ["fleet-budget.md", "fleet-routes.txt"]

    with page.expect_response(lambda response: "kind=md" in response.url):
        page.select_option("#filter-kind", "md")
    page.wait_for_function("document.getElementById('listed').textContent === '1 document.'")
    assert listed() == ["fleet-budget.md"]

    page.select_option("#filter-kind", "")
    with page.expect_response(lambda response: "tag=ops" in response.url):
        page.fill("#filter-tag", "ops")
    page.wait_for_function("document.getElementById('listed').textContent === '1 document.'")
    assert listed() == ["fleet-routes.txt"]
    assert serious_accessibility_violations(page) == []
