"""The chat page end to end: a browser signs in, asks, sees the sources before the answer, watches the
verified answer stream with the note on what was removed, opens a citation, rates it, and stops a
grounded and an ungrounded answer mid-stream; the model server sees each stop."""

import time

import pytest
from django_tenants.utils import schema_context

from chat.models import Feedback, Message, Preference
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


def _feedback_of(schema: str) -> list[int]:
    with schema_context(schema):
        return list(Feedback.objects.values_list("rating", flat=True))


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
        page.click("a.cite[data-number='1']")

        assert page.evaluate("window.order") == ["sources", "text"]
        assert partial == final == "Flights shorter than six hours are booked in economy class [1]."
        assert "Longer ones may differ" not in page.text_content("#log")
        assert note.startswith("1 sentence was removed")
        assert page.is_visible("#passage")
        assert "economy class for flights shorter than six hours" in page.text_content("#passage-text")
        assert page.text_content("#conversation-list").strip().startswith("Which class")
        page.click("button.rate-up")
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
        assert in_own_connection(lambda: _feedback_of("tenant_a")) == [1]


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

        fake.answer("Economy class applies to flights shorter than six hours [1].")
        page.click("button.regenerate")
        page.wait_for_function("document.querySelectorAll('.turn.assistant[data-status=complete]').length === 2")
        page.wait_for_selector("button.prefer")
        regenerated = page.evaluate("document.querySelectorAll('.turn.assistant')[1].dataset.message")
        page.click(f"button.prefer[data-message='{regenerated}']")
        page.wait_for_selector(".preferred")

    assert _preferences("tenant_a") == [("complete", "True")]
