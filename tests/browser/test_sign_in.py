"""Sign-in and the consoles in a real browser, against the real ASGI server."""

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_member_signs_in_and_sees_their_tenant_console(browser_page, server_port, world):
    page = browser_page
    page.goto(f"http://{world['a'].host}:{server_port}/")

    page.fill("input[name=username]", "fay")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_selector("h1:has-text('Tenant A')")
    assert "finance" in page.content()
    assert "Tenant B" not in page.content()


def test_a_wrong_password_shows_an_error_and_stays_on_the_form(browser_page, server_port, world):
    page = browser_page
    page.goto(f"http://{world['b'].host}:{server_port}/login/")

    page.fill("input[name=username]", "fay")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")

    assert page.locator("[role=alert]").inner_text() == "Those credentials are not valid here."
    assert page.locator("input[name=password]").is_visible()


def test_an_operator_signs_in_on_the_public_host_and_sees_tenants(browser_page, server_port, world):
    page = browser_page
    page.goto(f"http://localhost:{server_port}/login/")

    page.fill("input[name=username]", "ops")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_selector("h1:has-text('Tenants')")
    assert "tenant-a.localhost" in page.content()
    assert "tenant-b.localhost" in page.content()
