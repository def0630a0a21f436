import io

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_exists

from tenants.accounts.models import AuditEvent, User
from tenants.accounts.services import api_key_create
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_an_operator_creates_a_tenant_and_gets_its_admin_password_once(api, operator):
    response = api(
        "post",
        "/api/v1/operator/tenants/",
        key=operator.key,
        data={"name": "Stark", "schema_name": "stark", "admin_username": "tony"},
    )

    body = response.json()
    assert response.status_code == 201
    assert body["domains"] == ["stark.localhost"]
    assert body["admin"]["password"]
    assert schema_exists("stark")
    assert "password" not in str(api("get", f"/api/v1/operator/tenants/{body['id']}/", key=operator.key).json())


def test_creating_a_colliding_tenant_is_a_conflict_with_a_clear_message(api, operator, tenant_a):
    response = api(
        "post",
        "/api/v1/operator/tenants/",
        key=operator.key,
        data={"name": "Other", "schema_name": "tenant_a", "admin_username": "x"},
    )

    assert response.status_code == 409
    assert "already in use" in response.json()["error"]["message"]


def test_an_operator_suspends_resumes_and_deletes_a_tenant(api, operator, tenant_a):
    base = f"/api/v1/operator/tenants/{tenant_a.tenant.pk}"

    suspended = api("post", f"{base}/suspend/", key=operator.key, data={"reason": "billing"})
    resumed = api("post", f"{base}/resume/", key=operator.key)
    deleted = api("delete", f"{base}/", key=operator.key)

    assert suspended.json()["status"] == "suspended"
    assert resumed.json()["status"] == "active"
    assert deleted.json()["receipt"]["tenant"] == "tenant_a"
    assert not Tenant.objects.filter(schema_name="tenant_a").exists()
    assert set(AuditEvent.objects.filter(target_id="tenant_a").values_list("action", flat=True)) >= {
        "tenant.suspended",
        "tenant.resumed",
        "tenant.deleted",
    }


def test_an_unknown_tenant_id_is_404(api, operator):
    assert api("get", "/api/v1/operator/tenants/999999/", key=operator.key).status_code == 404


def test_the_operator_list_shows_tenants_without_their_content(api, operator, tenant_a, tenant_b):
    body = api("get", "/api/v1/operator/tenants/", key=operator.key).json()

    schemas = {tenant["schema_name"] for tenant in body["results"]}
    assert {"tenant_a", "tenant_b"} <= schemas
    assert "fay" not in str(body)


def test_an_operator_key_cannot_reach_a_tenant_api(api, operator, tenant_a):
    on_tenant_host = api("get", "/api/v1/me/", key=operator.key, host=tenant_a.host)
    on_public_host = api("get", "/api/v1/me/", key=operator.key)

    assert on_tenant_host.status_code == 403
    assert on_public_host.status_code == 404


def test_a_usage_refresh_is_queued_for_the_tenant(api, operator, tenant_a, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "tenants.apis.tenant_task_enqueue",
        lambda task, *, tenant: sent.append((task.name, tenant)) or type("R", (), {"id": "queued"})(),
    )

    response = api("post", f"/api/v1/operator/tenants/{tenant_a.tenant.pk}/usage/", key=operator.key)

    assert response.status_code == 202
    assert sent == [("tenants.tenant_usage_compute", tenant_a.tenant)]


def test_an_operator_sets_and_clears_a_tenants_limits_and_it_is_audited(api, operator, tenant_a):
    path = f"/api/v1/operator/tenants/{tenant_a.tenant.pk}/limits/"
    limits = {"storage_quota_bytes": 5_000_000, "llm_requests_per_minute": 30, "llm_tokens_per_day": 200_000}

    set_ = api("put", path, key=operator.key, data=limits)
    cleared = api("put", path, key=operator.key, data={name: None for name in limits})
    refused = api("put", path, key=operator.key, data={**limits, "llm_tokens_per_day": 0})

    assert {name: set_.json()[name] for name in limits} == limits
    assert all(cleared.json()[name] is None for name in limits)
    assert refused.status_code == 400
    tenant = Tenant.objects.get(pk=tenant_a.tenant.pk)
    assert (tenant.storage_quota_bytes, tenant.llm_tokens_per_day) == (None, None)
    changes = AuditEvent.objects.filter(action="tenant.limits_changed", target_id="tenant_a").order_by("id")
    assert [event.detail["to"]["llm_tokens_per_day"] for event in changes] == [200_000, None]


def test_an_operator_adds_an_operator_whose_deactivation_revokes_their_keys(api, operator):
    created = api("post", "/api/v1/operator/operators/", key=operator.key, data={"username": "second"})
    second = User.objects.get(username="second")
    _, key = api_key_create(user=second, name="scrape", actor=second)

    listed = api("get", "/api/v1/operator/operators/", key=key).json()["results"]
    deactivated = api(
        "patch", f"/api/v1/operator/operators/{second.public_id}/", key=operator.key, data={"is_active": False}
    )
    refused = api("get", "/api/v1/operator/operators/", key=key)
    self_deactivation = api(
        "patch", f"/api/v1/operator/operators/{operator.user.public_id}/", key=operator.key, data={"is_active": False}
    )

    assert created.status_code == 201 and second.check_password(created.json()["password"])
    assert second.role == User.Role.OPERATOR
    assert {row["username"] for row in listed} >= {"ops", "second"} and "password" not in str(listed)
    assert deactivated.json()["is_active"] is False
    assert refused.status_code == 401
    assert self_deactivation.status_code == 409
    assert AuditEvent.objects.filter(action="user.created", target_id=str(second.public_id)).exists()


def test_a_tenant_user_is_not_an_operator_the_operator_api_can_find(api, operator, tenant_a):
    response = api(
        "patch", f"/api/v1/operator/operators/{tenant_a.admin.public_id}/", key=operator.key, data={"is_active": False}
    )

    assert response.status_code == 404


def test_an_operator_key_holds_the_operator_scopes_by_default(operator):
    api_key, _raw = api_key_create(user=operator.user, name="automation", actor=operator.user)

    assert api_key.scopes == ["read", "admin", "metrics"]


def test_a_metrics_key_scrapes_and_can_do_nothing_else(api, operator, tenant_a):
    _, key = api_key_create(user=operator.user, name="prometheus", actor=operator.user, scopes=["metrics"])
    base = f"/api/v1/operator/tenants/{tenant_a.tenant.pk}"

    scraped = api("get", "/metrics", key=key)
    refused = [
        api("get", "/api/v1/operator/tenants/", key=key),
        api("post", "/api/v1/operator/training-export/", key=key),
        api("post", f"{base}/suspend/", key=key, data={"reason": "scraped"}),
        api("delete", f"{base}/", key=key),
        api("post", "/api/v1/operator/operators/", key=key, data={"username": "mallory"}),
    ]

    assert scraped.status_code == 200
    assert [response.status_code for response in refused] == [403] * len(refused)
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).status == "active"
    assert not User.objects.filter(username="mallory").exists()


def test_a_read_only_operator_key_lists_tenants_but_cannot_change_them_or_scrape(api, operator, tenant_a):
    _, key = api_key_create(user=operator.user, name="dashboard", actor=operator.user, scopes=["read"])

    listed = api("get", "/api/v1/operator/tenants/", key=key)
    suspended = api("post", f"/api/v1/operator/tenants/{tenant_a.tenant.pk}/suspend/", key=key)

    assert listed.status_code == 200
    assert suspended.status_code == 403 and "'admin' scope" in suspended.json()["error"]["message"]
    assert api("get", "/metrics", key=key).status_code == 403
    assert api("get", "/metrics", key=operator.key).status_code == 200


def test_the_operator_key_command_prints_a_key_with_the_scopes_asked_for(api, operator):
    out = io.StringIO()

    call_command("operator_key_create", "ops", "--name", "prometheus", "--scope", "metrics", stdout=out)

    key = out.getvalue().split()[-1]
    assert api("get", "/metrics", key=key).status_code == 200
    assert api("get", "/api/v1/operator/tenants/", key=key).status_code == 403
