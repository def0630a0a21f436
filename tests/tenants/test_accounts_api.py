import pytest
from django_tenants.utils import schema_context

from tenants.accounts.models import AuditEvent, User

pytestmark = pytest.mark.django_db


def test_me_shows_the_caller_their_tenant_and_principals(api, tenant_a):
    body = api("get", "/api/v1/me/", key=tenant_a.finance_key).json()

    assert body["username"] == "fay"
    assert body["tenant"]["schema"] == "tenant_a"
    assert set(body["principals"]) == {
        "tenant:everyone",
        f"user:{tenant_a.finance.public_id}",
        f"group:{tenant_a.finance_group.public_id}",
    }


def test_an_admin_creates_a_user_and_gets_a_one_time_password(api, tenant_a):
    response = api("post", "/api/v1/users/", key=tenant_a.admin_key, data={"username": "nina", "role": "member"})

    assert response.status_code == 201
    with schema_context("tenant_a"):
        assert User.objects.get(username="nina").check_password(response.json()["password"])
        assert AuditEvent.objects.filter(action="user.created", detail__username="nina").exists()


def test_a_duplicate_user_name_is_a_conflict(api, tenant_a):
    response = api("post", "/api/v1/users/", key=tenant_a.admin_key, data={"username": "FAY"})

    assert response.status_code == 409
    assert "already exists" in response.json()["error"]["message"]


def test_a_member_cannot_manage_users(api, tenant_a):
    assert api("get", "/api/v1/users/", key=tenant_a.finance_key).status_code == 403
    assert api("post", "/api/v1/users/", key=tenant_a.finance_key, data={"username": "z"}).status_code == 403


def test_an_admin_changes_a_role_and_cannot_demote_themselves(api, tenant_a):
    promoted = api(
        "patch", f"/api/v1/users/{tenant_a.finance.public_id}/", key=tenant_a.admin_key, data={"role": "admin"}
    )
    self_demotion = api(
        "patch", f"/api/v1/users/{tenant_a.admin.public_id}/", key=tenant_a.admin_key, data={"role": "member"}
    )

    assert promoted.json()["role"] == "admin"
    assert self_demotion.status_code == 409


def test_invalid_input_gets_a_json_error_with_field_details(api, tenant_a):
    response = api("post", "/api/v1/users/", key=tenant_a.admin_key, data={"role": "emperor"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert set(response.json()["error"]["detail"]) == {"username", "role"}


def test_groups_are_listed_to_members_but_managed_by_admins(api, tenant_a):
    listed = api("get", "/api/v1/groups/", key=tenant_a.finance_key)
    refused = api("post", "/api/v1/groups/", key=tenant_a.finance_key, data={"name": "rogue"})
    created = api("post", "/api/v1/groups/", key=tenant_a.admin_key, data={"name": "board"})

    assert {group["name"] for group in listed.json()["results"]} == {"finance", "legal"}
    assert refused.status_code == 403
    assert created.status_code == 201


def test_group_membership_changes_the_users_principals_and_is_audited(api, tenant_a):
    group = f"/api/v1/groups/{tenant_a.legal_group.public_id}"

    added = api("post", f"{group}/members/", key=tenant_a.admin_key, data={"user_id": str(tenant_a.finance.public_id)})
    principals = api("get", "/api/v1/me/", key=tenant_a.finance_key).json()["principals"]
    removed = api("delete", f"{group}/members/{tenant_a.finance.public_id}/", key=tenant_a.admin_key)
    principals_after = api("get", "/api/v1/me/", key=tenant_a.finance_key).json()["principals"]

    assert added.status_code == removed.status_code == 204
    assert f"group:{tenant_a.legal_group.public_id}" in principals
    assert f"group:{tenant_a.legal_group.public_id}" not in principals_after
    with schema_context("tenant_a"):
        assert AuditEvent.objects.filter(action__in=["group.member_added", "group.member_removed"]).count() >= 2


def test_renaming_a_group_keeps_its_principal(api, tenant_a):
    url = f"/api/v1/groups/{tenant_a.finance_group.public_id}/"

    renamed = api("patch", url, key=tenant_a.admin_key, data={"name": "treasury"})

    assert renamed.json()["name"] == "treasury"
    assert renamed.json()["id"] == str(tenant_a.finance_group.public_id)


def test_the_audit_log_is_readable_by_admins_only_and_filterable(api, tenant_a):
    api("post", "/api/v1/api-keys/", key=tenant_a.finance_key, data={"name": "audited"})

    events = api("get", "/api/v1/audit-events/?action=api_key.created", key=tenant_a.admin_key).json()
    refused = api("get", "/api/v1/audit-events/", key=tenant_a.finance_key)
    bad_filter = api("get", "/api/v1/audit-events/?actor_id=not-a-uuid", key=tenant_a.admin_key)

    assert any(event["detail"].get("name") == "audited" for event in events["results"])
    assert {event["action"] for event in events["results"]} == {"api_key.created"}
    assert refused.status_code == 403
    assert bad_filter.status_code == 400


def test_the_audit_log_pages_with_a_cursor(api, tenant_a):
    first = api("get", "/api/v1/audit-events/?page_size=2", key=tenant_a.admin_key).json()
    second = api("get", first["next"].replace("http://localhost", ""), key=tenant_a.admin_key).json()

    assert len(first["results"]) == 2
    assert {e["id"] for e in first["results"]}.isdisjoint({e["id"] for e in second["results"]})


def test_a_user_name_with_control_characters_is_refused_with_a_400(api, tenant_a):
    # Found by the schema fuzzing (tests/config/test_api_fuzz.py): the model's validation gave a 500.
    response = api("post", "/api/v1/users/", key=tenant_a.admin_key, host=tenant_a.host, data={"username": "fü]\x0bz"})
    assert response.status_code == 400
    assert "username" in response.json()["error"]["detail"]
