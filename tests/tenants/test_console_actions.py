"""Every console form that takes an id, tried signed out, by a member, and with another tenant's id:
nothing changes, and the refusal is a sign-in redirect, a 403 or a "no longer exists" message."""

import pytest
from django_tenants.utils import schema_context

from ingestion.models import Document
from tenants.accounts.models import ApiKey, Group, User
from tenants.accounts.selectors import EVERYONE
from tenants.models import Tenant
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _admin_forms(tenant) -> list[tuple[str, dict]]:
    user, group = tenant.finance.public_id, tenant.finance_group.public_id
    return [
        ("/console/users/", {"username": "intruder"}),
        (f"/console/users/{user}/", {"is_active": "false"}),
        (f"/console/users/{user}/erase/", {"confirm": "fay"}),
        ("/console/groups/", {"name": "intruders"}),
        (f"/console/groups/{group}/delete/", {}),
        (f"/console/groups/{group}/members/", {"user_id": str(user)}),
        (f"/console/groups/{group}/members/{user}/remove/", {}),
    ]


def _key_of(user: User):
    with schema_context("tenant_a"):
        return ApiKey.objects.filter(user=user).first().public_id


def _unchanged(schema: str) -> None:
    with schema_context(schema):
        fay = User.objects.get(username="fay")
        assert fay.is_active
        assert not User.objects.filter(username="intruder").exists()
        assert not Group.objects.filter(name="intruders").exists()
        assert list(Group.objects.get(name="finance").members.values_list("username", flat=True)) == ["fay"]
        assert not ApiKey.objects.filter(revoked_at__isnull=False).exists()


def test_signed_out_posts_are_sent_to_sign_in(client, tenant_a):
    key = _key_of(tenant_a.admin)
    for path, data in [*_admin_forms(tenant_a), (f"/console/api-keys/{key}/revoke/", {})]:
        response = client.post(path, data, HTTP_HOST=tenant_a.host)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path
    _unchanged("tenant_a")


def test_a_member_cannot_use_the_admin_forms_or_revoke_someone_elses_key(client, tenant_a):
    client.post("/login/", {"username": "leo", "password": PASSWORD}, HTTP_HOST=tenant_a.host)
    for path, data in _admin_forms(tenant_a):
        assert client.post(path, data, HTTP_HOST=tenant_a.host).status_code == 403, path

    admin_key = _key_of(tenant_a.admin)
    response = client.post(f"/console/api-keys/{admin_key}/revoke/", HTTP_HOST=tenant_a.host, follow=True)
    assert "no longer exists" in response.content.decode()
    _unchanged("tenant_a")


def test_another_tenants_ids_are_not_found_by_an_admin(client, tenant_a, tenant_b):
    client.post("/login/", {"username": "admin", "password": PASSWORD}, HTTP_HOST=tenant_b.host)
    key = _key_of(tenant_a.finance)
    for path, data in [
        *_admin_forms(tenant_a)[1:3],
        *_admin_forms(tenant_a)[4:],
        (f"/console/api-keys/{key}/revoke/", {}),
    ]:
        response = client.post(path, data, HTTP_HOST=tenant_b.host, follow=True)
        assert "no longer exists" in response.content.decode(), path
    _unchanged("tenant_a")


def test_another_tenants_document_cannot_be_seen_changed_or_deleted(client, tenant_a, tenant_b):
    with schema_context("tenant_a"):
        document = Document.objects.create(
            title="A only", filename="a.txt", acl_principals=[EVERYONE], uploaded_by=tenant_a.admin
        )
    client.post("/login/", {"username": "admin", "password": PASSWORD}, HTTP_HOST=tenant_b.host)
    base = f"/documents/{document.public_id}/"

    assert client.get(base, HTTP_HOST=tenant_b.host).status_code == 404
    for action, data in (("edit/", {"title": "taken", "acl": "everyone"}), ("delete/", {"confirm": "a.txt"})):
        response = client.post(base + action, data, HTTP_HOST=tenant_b.host, follow=True)
        assert "no longer exists" in response.content.decode()
    with schema_context("tenant_a"):
        assert Document.objects.get(pk=document.pk).title == "A only"


def test_tenant_users_cannot_use_the_operator_forms(client, tenant_a):
    client.post("/login/", {"username": "admin", "password": PASSWORD}, HTTP_HOST=tenant_a.host)
    tenant_id = tenant_a.tenant.pk
    for path in (
        "/console/tenants/",
        f"/console/tenants/{tenant_id}/suspend/",
        f"/console/tenants/{tenant_id}/delete/",
        "/console/operators/",
    ):
        # On a tenant's host these pages do not exist; on the public host a tenant session is not signed in.
        data = {"confirm": "tenant_a", "username": "sneaky"}
        assert client.post(path, data, HTTP_HOST=tenant_a.host).status_code == 404
        assert client.post(path, data, HTTP_HOST="localhost").status_code == 302
    assert Tenant.objects.get(pk=tenant_id).status == Tenant.Status.ACTIVE
    assert not User.objects.filter(username="sneaky").exists()


def test_the_audit_page_is_for_admins_and_operators_only(client, tenant_a):
    client.post("/login/", {"username": "fay", "password": PASSWORD}, HTTP_HOST=tenant_a.host)
    assert client.get("/audit/", HTTP_HOST=tenant_a.host).status_code == 403
    assert client.get("/audit/", HTTP_HOST="localhost")["Location"].startswith("/login/")
    client.post("/login/", {"username": "ops", "password": PASSWORD}, HTTP_HOST="localhost")
    assert client.get("/audit/", HTTP_HOST="localhost").status_code == 200
