import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from tenants import crypto, services
from tenants.accounts.models import AuditEvent, User
from tenants.accounts.services import api_key_create
from tenants.models import ApiKeyRoute, Domain, Tenant, TenantKey
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_creating_a_tenant_makes_its_schema_domain_data_key_admin_and_audit_entries():
    created = services.tenant_create(
        name="Globex", schema_name="globex", admin_username="root", admin_password=PASSWORD
    )

    assert schema_exists("globex")
    assert Domain.objects.get(tenant=created.tenant).domain == "globex.localhost"
    assert TenantKey.objects.filter(tenant=created.tenant, version=1).count() == 1
    with schema_context("globex"):
        assert User.objects.get(username="root").role == User.Role.ADMIN
        assert AuditEvent.objects.filter(action="tenant.created").exists()
    assert AuditEvent.objects.filter(action="tenant.created", target_id="globex").exists()
    assert connection.schema_name == "public"


def test_a_generated_admin_password_is_returned_once_and_works():
    created = services.tenant_create(name="Initech", schema_name="initech", admin_username="root")

    assert created.admin_password
    with schema_context("initech"):
        assert User.objects.get(username="root").check_password(created.admin_password)


@pytest.mark.parametrize(
    ("schema_name", "message"),
    [
        ("Upper", "invalid schema name"),
        ("1starts_with_digit", "invalid schema name"),
        ("has-dash", "invalid schema name"),
        ("x", "invalid schema name"),
        ("a" * 41, "invalid schema name"),
        ("public", "reserved"),
        ("pg_temp_x", "reserved"),
        ("information_schema", "reserved"),
        ('evil"; drop schema public; --', "invalid schema name"),
    ],
)
def test_an_invalid_schema_name_is_refused_and_nothing_is_created(schema_name, message):
    tenants_before = Tenant.objects.count()

    with pytest.raises(services.TenantError, match=message):
        services.tenant_create(name="Bad", schema_name=schema_name, admin_username="root", admin_password=PASSWORD)

    assert Tenant.objects.count() == tenants_before


def test_a_colliding_name_or_schema_is_refused_and_nothing_is_created(tenant_a):
    with pytest.raises(services.TenantError, match="already exists"):
        services.tenant_create(name="tenant a", schema_name="fresh_one", admin_username="root", admin_password=PASSWORD)
    with pytest.raises(services.TenantError, match="already in use"):
        services.tenant_create(name="Fresh", schema_name="tenant_a", admin_username="root", admin_password=PASSWORD)

    assert not schema_exists("fresh_one")
    assert not Tenant.objects.filter(name="Fresh").exists()


def test_a_failure_after_the_schema_was_made_rolls_everything_back():
    # A common password fails validation only after the schema and its migrations exist.
    with pytest.raises(services.TenantError, match="too common"):
        services.tenant_create(name="Halfway", schema_name="halfway", admin_username="root", admin_password="password")

    assert not schema_exists("halfway")
    assert not Tenant.objects.filter(schema_name="halfway").exists()
    assert not Domain.objects.filter(domain="halfway.localhost").exists()
    assert connection.schema_name == "public"


def test_suspending_a_tenant_refuses_its_api_and_pages_and_audits_the_attempt(api, tenant_a):
    services.tenant_suspend(tenant=tenant_a.tenant, reason="unpaid")

    response = api("get", "/api/v1/me/", key=tenant_a.finance_key)
    page = api("get", "/login/", host=tenant_a.host)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tenant_suspended"
    assert page.status_code == 403
    with schema_context("tenant_a"):
        assert AuditEvent.objects.filter(action="access.denied", detail__reason="tenant_suspended").count() == 2


def test_resuming_a_tenant_restores_access(api, tenant_a):
    services.tenant_suspend(tenant=tenant_a.tenant)
    services.tenant_resume(tenant=tenant_a.tenant)

    assert api("get", "/api/v1/me/", key=tenant_a.finance_key).status_code == 200


def test_suspending_twice_is_a_clear_error(tenant_a):
    services.tenant_suspend(tenant=tenant_a.tenant)

    with pytest.raises(services.TenantError, match="already suspended"):
        services.tenant_suspend(tenant=tenant_a.tenant)


def test_deleting_a_tenant_drops_schema_files_keys_and_routes_and_returns_a_receipt(
    api, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.ENCLAVE_FILE_STORE = str(tmp_path)
    created = services.tenant_create(
        name="Doomed", schema_name="doomed", admin_username="root", admin_password=PASSWORD
    )
    tenant = created.tenant
    tenant_id = tenant.pk
    with schema_context("doomed"):
        _key, raw_key = api_key_create(user=created.admin, name="k", actor=created.admin)
    blob = crypto.encrypt_text(tenant=tenant, object_id="doc-1", text="secret")
    store = services.tenant_file_store(tenant)
    store.mkdir(parents=True)
    (store / "original.bin").write_bytes(blob)

    with django_capture_on_commit_callbacks(execute=True):
        receipt = services.tenant_delete(tenant=tenant)

    assert receipt["tenant"] == "doomed"
    assert receipt["removed"] == receipt["removed"] | {"users": 1, "api_keys": 1, "data_keys": 1, "files": 1}
    assert not schema_exists("doomed")
    assert not store.exists()
    assert not TenantKey.objects.filter(tenant_id=tenant_id).exists()
    assert not ApiKeyRoute.objects.filter(tenant_id=tenant_id).exists()
    tenant.pk = tenant_id
    with pytest.raises(crypto.DecryptionError, match="does not exist"):
        crypto.decrypt_text(tenant=tenant, object_id="doc-1", blob=blob)
    assert api("get", "/api/v1/me/", key=raw_key).status_code == 401
    assert AuditEvent.objects.filter(action="tenant.deleted", target_id="doomed").exists()


def test_the_management_command_runs_the_whole_lifecycle(capsys):
    call_command("tenant", "create", "--name", "Umbrella", "--schema", "umbrella", "--admin", "root")
    call_command("tenant", "suspend", "umbrella", "--reason", "audit")
    assert Tenant.objects.get(schema_name="umbrella").status == Tenant.Status.SUSPENDED
    call_command("tenant", "resume", "umbrella")
    call_command("tenant", "list")
    with pytest.raises(CommandError, match="--yes"):
        call_command("tenant", "delete", "umbrella")
    call_command("tenant", "delete", "umbrella", "--yes")

    output = capsys.readouterr().out
    assert "umbrella.localhost" in output
    assert "umbrella\tactive\tUmbrella" in output
    assert '"schema_dropped": true' in output
    assert not Tenant.objects.filter(schema_name="umbrella").exists()


def test_the_management_command_reports_bad_input_clearly():
    with pytest.raises(CommandError, match="invalid schema name"):
        call_command("tenant", "create", "--name", "X", "--schema", "Bad Name", "--admin", "root")
    with pytest.raises(CommandError, match="no tenant with schema"):
        call_command("tenant", "suspend", "missing")
