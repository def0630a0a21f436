import pytest
from django_tenants.utils import schema_context

from tenants.accounts.models import AuditEvent
from tenants.accounts.services import user_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_tenant_console_asks_for_sign_in(client, tenant_a):
    response = client.get("/", HTTP_HOST=tenant_a.host)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_member_signs_in_sees_the_console_and_the_login_is_audited(client, tenant_a):
    signed_in = client.post("/login/", {"username": "fay", "password": PASSWORD}, HTTP_HOST=tenant_a.host)
    console = client.get("/", HTTP_HOST=tenant_a.host)

    assert signed_in.status_code == 302
    assert console.status_code == 200
    assert "Tenant A" in console.content.decode()
    assert "finance" in console.content.decode()
    with schema_context("tenant_a"):
        assert AuditEvent.objects.filter(action="auth.login", actor_label="fay").exists()


def test_a_wrong_password_is_refused_and_audited(client, tenant_a):
    response = client.post("/login/", {"username": "fay", "password": "nope"}, HTTP_HOST=tenant_a.host)

    assert response.status_code == 401
    assert "not valid" in response.content.decode()
    with schema_context("tenant_a"):
        assert AuditEvent.objects.filter(action="auth.login_failed", actor_label="fay").exists()


def test_a_user_of_one_tenant_cannot_sign_in_on_another_tenants_host(client, tenant_a, tenant_b):
    with schema_context("tenant_a"):
        user_create(username="only_in_a", password=PASSWORD)

    response = client.post("/login/", {"username": "only_in_a", "password": PASSWORD}, HTTP_HOST=tenant_b.host)

    assert response.status_code == 401


def test_a_tenant_session_does_not_carry_over_to_another_tenants_host(client, tenant_a, tenant_b):
    client.post("/login/", {"username": "fay", "password": PASSWORD}, HTTP_HOST=tenant_a.host)

    response = client.get("/", HTTP_HOST=tenant_b.host)

    assert response.status_code == 302


def test_an_operator_signs_in_on_the_public_host_and_sees_tenants(client, operator, tenant_a):
    client.post("/login/", {"username": "ops", "password": PASSWORD}, HTTP_HOST="localhost")

    console = client.get("/", HTTP_HOST="localhost")

    assert console.status_code == 200
    assert "tenant_a.localhost" not in console.content.decode()
    assert "tenant-a.localhost" in console.content.decode()


def test_a_tenant_admin_cannot_sign_in_on_the_public_host(client, tenant_a):
    response = client.post("/login/", {"username": "admin", "password": PASSWORD}, HTTP_HOST="localhost")

    assert response.status_code == 401


def test_an_unknown_tenant_host_is_a_json_404(client):
    response = client.get("/login/", HTTP_HOST="ghost.localhost")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_host"


def test_a_host_outside_the_allowed_list_is_a_json_400(client):
    response = client.get("/login/", HTTP_HOST="evil.example.com")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "host_not_allowed"


def test_sign_in_never_redirects_to_another_site(client, tenant_a):
    response = client.post(
        "/login/?next=https://evil.example.com/", {"username": "fay", "password": PASSWORD}, HTTP_HOST=tenant_a.host
    )

    assert response["Location"] == "/"


def test_a_session_cookie_from_one_tenants_host_is_worth_nothing_on_another(client, tenant_a, tenant_b):
    """Cookie replay: Fay signs in on tenant A's host; her session cookie, sent to tenant B's host (pages
    and API), signs no one in there."""
    client.post("/login/", {"username": "fay", "password": PASSWORD}, HTTP_HOST=tenant_a.host)
    assert client.get("/", HTTP_HOST=tenant_a.host).status_code == 200  # the cookie works where it was made

    page = client.get("/", HTTP_HOST=tenant_b.host)
    api = client.get("/api/v1/conversations/", HTTP_HOST=tenant_b.host)

    assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert api.status_code in (401, 403) and "fay" not in api.content.decode()
