import os
import shutil

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
