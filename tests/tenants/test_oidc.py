"""Company sign-in (issue #15 item 1) against a real OpenID Connect provider process on loopback:
authorization code with PKCE, role and group mapping at every sign-in, passwords off, refusals."""

import datetime
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.accounts import oidc
from tenants.accounts.models import AuditEvent, IdentityProvider, User
from tenants.accounts.oidc_client import OidcError, claims_from_code
from tests.conftest import PASSWORD
from tests.processes import oidc_provider
from tests.retrieval.conftest import group_principal, plant

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

CLIENT_ID, CLIENT_SECRET = "enclave-tenant-a", "s3cret-of-the-client"
HOST = "tenant-a.localhost"
PEOPLE = {
    "olga": {"sub": "u-olga", "password": "olga-pass", "email": "olga@a.example", "groups": ["idp-finance"]},
    "ivan": {"sub": "u-ivan", "password": "ivan-pass", "groups": ["idp-admins", "idp-legal"], "role": "it-admin"},
}


@pytest.fixture(autouse=True)
def _provider_on_loopback(settings):
    settings.ENCLAVE_OIDC_ALLOW_LOOPBACK = True  # the test provider is a process on this machine


@pytest.fixture(scope="module")
def people_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("idp") / "people.json"
    path.write_text(json.dumps(PEOPLE))
    return path


@pytest.fixture(scope="module")
def issuer(people_file):
    redirect = f"http://{HOST}/login/oidc/callback/"
    with oidc_provider(
        users_file=people_file, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[redirect]
    ) as url:
        yield url


@pytest.fixture
def people(people_file):
    def change(username: str, **record):
        data = json.loads(people_file.read_text())
        data[username].update(record)
        people_file.write_text(json.dumps(data))

    yield change
    people_file.write_text(json.dumps(PEOPLE))


def configure(api, tenant_a, issuer, **extra):
    body = {
        "display_name": "Acme SSO",
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "role_map": {"it-admin": "admin"},
        "group_map": {"idp-finance": "finance", "idp-legal": "legal"},
        **extra,
    }
    return api("put", "/api/v1/identity-provider/", key=tenant_a.admin_key, host=tenant_a.host, data=body)


def sign_in(client, username: str, password: str):
    """Enclave -> provider (password form) -> Enclave callback; the callback's response."""
    started = client.get("/login/oidc/?next=/chat/", HTTP_HOST=HOST)
    assert started.status_code == 302, started.content
    answer = requests.post(
        started["Location"], data={"username": username, "password": password}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert back.path == "/login/oidc/callback/"
    return client.get(f"{back.path}?{back.query}", HTTP_HOST=HOST)


def signed_in(client) -> bool:
    return client.get("/api/v1/me/", HTTP_HOST=HOST).status_code == 200


def test_an_admin_sets_up_the_provider_and_the_secret_never_comes_back(api, tenant_a, issuer):
    response = configure(api, tenant_a, issuer)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["client_secret_set"] is True and "client_secret" not in body
    assert body["redirect_uri"] == f"http://{HOST}/login/oidc/callback/"
    with schema_context(tenant_a.tenant.schema_name):
        stored = bytes(IdentityProvider.objects.get().client_secret_encrypted)
        assert CLIENT_SECRET.encode() not in stored
        assert AuditEvent.objects.filter(action="identity_provider.configured").exists()
    again = api("get", "/api/v1/identity-provider/", key=tenant_a.admin_key, host=tenant_a.host).json()
    assert again["issuer"] == issuer and "client_secret" not in again


@pytest.mark.parametrize("who", ["member", "other-tenant-admin", "nobody"])
def test_only_the_tenants_own_admin_reads_or_changes_the_provider(api, tenant_a, tenant_b, issuer, who):
    configure(api, tenant_a, issuer)
    key = {"member": tenant_a.finance_key, "other-tenant-admin": tenant_b.admin_key, "nobody": None}[who]
    for method in ("get", "put", "delete"):
        data = {"issuer": "https://evil.example", "client_id": "x"} if method == "put" else None
        response = api(method, "/api/v1/identity-provider/", key=key, host=tenant_a.host, data=data)
        assert response.status_code in (401, 403), (method, response.status_code)
    with schema_context(tenant_a.tenant.schema_name):
        assert IdentityProvider.objects.get().issuer == issuer


def test_an_issuer_over_plain_http_elsewhere_is_refused(api, tenant_a):
    response = configure(api, tenant_a, "http://idp.example.com")
    assert response.status_code == 400
    assert "issuer" in response.json()["error"]["detail"]


def test_a_first_sign_in_creates_the_member_with_the_mapped_groups(api, client, tenant_a, issuer):
    configure(api, tenant_a, issuer)
    assert not signed_in(client)
    response = sign_in(client, "olga", "olga-pass")
    assert response.status_code == 302 and response["Location"] == "/chat/"
    assert signed_in(client)
    with schema_context(tenant_a.tenant.schema_name):
        olga = User.objects.get(username="olga")
        assert olga.role == "member" and olga.email == "olga@a.example" and not olga.has_usable_password()
        assert [group.name for group in olga.member_groups.all()] == ["finance"]
    me = client.get("/api/v1/me/", HTTP_HOST=HOST).json()
    assert me["username"] == "olga" and group_principal(tenant_a.finance_group) in me["principals"]


def test_the_role_claim_maps_to_admin_and_unmapped_local_groups_are_left_alone(api, client, tenant_a, issuer):
    configure(api, tenant_a, issuer)
    assert sign_in(client, "ivan", "ivan-pass").status_code == 302
    with schema_context(tenant_a.tenant.schema_name):
        ivan = User.objects.get(username="ivan")
        assert ivan.role == "admin"
        assert sorted(group.name for group in ivan.member_groups.all()) == ["legal"]


def test_removing_the_group_at_the_provider_removes_access_at_the_next_sign_in(api, client, tenant_a, issuer, people):
    configure(api, tenant_a, issuer)
    plant(tenant_a, ["Project Heron closes the Oslo office in March."], acl=[group_principal(tenant_a.finance_group)])

    def found() -> bool:
        response = api("post", "/api/v1/search/", host=HOST, data={"query": "Project Heron Oslo office"})
        assert response.status_code == 200, response.content
        return any("Heron" in result["text"] for result in response.json()["results"])

    assert sign_in(client, "olga", "olga-pass").status_code == 302
    assert found()
    people("olga", groups=[], role="it-admin")
    client.post("/logout/", HTTP_HOST=HOST)
    assert sign_in(client, "olga", "olga-pass").status_code == 302
    assert not found()
    with schema_context(tenant_a.tenant.schema_name):
        olga = User.objects.get(username="olga")
        assert olga.role == "admin" and not olga.member_groups.exists()
        event = AuditEvent.objects.filter(action="auth.login", actor_id=olga.public_id).latest("id")
        assert event.detail["groups_removed"] == ["finance"] and event.detail["role"] == ["member", "admin"]


def test_with_passwords_off_a_password_no_longer_signs_in(api, client, tenant_a, issuer):
    configure(api, tenant_a, issuer, passwords_enabled=False)
    page = client.get("/login/", HTTP_HOST=HOST)
    assert b"Sign in with Acme SSO" in page.content and b'name="password"' not in page.content
    response = client.post("/login/", {"username": "fay", "password": PASSWORD}, HTTP_HOST=HOST)
    assert response.status_code == 403
    assert not signed_in(client)


def test_a_local_account_of_the_same_name_is_not_taken_over(api, client, tenant_a, issuer, people):
    configure(api, tenant_a, issuer)
    people("olga", **{"sub": "u-someone-else"})
    with schema_context(tenant_a.tenant.schema_name):
        User.objects.create_user(username="olga", password=PASSWORD)
    response = sign_in(client, "olga", "olga-pass")
    assert response.status_code == 403 and b"not linked to the identity provider" in response.content
    assert not signed_in(client)


def test_a_deactivated_person_is_refused_although_the_provider_vouches(api, client, tenant_a, issuer):
    configure(api, tenant_a, issuer)
    sign_in(client, "olga", "olga-pass")
    client.post("/logout/", HTTP_HOST=HOST)
    with schema_context(tenant_a.tenant.schema_name):
        User.objects.filter(username="olga").update(is_active=False)
    assert sign_in(client, "olga", "olga-pass").status_code == 403
    assert not signed_in(client)


def test_a_callback_that_was_not_started_here_or_was_replayed_is_refused(api, client, tenant_a, issuer):
    configure(api, tenant_a, issuer)
    started = client.get("/login/oidc/", HTTP_HOST=HOST)
    answer = requests.post(
        started["Location"], data={"username": "olga", "password": "olga-pass"}, allow_redirects=False, timeout=10
    )
    back = urlsplit(answer.headers["Location"])
    forged = client.get(f"{back.path}?code={parse_qs(back.query)['code'][0]}&state=forged", HTTP_HOST=HOST)
    assert forged.status_code == 400
    replayed = client.get(f"{back.path}?{back.query}", HTTP_HOST=HOST)
    assert replayed.status_code == 400  # the forged attempt already spent the pending sign-in
    assert not signed_in(client)


def test_a_wrong_client_secret_fails_clearly(api, client, tenant_a, issuer):
    configure(api, tenant_a, issuer, client_secret="not-the-secret")
    response = sign_in(client, "olga", "olga-pass")
    assert response.status_code == 502 and b"does not check out" in response.content
    assert not signed_in(client)


def test_the_sign_in_pages_are_not_found_without_a_provider_or_on_the_public_host(client, tenant_a):
    assert client.get("/login/oidc/", HTTP_HOST=HOST).status_code == 404
    assert client.get("/login/oidc/", HTTP_HOST="localhost").status_code == 404


def test_an_id_token_minted_for_another_sign_in_is_refused(api, client, tenant_a, issuer):
    configure(api, tenant_a, issuer)
    started = client.get("/login/oidc/", HTTP_HOST=HOST)
    with schema_context(tenant_a.tenant.schema_name):  # sessions live in the tenant's schema
        pending = client.session["oidc_pending"]
    answer = requests.post(
        started["Location"], data={"username": "olga", "password": "olga-pass"}, allow_redirects=False, timeout=10
    )
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    with schema_context(tenant_a.tenant.schema_name):
        provider = IdentityProvider.objects.get()
        oidc_client = oidc.client_for(
            provider, tenant=tenant_a.tenant, redirect_uri=f"http://{HOST}/login/oidc/callback/"
        )
    with pytest.raises(OidcError, match="nonce"):
        claims_from_code(oidc_client, code=code, code_verifier=pending["verifier"], nonce="another-sign-in")


def session_key(client, **data) -> dict:
    """An API key made by whoever is signed in to `client`."""
    response = client.post(
        "/api/v1/api-keys/", data=json.dumps({"name": "mine", **data}), content_type="application/json", HTTP_HOST=HOST
    )
    assert response.status_code == 201, response.content
    return response.json()


def key_works(api, key: dict) -> bool:
    return api("get", "/api/v1/me/", key=key["key"], host=HOST).status_code == 200


def test_a_company_sign_in_lasts_the_configured_lifetime_not_djangos_two_weeks(api, client, tenant_a, issuer, settings):
    settings.ENCLAVE_OIDC_SESSION_SECONDS = 600
    configure(api, tenant_a, issuer)
    before = timezone.now()

    assert sign_in(client, "olga", "olga-pass").status_code == 302

    with schema_context(tenant_a.tenant.schema_name):  # sessions live in the tenant's schema
        ends = client.session.get_expiry_date()
    assert before + datetime.timedelta(seconds=600) <= ends <= timezone.now() + datetime.timedelta(seconds=600)


def test_a_company_users_key_expires_no_later_than_the_configured_maximum(api, client, tenant_a, issuer, settings):
    settings.ENCLAVE_OIDC_KEY_MAX_DAYS = 7
    configure(api, tenant_a, issuer)
    sign_in(client, "olga", "olga-pass")
    latest = timezone.now() + datetime.timedelta(days=7)

    unasked = session_key(client)
    in_a_year = session_key(client, expires_at=(timezone.now() + datetime.timedelta(days=365)).isoformat())
    tomorrow = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    sooner = session_key(client, expires_at=tomorrow)

    for key in (unasked, in_a_year):
        assert latest <= datetime.datetime.fromisoformat(key["expires_at"]) <= latest + datetime.timedelta(minutes=1)
    assert datetime.datetime.fromisoformat(sooner["expires_at"]) < latest


def test_a_sign_in_that_drops_a_group_revokes_only_the_keys_made_while_it_was_held(
    api, client, tenant_a, issuer, people
):
    configure(api, tenant_a, issuer)
    sign_in(client, "olga", "olga-pass")
    finance_only = session_key(client)
    people("olga", groups=["idp-finance", "idp-legal"])
    client.post("/logout/", HTTP_HOST=HOST)
    sign_in(client, "olga", "olga-pass")
    with_legal = session_key(client)
    assert key_works(api, finance_only) and key_works(api, with_legal)

    people("olga", groups=["idp-finance"])
    client.post("/logout/", HTTP_HOST=HOST)
    sign_in(client, "olga", "olga-pass")

    refused = api("get", "/api/v1/me/", key=with_legal["key"], host=HOST)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "api_key_revoked"
    assert key_works(api, finance_only)
    with schema_context(tenant_a.tenant.schema_name):
        event = AuditEvent.objects.get(action="api_key.revoked", target_id=with_legal["id"])
        assert event.detail["lost"] == [group_principal(tenant_a.legal_group)]


def test_a_sign_in_that_takes_the_admin_role_away_revokes_the_keys_made_as_an_admin(
    api, client, tenant_a, issuer, people
):
    configure(api, tenant_a, issuer)
    sign_in(client, "ivan", "ivan-pass")
    as_admin = session_key(client)
    people("ivan", role="staff")
    client.post("/logout/", HTTP_HOST=HOST)

    sign_in(client, "ivan", "ivan-pass")

    assert not key_works(api, as_admin)
    assert key_works(api, session_key(client))


def test_an_admin_taking_a_group_from_a_company_user_revokes_their_keys_that_relied_on_it(
    api, client, tenant_a, issuer
):
    configure(api, tenant_a, issuer)
    sign_in(client, "olga", "olga-pass")
    olgas = session_key(client)
    with schema_context(tenant_a.tenant.schema_name):
        olga = User.objects.get(username="olga")
    finance = f"/api/v1/groups/{tenant_a.finance_group.public_id}/members"

    removed = api("delete", f"{finance}/{olga.public_id}/", key=tenant_a.admin_key)
    local = api("delete", f"{finance}/{tenant_a.finance.public_id}/", key=tenant_a.admin_key)

    assert removed.status_code == 204 and local.status_code == 204
    assert not key_works(api, olgas)
    assert api("get", "/api/v1/me/", key=tenant_a.finance_key).status_code == 200  # a local account's keys stay


def test_an_admin_demoting_a_company_admin_revokes_the_keys_made_as_an_admin(api, client, tenant_a, issuer):
    configure(api, tenant_a, issuer)
    sign_in(client, "ivan", "ivan-pass")
    as_admin = session_key(client)
    with schema_context(tenant_a.tenant.schema_name):
        ivan = User.objects.get(username="ivan")

    demoted = api("patch", f"/api/v1/users/{ivan.public_id}/", key=tenant_a.admin_key, data={"role": "member"})

    assert demoted.status_code == 200 and not key_works(api, as_admin)
