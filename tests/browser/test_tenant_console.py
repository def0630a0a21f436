"""The tenant console in a real browser against the real ASGI server: each action is done on the page
and its effect is checked in the database. The actions run on a tenant of this module's own, so what
the server commits never reaches the shared test tenants."""

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from django_tenants.utils import schema_context

from chat.answer.variants import variant_from
from chat.conversations.services import answer_store, conversation_create, feedback_give, message_add
from chat.models import Experiment, MemoryFact, TrainingExport
from evaluation.models import EvaluationRun
from evaluation.runs import Measured, run_record
from safety.models import PolicyVersion
from tenants import services
from tenants.accounts import services as accounts
from tenants.accounts.audit import audit_record
from tenants.accounts.models import ApiKey, AuditEvent, Group, IdentityProvider, User
from tenants.models import Tenant
from tests.browser.conftest import own_tenant, serious_accessibility_violations, sign_in
from tests.conftest import PASSWORD
from tests.processes import in_own_connection

pytestmark = pytest.mark.django_db

SCHEMA = "tenant_console"


@pytest.fixture(scope="module")
def console_tenant(world, django_db_blocker):
    with own_tenant(django_db_blocker, name="Console Co", schema=SCHEMA, members=("mia",)):
        yield services.tenant_domain(SCHEMA)


def _in_tenant(read):
    def run():
        with schema_context(SCHEMA):
            return read()

    return in_own_connection(run)


def _admin_page(page, host, port):
    sign_in(page, host=host, port=port, username="boss", password=PASSWORD)
    page.wait_for_selector("h2:has-text('Users')")


def _shown(page, label: str) -> str:
    return page.locator(f"#shown-once tr:has(th:text-is('{label}')) code").inner_text()


def test_an_admin_adds_a_user_whose_generated_password_is_shown_once_and_works(
    browser_page, server_port, console_tenant
):
    page = browser_page
    _admin_page(page, console_tenant, server_port)
    with page.expect_navigation():
        page.fill("form[aria-label='Add a user'] input[name=username]", "noor")
        page.select_option("form[aria-label='Add a user'] select[name=role]", "member")
        page.click("form[aria-label='Add a user'] button")

    password = _shown(page, "Password")
    noor = _in_tenant(lambda: User.objects.get(username="noor"))
    assert noor.role == User.Role.MEMBER and noor.check_password(password)


def test_an_admin_changes_a_role_then_deactivates_and_reactivates_a_user(browser_page, server_port, console_tenant):
    _in_tenant(lambda: accounts.user_create(username="ravi", password=PASSWORD))
    page = browser_page
    _admin_page(page, console_tenant, server_port)
    row = page.locator("tr[data-user=ravi]")
    row.locator("select[name=role]").select_option("admin")
    with page.expect_navigation():
        row.locator("button:text-is('Save role')").click()
    assert "ravi: saved." in page.locator(".messages").inner_text()
    assert _in_tenant(lambda: User.objects.get(username="ravi").role) == User.Role.ADMIN

    with page.expect_navigation():
        page.locator("tr[data-user=ravi] button:text-is('Deactivate')").click()
    assert _in_tenant(lambda: User.objects.get(username="ravi").is_active) is False
    with page.expect_navigation():
        page.locator("tr[data-user=ravi] button:text-is('Reactivate')").click()
    assert _in_tenant(lambda: User.objects.get(username="ravi").is_active) is True


def test_erasing_a_user_needs_their_name_typed_and_shows_a_receipt(browser_page, server_port, console_tenant):
    _in_tenant(lambda: accounts.user_create(username="sam", password=PASSWORD))
    page = browser_page
    _admin_page(page, console_tenant, server_port)

    with page.expect_navigation():
        page.locator("tr[data-user=sam] button:text-is('Erase')").click()
    assert "type sam to confirm" in page.locator(".messages .error").inner_text()
    assert _in_tenant(lambda: User.objects.filter(username="sam").exists())

    page.locator("tr[data-user=sam] input[name=confirm]").fill("sam")
    with page.expect_navigation():
        page.locator("tr[data-user=sam] button:text-is('Erase')").click()
    assert page.locator("h1").inner_text() == "sam was erased"
    assert re.fullmatch(r"[0-9a-f-]{36}", _shown(page, "User"))
    assert not _in_tenant(lambda: User.objects.filter(username="sam").exists())


def test_an_admin_creates_a_group_adds_and_removes_a_member_then_deletes_it(browser_page, server_port, console_tenant):
    page = browser_page
    _admin_page(page, console_tenant, server_port)
    form = page.locator("form[aria-label='Create a group']")
    form.locator("input[name=name]").fill("auditors")
    with page.expect_navigation():
        form.locator("button").click()
    assert _in_tenant(lambda: Group.objects.filter(name="auditors").exists())

    row = page.locator("tr[data-group=auditors]")
    row.locator("select[name=user_id]").select_option(label="mia")
    with page.expect_navigation():
        row.locator("button:text-is('Add')").click()
    members = lambda: list(Group.objects.get(name="auditors").members.values_list("username", flat=True))  # noqa: E731
    assert _in_tenant(members) == ["mia"]

    with page.expect_navigation():
        page.locator("tr[data-group=auditors] button[aria-label='Remove mia from auditors']").click()
    assert _in_tenant(members) == []

    with page.expect_navigation():
        page.locator("tr[data-group=auditors] button:text-is('Delete')").click()
    assert not _in_tenant(lambda: Group.objects.filter(name="auditors").exists())


def test_a_key_made_on_the_page_has_its_scopes_and_expiry_works_once_shown_and_stops_when_revoked(
    browser_page, server_port, console_tenant
):
    page = browser_page
    _admin_page(page, console_tenant, server_port)
    form = page.locator("form[aria-label='Create an API key']")
    form.locator("input[name=name]").fill("reporting")
    form.locator("input[name=expires_at]").fill("2099-01-31T12:00")
    form.locator("input[name=scopes][value=read]").check()
    with page.expect_navigation():
        form.locator("button").click()
    raw = _shown(page, "Key")

    stored = _in_tenant(lambda: ApiKey.objects.get(name="reporting"))
    assert stored.scopes == ["read"]
    assert stored.expires_at.isoformat().startswith("2099-01-31T12:00")
    me = f"http://127.0.0.1:{server_port}/api/v1/me/"
    headers = {"Host": console_tenant, "Authorization": f"Bearer {raw}"}
    assert httpx.get(me, headers=headers).status_code == 200

    page.goto(f"http://{console_tenant}:{server_port}/#api-keys")
    with page.expect_navigation():
        page.locator("button[aria-label='Revoke key reporting']").click()
    assert _in_tenant(lambda: ApiKey.objects.get(name="reporting").revoked_at) is not None
    assert httpx.get(me, headers=headers).status_code == 401


def test_a_member_opts_out_of_training_and_sees_no_admin_sections(browser_page, server_port, console_tenant):
    page = browser_page
    sign_in(page, host=console_tenant, port=server_port, username="mia", password=PASSWORD)
    page.wait_for_selector("h2:has-text('My data')")
    assert page.locator("#users").count() == 0

    with page.expect_navigation():
        page.click("text=Leave my conversations out of training")
    assert _in_tenant(lambda: User.objects.get(username="mia").training_opt_out) is True
    with page.expect_navigation():
        page.click("text=Allow my conversations in training exports")
    assert _in_tenant(lambda: User.objects.get(username="mia").training_opt_out) is False


def test_the_console_pages_have_no_serious_accessibility_violations(browser_page, server_port, console_tenant):
    page = browser_page
    _admin_page(page, console_tenant, server_port)
    assert serious_accessibility_violations(page) == []

    form = page.locator("form[aria-label='Add a user']")
    form.locator("input[name=username]").fill("tess")
    with page.expect_navigation():
        form.locator("button").click()
    assert serious_accessibility_violations(page) == []  # the page a secret is shown on once

    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"http://{console_tenant}:{server_port}/")
    assert serious_accessibility_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1


def test_the_dashboard_draws_its_charts_from_the_apps_own_files_with_tables_behind_them(
    browser_page, server_port, console_tenant
):
    def refused_once():
        tenant = Tenant.objects.get(schema_name=SCHEMA)
        conversation = conversation_create(tenant=tenant, user=User.objects.get(username="mia"), title="t")
        message_add(
            tenant=tenant,
            conversation=conversation,
            role="assistant",
            content="I can't help with that.",
            status="refused",
            moderation_action="refuse",
            moderation_category="weapons",
        )

    _in_tenant(refused_once)
    page = browser_page
    _admin_page(page, console_tenant, server_port)
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"http://{console_tenant}:{server_port}/dashboard/")
    page.wait_for_function("window.Chart && Chart.getChart('chart-moderation')")
    assert page.evaluate("Chart.getChart('chart-moderation').data.labels") == ["weapons"]
    assert page.locator("#moderation-table tr[data-category=weapons] td").all_inner_texts() == ["0", "1"]

    labels = page.evaluate("Chart.getChart('chart-answers').data.datasets.map((d) => d.label)")
    assert labels == ["complete", "abstained", "refused", "ungrounded", "incomplete", "failed"]
    assert page.locator("#dashboard-table tr").count() == 31  # a header and 30 days
    assert all(url.startswith(f"http://{console_tenant}:{server_port}/") for url in requested), requested
    assert any(url.endswith("/static/chart.js/chart.umd.min.js") for url in requested)
    assert serious_accessibility_violations(page) == []


def test_an_admin_opens_a_rated_down_answer_from_the_dashboard_and_sees_where_it_went_wrong(
    browser_page, server_port, console_tenant
):
    removed = "The depot closes at 22:00 [1]."

    def rated_down():
        tenant = Tenant.objects.get(schema_name=SCHEMA)
        Tenant.objects.filter(pk=tenant.pk).update(admin_reads_traces=True)
        mia = User.objects.get(username="mia")
        conversation = conversation_create(tenant=tenant, user=mia, title="depot")
        message_add(tenant=tenant, conversation=conversation, role="user", content="When does the depot close?")
        trace = {
            "question": "When does the depot close?",
            "candidates": [{"chunk_id": "00000000-0000-4000-8000-00000000000a", "fused": 0.5}],
            "passages_sent": [],
            "evidence": [],
            "removed_sentences": [{"sentence": removed, "cited": [1], "reason": "number 22:00 is not in the passage"}],
        }
        answer = answer_store(
            tenant=tenant,
            conversation=conversation,
            content="I could not find that in your documents.",
            status="abstained",
            error_code="",
            citations=[],
            trace=trace,
            context_documents=[],
        )
        feedback_give(tenant=tenant, message=answer, user=mia, rating=-1, reason="incomplete", comment="")

    _in_tenant(rated_down)
    page = browser_page
    _admin_page(page, console_tenant, server_port)
    page.goto(f"http://{console_tenant}:{server_port}/dashboard/")
    with page.expect_navigation():
        page.click("#rated-down a:text-is('Open the trace')")

    assert page.locator("#diagnosis li[data-kind=retrieval_miss]").inner_text().startswith("retrieval miss")
    assert removed in page.locator("#removed").inner_text()
    assert serious_accessibility_violations(page) == []
    assert _in_tenant(lambda: AuditEvent.objects.filter(action="trace.read").count()) == 1


def test_an_admin_defines_an_experiment_the_gate_holds_until_safety_runs_exist_then_starts_and_stops_it(
    browser_page, server_port, console_tenant
):
    page = browser_page
    _admin_page(page, console_tenant, server_port)
    page.goto(f"http://{console_tenant}:{server_port}/experiments/")
    form = page.locator("form[aria-label='New experiment']")
    form.locator("input[name=name]").fill("Cooler drafts")
    form.locator("input[name=treatment_name]").fill("cooler")
    form.locator("input[name=temperature]").fill("0.05")
    form.locator("input[name=traffic_percent]").fill("30")
    with page.expect_navigation():
        form.locator("button").click()
    stored = lambda: Experiment.objects.get(name="Cooler drafts")  # noqa: E731
    created = _in_tenant(stored)
    assert (created.status, created.traffic_share, created.treatment["settings"]) == (
        "draft",
        0.3,
        {"temperature": 0.05},
    )

    with page.expect_navigation():
        page.click("button[aria-label='Start Cooler drafts']")
    assert "no offline safety run of the control and the treatment" in page.locator(".messages .error").inner_text()
    assert _in_tenant(stored).status == "draft"

    def safety_runs():
        rows = [
            Measured("refusal", 0.9, n=100, category="held-out"),
            Measured("over_refusal", 0.1, n=100, category="benign"),
            Measured("injection_success", 0.0, n=40, category="injection-dev"),
        ]
        for variant in (variant_from(created.control), variant_from(created.treatment)):
            run_record(kind="safety", dataset="browser test", variant=variant, started_at=None, metrics=rows)

    in_own_connection(safety_runs)
    try:
        with page.expect_navigation():
            page.click("button[aria-label='Start Cooler drafts']")
        assert _in_tenant(stored).status == "running"
        assert page.locator("[data-experiment] .checks li[data-passed=yes]").count() == 3
        assert serious_accessibility_violations(page) == []
        with page.expect_navigation():
            page.click("button[aria-label='Stop Cooler drafts']")
        assert _in_tenant(stored).status == "stopped"
    finally:
        in_own_connection(lambda: EvaluationRun.objects.filter(dataset="browser test").delete())


def test_a_member_keeps_and_forgets_memories_on_the_data_page(browser_page, server_port, console_tenant):
    page = browser_page
    sign_in(page, host=console_tenant, port=server_port, username="mia", password=PASSWORD, next_path="/data/")
    page.wait_for_selector("#memory-state")
    with page.expect_navigation():
        page.click("text=Turn memory on")
    for fact in ("I work in the Lyon office", "My manager is Ana"):
        page.fill("input[name=content]", fact)
        with page.expect_navigation():
            page.click("button:text-is('Add')")
    assert serious_accessibility_violations(page) == []

    facts = lambda: MemoryFact.objects.filter(user__username="mia").count()  # noqa: E731
    assert _in_tenant(facts) == 2
    with page.expect_navigation():
        page.click("button[aria-label='Forget: My manager is Ana']")
    assert _in_tenant(facts) == 1
    assert page.locator("#facts").inner_text().strip().startswith("I work in the Lyon office")
    with page.expect_navigation():
        page.click("text=Forget everything")
    assert _in_tenant(facts) == 0
    assert page.locator("#training").count() == 0  # consent and exports are an admin's


def test_a_member_downloads_her_conversations_from_the_data_page(browser_page, server_port, console_tenant):
    def converse():
        tenant = Tenant.objects.get(schema_name=SCHEMA)
        conversation = conversation_create(tenant=tenant, user=User.objects.get(username="mia"), title="Lyon move")
        message_add(tenant=tenant, conversation=conversation, role="user", content="Who pays the removal van?")

    _in_tenant(converse)
    page = browser_page
    sign_in(page, host=console_tenant, port=server_port, username="mia", password=PASSWORD, next_path="/data/")
    with page.expect_download() as download:
        page.click("#conversations-export")
    export = json.loads(Path(download.value.path()).read_text())

    assert export["user"] == "mia"
    titles = {conversation["title"]: conversation for conversation in export["conversations"]}
    assert titles["Lyon move"]["messages"][0]["content"] == "Who pays the removal van?"
    assert _in_tenant(lambda: AuditEvent.objects.filter(action="conversations.exported").count()) == 1


def test_an_admin_gives_consent_makes_and_deletes_an_export_and_sets_retention(
    browser_page, server_port, console_tenant
):
    page = browser_page
    sign_in(page, host=console_tenant, port=server_port, username="boss", password=PASSWORD, next_path="/data/")
    page.wait_for_selector("#consent-state")
    with page.expect_navigation():
        page.click("text=Give consent")
    tenant = lambda: Tenant.objects.get(schema_name=SCHEMA)  # noqa: E731
    assert in_own_connection(tenant).training_consent is True

    with page.expect_navigation():
        page.click("text=Make an export now")
    assert _in_tenant(TrainingExport.objects.count) == 1
    with page.expect_download() as download:
        page.locator("#exports a", has_text="sft.jsonl").click()
    assert download.value.suggested_filename.endswith("sft.jsonl") and download.value.failure() is None
    assert serious_accessibility_violations(page) == []
    with page.expect_navigation():
        page.locator("#exports button:text-is('Delete')").click()
    assert page.locator("h1").inner_text() == "The training export was deleted"
    assert _in_tenant(TrainingExport.objects.count) == 0

    page.goto(f"http://{console_tenant}:{server_port}/data/")
    page.fill("input[name=conversation_days]", "90")
    with page.expect_navigation():
        page.click("text=Save retention")
    kept = in_own_connection(tenant)
    assert (kept.conversation_retention_days, kept.trace_retention_days) == (90, None)

    with page.expect_navigation():
        page.click("text=Withdraw consent")
    assert in_own_connection(tenant).training_consent is False


def test_an_admin_makes_the_safety_policy_stricter_and_cannot_make_it_looser(browser_page, server_port, console_tenant):
    page = browser_page
    sign_in(page, host=console_tenant, port=server_port, username="boss", password=PASSWORD, next_path="/safety/")
    page.select_option("select[name=political_persuasion]", "refuse")
    page.fill("input[name=note]", "no campaigning at work")
    with page.expect_navigation():
        page.click("text=Save as a new version")
    latest = lambda: PolicyVersion.objects.order_by("-number").first()  # noqa: E731
    version = _in_tenant(latest)
    assert (version.overrides.get("political_persuasion"), version.note) == ("refuse", "no campaigning at work")
    assert serious_accessibility_violations(page) == []

    loosen = (
        "() => { const s = document.querySelector('[name=weapons]'); s.add(new Option('allow')); s.value = 'allow' }"
    )
    page.evaluate(loosen)  # a looser choice than the page offers, as a crafted form would send it
    with page.expect_navigation():
        page.click("text=Save as a new version")
    assert "cannot be looser" in page.locator("[role=alert]").inner_text()
    assert _in_tenant(latest).number == version.number


def test_the_audit_log_filters_by_action_and_pages_back(browser_page, server_port, console_tenant):
    def sixty_events():
        for number in range(60):
            audit_record(action="test.marker", actor_label="boss", detail={"number": number})

    _in_tenant(sixty_events)
    page = browser_page
    _admin_page(page, console_tenant, server_port)
    page.click("text=Audit log")
    page.select_option("select[name=action]", "test.marker")
    with page.expect_navigation():
        page.click("button:text-is('Filter')")

    rows = page.locator("#audit tr[data-action]")
    assert rows.count() == 50
    assert {rows.nth(i).get_attribute("data-action") for i in range(50)} == {"test.marker"}
    assert '"number": 59' in rows.first.inner_text()  # newest first
    assert serious_accessibility_violations(page) == []
    with page.expect_navigation():
        page.click("text=Older")
    assert page.locator("#audit tr[data-action=test\\.marker]").count() == 10


def test_an_admin_sets_up_and_removes_company_sign_in(browser_page, server_port, console_tenant):
    page = browser_page
    _admin_page(page, console_tenant, server_port)
    form = page.locator("#sign-in form").first
    form.locator("input[name=issuer]").fill("https://login.example.test")
    form.locator("input[name=client_id]").fill("enclave-console")
    form.locator("input[name=client_secret]").fill("s3cret-from-the-provider")
    form.locator("textarea[name=role_map]").fill('{"it-admins": "admin"}')
    with page.expect_navigation():
        form.locator("button").click()
    provider = _in_tenant(lambda: IdentityProvider.objects.first())
    assert (provider.issuer, provider.client_id, provider.role_map) == (
        "https://login.example.test",
        "enclave-console",
        {"it-admins": "admin"},
    )
    assert provider.client_secret_encrypted and b"s3cret" not in bytes(provider.client_secret_encrypted)
    assert "s3cret" not in page.content()  # the secret is write-only

    page.locator("#sign-in textarea[name=group_map]").fill("{not json")
    with page.expect_navigation():
        page.click("button:text-is('Save company sign-in')")
    assert "group map: not JSON" in page.locator(".messages .error").inner_text()
    with page.expect_navigation():
        page.click("text=Remove company sign-in")
    assert _in_tenant(lambda: IdentityProvider.objects.exists()) is False


def test_the_portal_opens_the_file_picker_from_the_keyboard(browser_page, server_port, console_tenant):
    page = browser_page
    choosers = []
    page.on(
        "filechooser", lambda chooser: choosers.append(chooser)
    )  # before navigating: Chromium intercepts pickers from then on
    sign_in(page, host=console_tenant, port=server_port, username="mia", password=PASSWORD, next_path="/documents/")
    page.wait_for_selector("#drop-zone")
    page.wait_for_load_state("load")  # the page's script, which listens for the key, has run
    page.focus("#drop-zone")
    page.keyboard.press("Enter")
    deadline = time.monotonic() + 10
    while not choosers and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(choosers) == 1 and choosers[0].is_multiple()
    assert serious_accessibility_violations(page) == []
