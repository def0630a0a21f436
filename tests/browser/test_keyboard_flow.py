"""Upload, ask, cite and rate with the keyboard alone: a member tabs to the drop zone and opens the picker,
a real Celery worker ingests the file, then she asks, opens the citation and rates the answer with a
comment, never touching the mouse. The model is the small fake engine behind the engine interface."""

import uuid

import pytest
from django_tenants.utils import schema_context

from chat.models import Feedback
from ingestion.models import Document
from tenants import services
from tests.browser.conftest import own_tenant, serious_accessibility_violations
from tests.conftest import PASSWORD
from tests.inference.fake_llm import FakeLlm
from tests.processes import celery_worker, in_own_connection, web_server

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

SCHEMA = "tenant_keyboard"
POLICY = b"# Travel policy\n\nEmployees may book economy class for flights shorter than six hours.\n"
ANSWER = "Employees may book economy class for flights shorter than six hours [1]."
MAX_TABS = 80


@pytest.fixture(scope="module")
def stack(world, django_db_blocker):
    fake = FakeLlm()
    fake.answer(ANSWER)
    queue = f"keyboard-{uuid.uuid4().hex[:8]}"
    environment = {"ENCLAVE_INGESTION_QUEUE": queue, "LLM_BASE_URL": fake.base_url, "ENCLAVE_QUOTE_SCORE": "1"}
    with (
        own_tenant(django_db_blocker, name="Keys Co", schema=SCHEMA, members=("kim",)),
        fake.running(),
        celery_worker(queue=queue, extra_env=environment),
        web_server(extra_env=environment) as port,
    ):
        yield f"http://{services.tenant_domain(SCHEMA)}:{port}"


def tab_to(page, selector: str) -> None:
    """Press Tab until the element matching `selector` has the focus, as a keyboard user would."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


def _stored():
    with schema_context(SCHEMA):
        documents = list(Document.objects.values_list("filename", "status"))
        feedback = [(f.rating, bool(f.comment_encrypted)) for f in Feedback.objects.all()]
    return documents, feedback


def test_upload_ask_cite_and_rate_with_the_keyboard_alone(browser_page, stack):
    page = browser_page
    choosers = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))
    page.goto(f"{stack}/login/?next=/documents/")
    tab_to(page, "input[name=username]")
    page.keyboard.type("kim")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("load")

    tab_to(page, "#drop-zone")
    page.keyboard.press("Enter")
    for _ in range(100):  # the picker event arrives asynchronously
        if choosers:
            break
        page.wait_for_timeout(100)
    assert len(choosers) == 1
    choosers[0].set_files({"name": "travel-policy.md", "mimeType": "text/markdown", "buffer": POLICY})
    page.locator("tr", has_text="travel-policy.md").locator("text=indexed").wait_for(timeout=180_000)

    page.goto(f"{stack}/chat/")
    page.wait_for_load_state("load")
    tab_to(page, "#question")
    page.keyboard.type("Which class may I book for a four hour flight?")
    page.keyboard.press("Enter")
    page.wait_for_selector(".turn.assistant[data-status='complete']", timeout=60_000)

    tab_to(page, ".turn.assistant a.cite")
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement.id === 'passage'")
    assert "economy class" in page.text_content("#passage-text")

    tab_to(page, "button.rate-up")
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement.name === 'comment'")
    page.keyboard.type("Quoted the policy")
    page.keyboard.press("Enter")
    page.wait_for_selector(".feedback[data-sent='up']")
    assert serious_accessibility_violations(page) == []

    assert in_own_connection(_stored) == ([("travel-policy.md", "indexed")], [(1, True)])
