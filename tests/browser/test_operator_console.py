"""The operator console in a real browser: a tenant is created with its first admin, suspended with a
reason, resumed, and deleted only once its schema name is typed; each effect is read from the database."""

import pytest
from django_tenants.utils import schema_context

from tenants.accounts.models import User
from tenants.models import Tenant
from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.conftest import PASSWORD
from tests.processes import in_own_connection

pytestmark = pytest.mark.django_db

SCHEMA = "tenant_from_console"


def _tenant():
    return in_own_connection(lambda: Tenant.objects.filter(schema_name=SCHEMA).first())


def _row(page):
    return page.locator(f"tr[data-tenant={SCHEMA}]")


def test_an_operator_creates_suspends_resumes_and_deletes_a_tenant(browser_page, server_port, world):
    page = browser_page
    sign_in(page, host="localhost", port=server_port, username="ops", password=PASSWORD)
    page.wait_for_selector("h1:has-text('Tenants')")
    assert serious_accessibility_violations(page) == []

    form = page.locator("form[aria-label='Create a tenant']")
    form.locator("input[name=name]").fill("Made On The Page")
    form.locator("input[name=schema_name]").fill(SCHEMA)
    form.locator("input[name=admin_username]").fill("first")
    with page.expect_navigation():
        form.locator("button").click()
    password = page.locator("#shown-once tr:has(th:text-is('Password')) code").inner_text()

    def first_admin():
        with schema_context(SCHEMA):
            return User.objects.get(username="first")

    admin = in_own_connection(first_admin)
    assert admin.role == User.Role.ADMIN and admin.check_password(password)

    page.goto(f"http://localhost:{server_port}/")
    _row(page).locator("input[name=reason]").fill("invoice overdue")
    with page.expect_navigation():
        _row(page).locator("button:text-is('Suspend')").click()
    suspended = _tenant()
    assert (suspended.status, suspended.suspension_reason) == (Tenant.Status.SUSPENDED, "invoice overdue")

    with page.expect_navigation():
        _row(page).locator("button:text-is('Resume')").click()
    assert _tenant().status == Tenant.Status.ACTIVE

    limits = page.locator(f"tr[data-limits={SCHEMA}]")
    limits.locator("input[name=llm_tokens_per_day]").fill("150000")
    limits.locator("input[name=storage_quota_bytes]").fill("")
    with page.expect_navigation():
        limits.locator("button").click()
    limited = _tenant()
    assert (limited.llm_tokens_per_day, limited.storage_quota_bytes, limited.llm_requests_per_minute) == (
        150000,
        None,
        None,
    )
    assert page.locator(f"tr[data-limits={SCHEMA}] input[name=llm_tokens_per_day]").input_value() == "150000"

    _row(page).locator("input[name=confirm]").fill("not-the-schema")
    with page.expect_navigation():
        _row(page).locator("button:text-is('Delete')").click()
    assert f"type {SCHEMA} to confirm" in page.locator(".messages .error").inner_text()
    assert _tenant() is not None

    _row(page).locator("input[name=confirm]").fill(SCHEMA)
    with page.expect_navigation():
        _row(page).locator("button:text-is('Delete')").click()
    assert page.locator("h1").inner_text() == "Tenant Made On The Page was deleted"
    assert page.locator("#shown-once tr:has(th:text-is('Schema dropped')) code").inner_text() == "True"
    assert _tenant() is None


def test_a_refused_creation_says_why_and_creates_nothing(browser_page, server_port, world):
    page = browser_page
    sign_in(page, host="localhost", port=server_port, username="ops", password=PASSWORD)
    form = page.locator("form[aria-label='Create a tenant']")
    form.locator("input[name=name]").fill("Copy of A")
    form.locator("input[name=schema_name]").fill("tenant_a")
    form.locator("input[name=admin_username]").fill("someone")
    with page.expect_navigation():
        form.locator("button").click()
    assert page.locator(".messages .error").count() == 1
    assert in_own_connection(lambda: Tenant.objects.filter(name="Copy of A").exists()) is False


def test_the_usage_chart_and_the_system_page_show_each_tenant_and_each_part(browser_page, server_port, world):
    page = browser_page
    sign_in(page, host="localhost", port=server_port, username="ops", password=PASSWORD)
    page.wait_for_function("window.Chart && Chart.getChart('chart-usage')")
    assert {"Tenant A", "Tenant B"} <= set(page.evaluate("Chart.getChart('chart-usage').data.labels"))
    assert page.locator("tr[data-usage=tenant_a]").count() == 1

    page.click("text=System health")
    page.wait_for_selector("#checks")
    states = {name: page.locator(f"tr[data-check={name}] td").first.inner_text() for name in ("database", "broker")}
    assert states == {"database": "up", "broker": "up"}
    assert page.locator("tr[data-check=workers]").count() == 1 and page.locator("tr[data-check=llm]").count() == 1
    assert page.locator("tr[data-queue=tenant_a]").count() == 1
    assert serious_accessibility_violations(page) == []


def test_an_operator_adds_another_who_signs_in_and_is_then_deactivated(browser_page, server_port, world):
    page = browser_page
    sign_in(page, host="localhost", port=server_port, username="ops", password=PASSWORD)
    form = page.locator("form[aria-label='Add an operator']")
    form.locator("input[name=username]").fill("night_shift")
    with page.expect_navigation():
        form.locator("button").click()
    password = page.locator("#shown-once tr:has(th:text-is('Password')) code").inner_text()
    added = in_own_connection(lambda: User.objects.get(username="night_shift"))
    assert added.role == User.Role.OPERATOR and added.check_password(password)

    page.goto(f"http://localhost:{server_port}/#operators")
    assert serious_accessibility_violations(page) == []
    with page.expect_navigation():
        page.locator("tr[data-operator=night_shift] button:text-is('Deactivate')").click()
    assert in_own_connection(lambda: User.objects.get(username="night_shift").is_active) is False
    assert page.locator("tr[data-operator=ops] button").count() == 0

    with page.expect_navigation():
        page.locator("tr[data-operator=night_shift] button:text-is('Reactivate')").click()
    assert in_own_connection(lambda: User.objects.get(username="night_shift").is_active) is True
