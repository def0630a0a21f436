"""The chat page end to end: a browser signs in, asks, watches the answer stream, opens a citation,
rates it, and stops a second answer mid-stream; the model server sees the stop."""

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


def test_ask_stream_open_a_citation_and_stop(browser_page, committed_handbook):
    tenant_a, _documents = committed_handbook
    fake = FakeLlm()
    fake.answer(ANSWER)
    fake.token_delay = 0.15
    with fake.running(), web_server(extra_env={"LLM_BASE_URL": fake.base_url}) as port:
        page = browser_page
        page.goto(f"http://{tenant_a.host}:{port}/login/?next=/chat/")
        page.fill("input[name=username]", "leo")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#question")

        page.fill("#question", "Which class may I book for a four hour flight?")
        page.click("#send")
        page.wait_for_selector(".turn.assistant[data-streaming='1']")
        partial = page.text_content(".turn.assistant")
        page.wait_for_selector(".turn.assistant[data-status='complete']")
        final = page.text_content(".turn.assistant")
        page.click("a.cite[data-number='1']")

        assert 0 < len(partial) < len(final)
        assert page.is_visible("#passage")
        assert "economy class for flights shorter than six hours" in page.text_content("#passage-text")
        assert page.text_content("#conversation-list").strip().startswith("Which class")
        page.click("button.rate-up")
        page.wait_for_selector(".feedback[data-sent='up']")

        fake.scenario = "endless"
        page.fill("#question", "Is business class allowed on flights longer than six hours?")
        page.click("#send")
        page.wait_for_function("document.querySelectorAll('.turn.assistant')[1]?.dataset.streaming === '1'")
        page.click("#stop")
        page.wait_for_selector(".turn.assistant[data-status='stopped']")

        assert fake.disconnected.wait(10), "the model server never saw the stop"
        deadline = time.monotonic() + 10
        while _stored_statuses("tenant_a") != ["complete", "incomplete"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _stored_statuses("tenant_a") == ["complete", "incomplete"]
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
    with fake.running(), web_server(extra_env={"LLM_BASE_URL": fake.base_url}) as port:
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
