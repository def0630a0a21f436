import datetime
import uuid

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.accounts import services
from tenants.accounts.models import ApiKey, AuditEvent

pytestmark = pytest.mark.django_db


def test_a_new_key_is_shown_once_and_only_its_hash_is_stored(api, tenant_a):
    created = api("post", "/api/v1/api-keys/", key=tenant_a.finance_key, data={"name": "laptop"})
    listed = api("get", "/api/v1/api-keys/", key=tenant_a.finance_key)

    raw = created.json()["key"]
    assert created.status_code == 201
    assert raw.startswith("ek_")
    assert all("key" not in item for item in listed.json()["results"])
    secret = raw.split("_")[2]
    with schema_context("tenant_a"):
        stored = ApiKey.objects.get(public_id=created.json()["id"])
    assert secret not in stored.secret_hash
    assert api("get", "/api/v1/me/", key=raw).json()["username"] == "fay"


def test_a_revoked_key_is_refused_with_a_clear_error_and_an_audit_entry(api, tenant_a):
    created = api("post", "/api/v1/api-keys/", key=tenant_a.finance_key, data={"name": "old"}).json()

    revoked = api("delete", f"/api/v1/api-keys/{created['id']}/", key=tenant_a.finance_key)
    refused = api("get", "/api/v1/me/", key=created["key"])

    assert revoked.status_code == 204
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "api_key_revoked"
    with schema_context("tenant_a"):
        assert AuditEvent.objects.filter(action="api_key.revoked", target_id=created["id"]).exists()
        assert AuditEvent.objects.filter(action="api_key.rejected", detail__reason="api_key_revoked").exists()


@pytest.mark.parametrize("raw", ["ek_nope_nope", "not-a-key", "ek__", "ek_a_b_c"])
def test_an_unknown_or_malformed_key_is_refused(api, raw):
    response = api("get", "/api/v1/me/", key=raw)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_a_right_prefix_with_a_wrong_secret_is_refused(api, tenant_a):
    prefix = tenant_a.finance_key.split("_")[1]

    response = api("get", "/api/v1/me/", key=f"ek_{prefix}_guessed")

    assert response.status_code == 401
    with schema_context("tenant_a"):
        assert AuditEvent.objects.filter(action="api_key.rejected", target_id=prefix).exists()


def test_a_member_cannot_see_or_revoke_another_members_key(api, tenant_a):
    other = api("post", "/api/v1/api-keys/", key=tenant_a.legal_key, data={"name": "leo's"}).json()

    assert api("get", f"/api/v1/api-keys/{other['id']}/", key=tenant_a.finance_key).status_code == 404
    assert api("delete", f"/api/v1/api-keys/{other['id']}/", key=tenant_a.finance_key).status_code == 404
    assert api("get", "/api/v1/me/", key=other["key"]).status_code == 200


def test_an_admin_can_revoke_any_key_of_the_tenant(api, tenant_a):
    issued = api("post", "/api/v1/api-keys/", key=tenant_a.finance_key, data={"name": "fay's script"}).json()

    assert api("get", "/api/v1/me/", key=issued["key"]).json()["username"] == "fay"
    assert api("delete", f"/api/v1/api-keys/{issued['id']}/", key=tenant_a.admin_key).status_code == 204
    assert api("get", "/api/v1/me/", key=issued["key"]).status_code == 401


def test_an_admin_cannot_issue_a_key_that_acts_as_a_member(api, tenant_a):
    """A key acts as its owner: an admin holding one for Fay could read her private conversations."""
    response = api(
        "post",
        "/api/v1/api-keys/",
        key=tenant_a.admin_key,
        data={"name": "for fay", "user_id": str(tenant_a.finance.public_id)},
    )
    own = api(
        "post",
        "/api/v1/api-keys/",
        key=tenant_a.admin_key,
        data={"name": "mine", "user_id": str(tenant_a.admin.public_id)},
    )

    assert response.status_code == 403 and "key" not in response.json()
    assert own.status_code == 201 and api("get", "/api/v1/me/", key=own.json()["key"]).json()["username"] == "admin"


def test_a_member_cannot_issue_keys_for_someone_else(api, tenant_a):
    response = api(
        "post",
        "/api/v1/api-keys/",
        key=tenant_a.finance_key,
        data={"name": "x", "user_id": str(tenant_a.legal.public_id)},
    )

    assert response.status_code == 403


def test_deactivating_a_user_revokes_their_keys(api, tenant_a):
    response = api("delete", f"/api/v1/users/{tenant_a.legal.public_id}/", key=tenant_a.admin_key)

    refused = api("get", "/api/v1/me/", key=tenant_a.legal_key)
    assert response.status_code == 204
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "api_key_revoked"


def test_a_tenant_key_used_on_another_tenants_host_is_refused(api, tenant_a, tenant_b):
    response = api("get", "/api/v1/me/", key=tenant_a.finance_key, host=tenant_b.host)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tenant_mismatch"


def test_using_a_key_records_when_it_was_last_used(api, tenant_a):
    api("get", "/api/v1/me/", key=tenant_a.finance_key)

    with schema_context("tenant_a"):
        assert ApiKey.objects.get(prefix=tenant_a.finance_key.split("_")[1]).last_used_at is not None


def test_an_expired_key_is_refused(api, tenant_a):
    soon = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    issued = api("post", "/api/v1/api-keys/", key=tenant_a.finance_key, data={"name": "1h", "expires_at": soon}).json()
    assert issued["expires_at"] and api("get", "/api/v1/me/", key=issued["key"]).status_code == 200
    with schema_context("tenant_a"):
        ApiKey.objects.filter(public_id=issued["id"]).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    response = api("get", "/api/v1/me/", key=issued["key"])

    assert response.status_code == 401 and response.json()["error"]["code"] == "api_key_expired"
    past = (timezone.now() - datetime.timedelta(hours=1)).isoformat()
    refused = api("post", "/api/v1/api-keys/", key=tenant_a.finance_key, data={"name": "old", "expires_at": past})
    assert refused.status_code == 400


def test_a_key_made_with_a_key_never_outlives_it_and_is_revoked_with_it(api, tenant_a):
    in_a_day = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    parent = api(
        "post", "/api/v1/api-keys/", key=tenant_a.finance_key, data={"name": "ci", "expires_at": in_a_day}
    ).json()
    in_a_year = (timezone.now() + datetime.timedelta(days=365)).isoformat()
    child = api("post", "/api/v1/api-keys/", key=parent["key"], data={"name": "job", "expires_at": in_a_year}).json()
    grandchild = api("post", "/api/v1/api-keys/", key=child["key"], data={"name": "step"}).json()

    assert child["created_by_key"] == parent["id"] and child["expires_at"] == parent["expires_at"]
    assert grandchild["expires_at"] == parent["expires_at"]
    assert api("delete", f"/api/v1/api-keys/{parent['id']}/", key=tenant_a.finance_key).status_code == 204
    for key in (parent, child, grandchild):
        response = api("get", "/api/v1/me/", key=key["key"])
        assert response.status_code == 401 and response.json()["error"]["code"] == "api_key_revoked"
    own = api("get", "/api/v1/me/", key=tenant_a.finance_key)
    assert own.status_code == 200  # the session's own key was not made with the revoked one


def new_key(api, key, **data) -> dict:
    response = api("post", "/api/v1/api-keys/", key=key, data={"name": "scoped", **data})
    assert response.status_code == 201, response.content
    return response.json()


def test_a_read_only_key_reads_but_cannot_ask_upload_or_administer(api, tenant_a):
    reader = new_key(api, tenant_a.admin_key, scopes=["read"])["key"]

    assert api("get", "/api/v1/conversations/", key=reader).status_code == 200
    assert api("get", "/api/v1/documents/", key=reader).status_code == 200
    asked = api("post", "/api/v1/conversations/", key=reader, data={"title": "x"})
    assert asked.status_code == 403 and "'chat' scope" in asked.json()["error"]["message"]
    assert api("post", "/v1/chat/completions", key=reader, data={"messages": []}).status_code == 403
    assert api("patch", f"/api/v1/documents/{uuid.uuid4()}/", key=reader, data={"title": "x"}).status_code == 403
    assert api("get", "/api/v1/audit-events/", key=reader).status_code == 403


def test_a_member_gets_no_admin_scope_and_a_key_cannot_widen_itself(api, tenant_a):
    assert new_key(api, tenant_a.finance_key)["scopes"] == ["read", "chat", "upload"]
    assert (
        api("post", "/api/v1/api-keys/", key=tenant_a.finance_key, data={"name": "x", "scopes": ["admin"]}).status_code
        == 403
    )
    chat_only = new_key(api, tenant_a.admin_key, scopes=["read", "chat"])["key"]

    widened = api("post", "/api/v1/api-keys/", key=chat_only, data={"name": "x", "scopes": ["upload"]})
    narrower = new_key(api, chat_only, scopes=["read"])
    default = new_key(api, chat_only)

    assert widened.status_code == 403 and widened.json()["error"]["code"] == "scope_not_held"
    assert narrower["scopes"] == ["read"] and default["scopes"] == ["read", "chat"]


def test_an_admin_key_without_the_admin_scope_cannot_administer(api, tenant_a):
    member_like = new_key(api, tenant_a.admin_key, scopes=["read", "chat", "upload"])["key"]

    assert api("get", "/api/v1/users/", key=member_like).status_code == 403
    assert api("post", "/api/v1/groups/", key=member_like, data={"name": "new"}).status_code == 403
    assert api("get", "/api/v1/groups/", key=member_like).status_code == 200
    assert api("get", "/api/v1/users/", key=tenant_a.admin_key).status_code == 200


def test_the_service_refuses_a_wider_key_with_its_own_error_and_stores_nothing(tenant_a):
    with schema_context("tenant_a"):
        maker, _raw = services.api_key_create(
            user=tenant_a.finance, name="maker", actor=tenant_a.finance, scopes=["read"]
        )
        before = ApiKey.objects.count()
        with pytest.raises(services.ScopeNotHeld):
            services.api_key_create(
                user=tenant_a.finance, name="wider", actor=tenant_a.finance, created_by_key=maker, scopes=["chat"]
            )
        assert ApiKey.objects.count() == before


def test_a_narrow_key_cannot_revoke_a_wider_key_of_its_owner_but_can_revoke_itself(api, tenant_a):
    full_id = str(_own_key_id(tenant_a))
    reader = new_key(api, tenant_a.finance_key, scopes=["read"])
    other_reader = new_key(api, tenant_a.finance_key, scopes=["read"])

    refused = api("delete", f"/api/v1/api-keys/{full_id}/", key=reader["key"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "scope_not_held"
    assert api("get", "/api/v1/me/", key=tenant_a.finance_key).status_code == 200
    assert api("delete", f"/api/v1/api-keys/{other_reader['id']}/", key=reader["key"]).status_code == 204
    assert api("delete", f"/api/v1/api-keys/{reader['id']}/", key=reader["key"]).status_code == 204
    assert api("get", "/api/v1/me/", key=reader["key"]).status_code == 401


def _own_key_id(world):
    with schema_context(world.tenant.schema_name):
        return ApiKey.objects.get(prefix=world.finance_key.split("_")[1]).public_id


def test_an_admin_key_without_the_admin_scope_sees_and_revokes_only_its_owners_keys(api, tenant_a):
    member_like = new_key(api, tenant_a.admin_key, scopes=["read", "chat", "upload"])["key"]
    fays = new_key(api, tenant_a.finance_key)

    listed = api("get", "/api/v1/api-keys/?all=1", key=member_like).json()["results"]
    shown = api("get", f"/api/v1/api-keys/{fays['id']}/", key=member_like)
    revoked = api("delete", f"/api/v1/api-keys/{fays['id']}/", key=member_like)

    assert {key["owner"] for key in listed} == {str(tenant_a.admin.public_id)}
    assert shown.status_code == 404 and revoked.status_code == 404
    assert api("get", "/api/v1/me/", key=fays["key"]).status_code == 200
    everyone = api("get", "/api/v1/api-keys/?all=1", key=tenant_a.admin_key).json()["results"]
    assert fays["id"] in {key["id"] for key in everyone}
