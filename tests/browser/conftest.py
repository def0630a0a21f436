import contextlib
import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.processes import web_server

# Playwright's sync API runs an event loop in this thread; the tests' own ORM reads are plain
# synchronous queries, which Django would otherwise refuse while that loop exists.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def server_port(world, django_db_blocker):
    with django_db_blocker.unblock(), web_server() as port:
        yield port


@pytest.fixture
def browser_page():
    """A fresh page in Debian's headless Chromium (scripts/test installs it when missing)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        try:
            yield page
        finally:
            browser.close()


AXE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe-core" / "axe.min.js"


def serious_accessibility_violations(page) -> list[dict]:
    """axe-core's serious and critical findings on the page as it is now (scripts/bootstrap fetches axe)."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
             .filter((v) => ["serious", "critical"].includes(v.impact))
             .map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" "))}))"""
    )


def sign_in(page, *, host: str, port: int, username: str, password: str, next_path: str = "/") -> None:
    page.goto(f"http://{host}:{port}/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@contextlib.contextmanager
def own_tenant(django_db_blocker, *, name: str, schema: str, members: tuple[str, ...]):
    """A tenant of one test module, committed so the server sees it, with an admin "boss" and members
    (password PASSWORD); deleted afterwards. Yields (tenant, {username: user})."""
    from django_tenants.utils import schema_context

    from tenants import services
    from tenants.accounts import services as accounts
    from tests.conftest import PASSWORD
    from tests.processes import in_own_connection

    def create():
        created = services.tenant_create(name=name, schema_name=schema, admin_username="boss", admin_password=PASSWORD)
        with schema_context(schema):
            users = {username: accounts.user_create(username=username, password=PASSWORD)[0] for username in members}
        return created.tenant, {"boss": created.admin, **users}

    with django_db_blocker.unblock():
        tenant, users = in_own_connection(create)
        try:
            yield tenant, users
        finally:
            in_own_connection(lambda: services.tenant_delete(tenant=tenant))
