"""The chat page end to end: a browser signs in, asks, sees the sources before the answer, watches the
verified answer stream with the note on what was removed, opens a citation, rates it, and stops a
grounded and an ungrounded answer mid-stream; the model server sees each stop."""

import time

import pytest
from django_tenants.utils import schema_context

from chat.conversations.selectors import conversation_title
from chat.conversations.services import answer_store, conversation_create
from chat.models import Conversation, Feedback, Message, Preference
from tenants.crypto import decrypt_text
from tenants.models import Tenant
from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.chat.conftest import committed_handbook  # noqa: F401  (fixture)
from tests.conftest import PASSWORD
from tests.inference.fake_llm import FakeLlm
from tests.processes import in_own_connection, web_server

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

ANSWER = "Flights shorter than six hours are booked in economy class [1]. Longer ones may differ."


def _stored_statuses(schema: str) -> list[str]:
    def read():
        with schema_context(schema):
            return list(
                Message.objects.filter(role="assistant").order_by("created_at").values_list("status", flat=True)
            )

    return in_own_connection(read)


def _feedback_of(schema: str) -> list[tuple[int, str, str]]:
    with schema_context(schema):
        tenant = Tenant.objects.get(schema_name=schema)
        return [
            (
                f.rating,
                f.reason,
                decrypt_text(
                    tenant=tenant,
                    object_id=f"feedback:{f.message.public_id}:{f.user.public_id}",
                    blob=bytes(f.comment_encrypted),
                )
                if f.comment_encrypted
                else "",
            )
            for f in Feedback.objects.select_related("message", "user")
        ]


ORDER_WATCH = """
window.order = [];
new MutationObserver(() => {
  const seen = kind => window.order.includes(kind);
  if (document.querySelector('.sources') && !seen('sources')) window.order.push('sources');
  const answer = document.querySelector('.turn.assistant');
  if (answer && answer.textContent && !seen('text')) window.order.push('text');
}).observe(document.getElementById('log'), {childList: true, subtree: true, characterData: true});
"""


def _allow_ungrounded(schema: str, allowed: bool) -> None:
    def write():
        from tenants.models import Tenant

        Tenant.objects.filter(schema_name=schema).update(allow_ungrounded_answers=allowed)

    in_own_connection(write)


def test_ask_see_sources_first_stream_open_a_citation_and_stop_grounded_and_ungrounded(
    browser_page, committed_handbook
):
    tenant_a, _documents = committed_handbook
    fake = FakeLlm()
    fake.answer(ANSWER)
    fake.token_delay = 0.15
    with fake.running(), web_server(extra_env={"LLM_BASE_URL": fake.base_url, "ENCLAVE_QUOTE_SCORE": "1"}) as port:
        page = browser_page
        page.goto(f"http://{tenant_a.host}:{port}/login/?next=/chat/")
        page.fill("input[name=username]", "leo")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#question")

        page.evaluate(ORDER_WATCH)
        page.fill("#question", "Which class may I book for a four hour flight?")
        page.click("#send")
        page.wait_for_selector(".sources button")
        page.wait_for_selector(".turn.assistant[data-streaming='1']")
        partial = page.text_content(".turn.assistant")
        page.wait_for_selector(".turn.assistant[data-status='complete']")
        final = page.text_content(".turn.assistant")
        note = page.text_content(".answer-note")
        page.focus("a.cite[data-number='1']")  # a link: reached and opened from the keyboard
        page.keyboard.press("Enter")

        assert page.evaluate("window.order") == ["sources", "text"]
        assert partial == final == "Flights shorter than six hours are booked in economy class [1]."
        assert "Longer ones may differ" not in page.text_content("#log")
        assert note.startswith("1 sentence was removed")
        assert page.is_visible("#passage")
        assert page.evaluate("document.activeElement.id") == "passage"
        assert page.get_attribute("#passage-document", "href").startswith("/documents/")
        assert serious_accessibility_violations(page) == []
        assert "economy class for flights shorter than six hours" in page.text_content("#passage-text")
        assert page.text_content("#conversation-list").strip().startswith("Which class")
        page.click("button.rate-up")
        page.wait_for_function("document.activeElement.name === 'comment'")
        page.keyboard.type("Clear, and the passage was right there")  # the comment box takes the focus
        page.keyboard.press("Enter")
        page.wait_for_selector(".feedback[data-sent='up']")

        fake.scenario = "endless"
        fake.endless_sentence = "Employees may book economy class for flights shorter than six hours [1]."
        page.fill("#question", "Is business class allowed on flights longer than six hours?")
        page.click("#send")
        page.wait_for_function("document.querySelectorAll('.turn.assistant')[1]?.dataset.streaming === '1'")
        page.click("#stop")
        page.wait_for_selector(".turn.assistant[data-status='stopped']")
        assert fake.disconnected.wait(10), "the model server never saw the stop"

        _allow_ungrounded("tenant_a", True)
        try:
            fake.disconnected.clear()
            fake.endless_sentence = "Lima is the capital."
            page.fill("#question", "What is the capital city of Peru?")  # standalone: no condensing call
            page.click("#send")
            page.wait_for_function("document.querySelectorAll('.turn.assistant')[2]?.dataset.streaming === '1'")
            page.click("#stop")
            page.wait_for_function("document.querySelectorAll('.turn.assistant')[2]?.dataset.status === 'stopped'")
            assert fake.disconnected.wait(10), "the model server never saw the stop of the ungrounded answer"
        finally:
            _allow_ungrounded("tenant_a", False)

        expected = ["complete", "incomplete", "incomplete"]
        deadline = time.monotonic() + 10
        while _stored_statuses("tenant_a") != expected and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _stored_statuses("tenant_a") == expected
        assert in_own_connection(lambda: _feedback_of("tenant_a")) == [
            (1, "", "Clear, and the passage was right there")
        ]


def _preferences(schema: str) -> list[tuple[str, str]]:
    def read():
        with schema_context(schema):
            return [
                (p.chosen.status, str(p.chosen.regenerated_from_id is not None))
                for p in Preference.objects.select_related("chosen")
            ]

    return in_own_connection(read)


def test_regenerate_and_prefer_the_new_answer(browser_page, committed_handbook):
    tenant_a, _documents = committed_handbook
    fake = FakeLlm()
    fake.answer(ANSWER)
    with fake.running(), web_server(extra_env={"LLM_BASE_URL": fake.base_url, "ENCLAVE_QUOTE_SCORE": "1"}) as port:
        page = browser_page
        page.goto(f"http://{tenant_a.host}:{port}/login/?next=/chat/")
        page.fill("input[name=username]", "leo")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.fill("#question", "Which class may I book for a four hour flight?")
        page.click("#send")
        page.wait_for_selector(".turn.assistant[data-status='complete']")
        page.click("button.rate-down")
        page.select_option("select[name=reason]", "incomplete")
        page.click(".feedback-form button:text-is('Send')")
        page.wait_for_selector(".feedback[data-sent='down']")

        fake.answer("Economy class applies to flights shorter than six hours [1].")
        page.click("button.regenerate")
        page.wait_for_function("document.querySelectorAll('.turn.assistant[data-status=complete]').length === 2")
        page.wait_for_selector("button.prefer")
        regenerated = page.evaluate("document.querySelectorAll('.turn.assistant')[1].dataset.message")
        page.click(f"button.prefer[data-message='{regenerated}']")
        page.wait_for_selector(".preferred")

    assert _preferences("tenant_a") == [("complete", "True")]
    assert (-1, "incomplete", "") in in_own_connection(lambda: _feedback_of("tenant_a"))


def _conversation_titles(tenant) -> list[str]:
    def read():
        with schema_context(tenant.schema_name):
            conversations = Conversation.objects.order_by("created_at")
            return [conversation_title(tenant=tenant, conversation=c) for c in conversations]

    return in_own_connection(read)


def test_conversations_are_found_renamed_and_deleted_on_the_chat_page(browser_page, server_port, world):
    tenant_b = world["b"]

    def create():
        with schema_context("tenant_b"):
            for title in ("Budget questions", "Travel questions"):
                conversation_create(tenant=tenant_b.tenant, user=tenant_b.legal, title=title)

    in_own_connection(create)
    page = browser_page
    sign_in(page, host=tenant_b.host, port=server_port, username="leo", password=PASSWORD, next_path="/chat/")
    page.wait_for_selector(".conversation")
    assert serious_accessibility_violations(page) == []

    page.fill("#conversation-filter", "budget")
    page.wait_for_function("document.querySelectorAll('.conversation').length === 1")
    page.once("dialog", lambda dialog: dialog.accept("Budget 2027"))
    page.click("button[aria-label='Rename Budget questions']")
    page.fill("#conversation-filter", "")
    page.wait_for_selector("button.open:text-is('Budget 2027')")
    assert _conversation_titles(tenant_b.tenant) == ["Budget 2027", "Travel questions"]

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[aria-label='Delete Travel questions']")
    page.wait_for_function("document.querySelectorAll('.conversation').length === 1")
    assert _conversation_titles(tenant_b.tenant) == ["Budget 2027"]

    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    page.wait_for_selector(".conversation")
    assert serious_accessibility_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1


MARKDOWN_ANSWER = """Two rules apply:

- economy **under six hours**
- business `above` that

| class | hours |
| --- | --- |
| economy | < 6 |

<img src="x" onerror="window.pwned = 1"> ![chart](http://images.invalid/leak.png) <script>window.pwned = 2</script>"""


def test_answers_render_as_markdown_without_raw_html_links_or_remote_images(browser_page, server_port, world):
    tenant_b = world["b"]

    def create():
        with schema_context("tenant_b"):
            conversation = conversation_create(tenant=tenant_b.tenant, user=tenant_b.finance, title="Markdown")
            answer_store(
                tenant=tenant_b.tenant,
                conversation=conversation,
                content=MARKDOWN_ANSWER,
                status="complete",
                error_code="",
                citations=[],
                trace={},
                context_documents=[],
            )

    in_own_connection(create)
    page = browser_page
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, host=tenant_b.host, port=server_port, username="fay", password=PASSWORD, next_path="/chat/")
    page.click("button.open:text-is('Markdown')")
    answer = page.locator(".turn.assistant").first
    answer.locator("ul li").first.wait_for()

    assert answer.locator("ul li").count() == 2 and answer.locator("strong").inner_text() == "under six hours"
    assert answer.locator("table td").first.inner_text() == "economy"
    assert answer.locator("img, script, a[href^='http']").count() == 0
    assert '<img src="x"' in answer.inner_text()  # raw HTML is shown as text, not run
    assert page.evaluate("window.pwned") is None
    assert not any("images.invalid" in url for url in requested)
    assert serious_accessibility_violations(page) == []
