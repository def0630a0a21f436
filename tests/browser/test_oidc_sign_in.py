"""Company sign-in in a real browser (issue #15): Chromium goes from the tenant's sign-in page to the
OpenID Connect provider process, signs in there and lands in the tenant with the mapped role and
groups; once the provider drops the group, the next sign-in loses the group's document."""

import json

import pytest
from django_tenants.utils import schema_context

from retrieval.models import Chunk
from tenants.accounts import oidc
from tenants.accounts.models import IdentityProvider, User
from tests.processes import in_own_connection, oidc_provider, web_server
from tests.retrieval.conftest import group_principal, plant

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

CLIENT_ID, CLIENT_SECRET = "enclave-browser", "browser-client-secret"
PEOPLE = {"nina": {"sub": "u-nina", "password": "nina-pass", "groups": ["idp-finance"], "role": "staff"}}
SEARCH = """async () => {
  const csrf = document.cookie.split("; ").find(c => c.startsWith("csrftoken="))?.split("=")[1] || "";
  const response = await fetch("/api/v1/search/", {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
    body: JSON.stringify({query: "Project Osprey Lisbon warehouse"})});
  return (await response.json()).results.map(result => result.text);
}"""


@pytest.fixture(scope="module")
def server_port(world, django_db_blocker):
    """The browser tests' web server, let reach the test provider on loopback as in development."""
    with django_db_blocker.unblock(), web_server(extra_env={"ENCLAVE_OIDC_ALLOW_LOOPBACK": "1"}) as port:
        yield port


@pytest.fixture
def company_sign_in(world, server_port, tmp_path, settings):
    settings.ENCLAVE_OIDC_ALLOW_LOOPBACK = True  # set up in this process, signed in through the web server
    tenant_a = world["a"]
    people = tmp_path / "people.json"
    people.write_text(json.dumps(PEOPLE))
    redirect = f"http://{tenant_a.host}:{server_port}/login/oidc/callback/"

    with oidc_provider(
        users_file=people, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[redirect]
    ) as issuer:

        def set_up():
            with schema_context(tenant_a.tenant.schema_name):
                oidc.provider_configure(
                    tenant=tenant_a.tenant,
                    actor=tenant_a.admin,
                    client_secret=CLIENT_SECRET,
                    display_name="Acme SSO",
                    issuer=issuer,
                    client_id=CLIENT_ID,
                    role_map={"staff": "member", "it": "admin"},
                    group_map={"idp-finance": "finance"},
                )
            text = "Project Osprey moves the Lisbon warehouse to Porto in May."
            return plant(tenant_a, [text], acl=[group_principal(tenant_a.finance_group)])

        document = in_own_connection(set_up)
        yield tenant_a, people

    def tear_down():
        with schema_context(tenant_a.tenant.schema_name):
            IdentityProvider.objects.all().delete()
            User.objects.filter(username="nina").delete()
            Chunk.objects.filter(document_id=document).delete()

    in_own_connection(tear_down)


def _sign_in_at_the_provider(page, tenant_a, server_port):
    page.goto(f"http://{tenant_a.host}:{server_port}/login/")
    page.click("text=Sign in with Acme SSO")
    page.wait_for_selector("h1:has-text('Test identity provider')")
    page.fill("input[name=username]", "nina")
    page.fill("input[name=password]", "nina-pass")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Tenant A')")


def _nina(schema: str) -> tuple[str, list[str]]:
    def read():
        with schema_context(schema):
            nina = User.objects.get(username="nina")
            return nina.role, sorted(group.name for group in nina.member_groups.all())

    return in_own_connection(read)


def test_company_sign_in_maps_groups_and_a_group_removed_at_the_provider_loses_the_document(
    browser_page, server_port, company_sign_in
):
    tenant_a, people = company_sign_in
    page = browser_page

    _sign_in_at_the_provider(page, tenant_a, server_port)
    assert _nina(tenant_a.tenant.schema_name) == ("member", ["finance"])
    assert any("Osprey" in text for text in page.evaluate(SEARCH))

    people.write_text(json.dumps({"nina": {**PEOPLE["nina"], "groups": [], "role": "it"}}))
    page.click("button:has-text('Sign out')")
    page.wait_for_selector("input[name=username]")
    _sign_in_at_the_provider(page, tenant_a, server_port)

    assert _nina(tenant_a.tenant.schema_name) == ("admin", [])
    assert not any("Osprey" in text for text in page.evaluate(SEARCH))
