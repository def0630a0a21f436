"""Deleting a tenant destroys its secret, so its data keys stay useless even when a database backup
taken before the deletion is restored while the KEK still exists."""

import json
import os
import shutil

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.management import call_command
from django.db import transaction

from tenants import crypto, keyring, services, tenant_secrets
from tenants.models import Tenant, TenantKey, TenantSecret
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_dir(settings, tmp_path, monkeypatch):
    """Private copies of the key file and the tenant secrets, for tests that prune them."""
    monkeypatch.delenv("ENCLAVE_KEK", raising=False)
    shared = tenant_secrets.secrets_file_path()
    path = tmp_path / "secrets" / "kek.json"
    path.parent.mkdir()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"current": keyring._encode(keyring.load().current), "retired": []}, handle)
    if shared.exists():
        shutil.copy2(shared, path.parent / shared.name)
    settings.ENCLAVE_KEK_FILE = str(path)
    return path.parent


def _scratch_tenant(schema_name: str) -> Tenant:
    return services.tenant_create(
        name=schema_name.title(), schema_name=schema_name, admin_username="root", admin_password=PASSWORD
    ).tenant


def _backup_of_key(tenant: Tenant) -> dict:
    """The TenantKey row as a database dump holds it."""
    row = TenantKey.objects.get(tenant=tenant, version=1)
    return {
        "tenant_id": row.tenant_id,
        "version": row.version,
        "wrapped_key": bytes(row.wrapped_key),
        "kek_id": row.kek_id,
        "wrapping": row.wrapping,
    }


def _wrap_like_before_tenant_secrets(tenant_key: TenantKey, data_key: bytes) -> None:
    """Store the key as installations made before tenant secrets did: AES-GCM under the KEK itself."""
    ring = keyring.load()
    nonce = os.urandom(12)
    aad = f"enclave:data-key:{tenant_key.tenant_id}:{tenant_key.version}".encode()
    tenant_key.wrapped_key = nonce + AESGCM(ring.current).encrypt(nonce, data_key, aad)
    tenant_key.kek_id = ring.current_id
    tenant_key.wrapping = "kek"
    tenant_key.save()


def test_a_restored_backup_of_a_deleted_tenants_key_no_longer_decrypts(django_capture_on_commit_callbacks):
    tenant = _scratch_tenant("shredded")
    restore = {"pk": tenant.pk, "name": tenant.name, "schema_name": tenant.schema_name}
    blob = crypto.encrypt_text(tenant=tenant, object_id="doc-1", text="board minutes")
    backup = _backup_of_key(tenant)
    assert backup["wrapping"] == "tenant-secret"
    assert crypto.decrypt_text(tenant=tenant, object_id="doc-1", blob=blob) == "board minutes"
    assert len(crypto.unwrap_data_key(ring=keyring.load(), tenant_key=TenantKey(**backup))) == 32

    with django_capture_on_commit_callbacks(execute=True):
        receipt = services.tenant_delete(tenant=tenant)
    restored = Tenant.objects.create(**restore)
    TenantKey.objects.create(**backup)

    assert receipt["tenant_secret_destroyed"] is True
    assert "warning" not in receipt
    assert keyring.load().by_id(backup["kek_id"])  # the KEK of the backup still exists
    with pytest.raises(keyring.KeyringError, match="destroyed"):
        crypto.decrypt_text(tenant=restored, object_id="doc-1", blob=blob)
    with pytest.raises(keyring.KeyringError, match="destroyed"):
        tenant_secrets.secret_get(restore["pk"])


def test_a_rolled_back_deletion_keeps_the_secret_and_the_data_readable(django_capture_on_commit_callbacks):
    tenant = _scratch_tenant("reprieved")
    blob = crypto.encrypt_text(tenant=tenant, object_id="doc-1", text="still here")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        services.tenant_delete(tenant=tenant)
        raise RuntimeError("the deletion fails after dropping the schema")
    tenant = Tenant.objects.get(schema_name="reprieved")

    assert crypto.decrypt_text(tenant=tenant, object_id="doc-1", blob=blob) == "still here"


def test_legacy_kek_wrapped_keys_still_decrypt_and_rewrapping_converts_them():
    tenant = _scratch_tenant("legacy_co")
    blob = crypto.encrypt_text(tenant=tenant, object_id="doc-1", text="from before")
    tenant_key = TenantKey.objects.get(tenant=tenant, version=1)
    _wrap_like_before_tenant_secrets(tenant_key, crypto.unwrap_data_key(ring=keyring.load(), tenant_key=tenant_key))
    tenant_secrets.secret_destroy(tenant.pk)  # such tenants had no secret either

    assert crypto.decrypt_text(tenant=tenant, object_id="doc-1", blob=blob) == "from before"

    rewrapped = crypto.data_keys_rewrap()
    tenant_key.refresh_from_db()
    wrapped = bytes(tenant_key.wrapped_key)

    assert rewrapped >= 1
    assert tenant_key.wrapping == "tenant-secret"
    assert len(tenant_secrets.secret_get(tenant.pk)) == 32
    assert crypto.decrypt_text(tenant=tenant, object_id="doc-1", blob=blob) == "from before"
    with pytest.raises(InvalidTag):  # the KEK alone no longer opens the key
        AESGCM(keyring.load().current).decrypt(wrapped[:12], wrapped[12:], f"enclave:data-key:{tenant.pk}:1".encode())
    assert crypto.data_keys_rewrap() == 0


def test_deleting_a_tenant_with_legacy_keys_warns_that_backups_stay_readable(django_capture_on_commit_callbacks):
    tenant = _scratch_tenant("legacy_gone")
    tenant_key = TenantKey.objects.get(tenant=tenant, version=1)
    _wrap_like_before_tenant_secrets(tenant_key, crypto.unwrap_data_key(ring=keyring.load(), tenant_key=tenant_key))

    with django_capture_on_commit_callbacks(execute=True):
        receipt = services.tenant_delete(tenant=tenant)

    assert "--new-kek --prune" in receipt["warning"]


def test_the_secret_store_lives_next_to_the_key_file_even_with_an_environment_kek(settings, tmp_path, monkeypatch):
    settings.ENCLAVE_TENANT_SECRETS = "file"
    monkeypatch.setenv("ENCLAVE_KEK", keyring._encode(os.urandom(32)))
    settings.ENCLAVE_KEK_FILE = str(tmp_path / "keys" / "kek.json")

    secret = tenant_secrets.secret_create(7)

    path = tmp_path / "keys" / "tenant-secrets.json"
    assert json.loads(path.read_text()) == {"7": keyring._encode(secret)}
    assert path.stat().st_mode & 0o777 == 0o600
    assert tenant_secrets.secret_get(7) == secret


def test_a_secrets_file_readable_by_others_is_refused(settings, tmp_path):
    settings.ENCLAVE_TENANT_SECRETS = "file"
    settings.ENCLAVE_KEK_FILE = str(tmp_path / "keys" / "kek.json")
    secret = tenant_secrets.secret_create(7)
    assert tenant_secrets.secret_get(7) == secret

    (tmp_path / "keys" / "tenant-secrets.json").chmod(0o644)

    with pytest.raises(keyring.KeyringError, match="chmod 600"):
        tenant_secrets.secret_get(7)
    with pytest.raises(keyring.KeyringError, match="chmod 600"):
        tenant_secrets.secret_create(8)


@pytest.mark.parametrize("store", ["database", "file"])
def test_pruning_forgets_only_the_secrets_of_missing_tenants(settings, tmp_path, monkeypatch, store):
    settings.ENCLAVE_TENANT_SECRETS = store
    monkeypatch.setenv("ENCLAVE_KEK", keyring._encode(os.urandom(32)))
    settings.ENCLAVE_KEK_FILE = str(tmp_path / "keys" / "kek.json")
    TenantSecret.objects.all().delete()  # inside the test's transaction: the session's tenants come back
    kept = {tenant_id: tenant_secrets.secret_create(tenant_id) for tenant_id in ("1", "3")}
    tenant_secrets.secret_create("2")

    assert tenant_secrets.secrets_prune({"1", "3", "4"}) == 1

    assert {tenant_id: tenant_secrets.secret_get(tenant_id) for tenant_id in ("1", "3")} == kept
    with pytest.raises(keyring.KeyringError, match="destroyed"):
        tenant_secrets.secret_get("2")
    assert tenant_secrets.secrets_prune({"1", "3"}) == 0


def test_keys_rotate_prune_drops_secrets_of_deleted_tenants_and_keeps_live_ones(tenant_a, tenant_b, key_dir, capsys):
    blob = crypto.encrypt_text(tenant=tenant_a.tenant, object_id="o", text="kept")
    live = {t.pk: tenant_secrets.secret_get(t.pk) for t in (tenant_a.tenant, tenant_b.tenant)}
    gone_id = Tenant.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    tenant_secrets.secret_create(gone_id)

    call_command("keys_rotate", "--prune")

    with pytest.raises(keyring.KeyringError, match="destroyed"):
        tenant_secrets.secret_get(gone_id)
    assert {pk: tenant_secrets.secret_get(pk) for pk in live} == live
    assert crypto.decrypt_text(tenant=tenant_a.tenant, object_id="o", blob=blob) == "kept"
    assert "secret(s) of deleted tenants" in capsys.readouterr().out


def test_a_database_stored_secret_is_wrapped_by_the_kek_and_found_from_another_host(settings, tmp_path):
    tenant = _scratch_tenant("roaming")
    blob = crypto.encrypt_text(tenant=tenant, object_id="doc-1", text="seen from every host")
    row = TenantSecret.objects.get(tenant_id=tenant.pk)
    assert tenant_secrets.secret_get(tenant.pk) not in bytes(row.wrapped)

    other_host = tmp_path / "other-host" / "kek.json"  # the same KEK, none of this host's files
    other_host.parent.mkdir()
    fd = os.open(other_host, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"current": keyring._encode(keyring.load().current), "retired": []}, handle)
    settings.ENCLAVE_KEK_FILE = str(other_host)

    assert not (other_host.parent / tenant_secrets.FILE_NAME).exists()
    assert crypto.decrypt_text(tenant=tenant, object_id="doc-1", blob=blob) == "seen from every host"


def test_a_backup_holding_the_wrapped_secret_reads_until_the_kek_is_rotated_and_pruned(
    key_dir, django_capture_on_commit_callbacks
):
    """What remains with secrets in the database: a backup of the key and secret rows, restored after
    the deletion, opens with the old KEK; once the KEK is rotated and the old one pruned, it does not."""
    tenant = _scratch_tenant("restorable")
    blob = crypto.encrypt_text(tenant=tenant, object_id="doc-1", text="in the backup")
    key_backup = _backup_of_key(tenant)
    secret_row = TenantSecret.objects.get(tenant_id=tenant.pk)
    secret_backup = {"tenant_id": tenant.pk, "wrapped": bytes(secret_row.wrapped), "kek_id": secret_row.kek_id}
    restore = {"pk": tenant.pk, "name": tenant.name, "schema_name": "restorable"}

    with django_capture_on_commit_callbacks(execute=True):
        receipt = services.tenant_delete(tenant=tenant)
    assert "keys_rotate --new-kek --prune" in receipt["backups"]

    def restored() -> Tenant:
        tenant = Tenant.objects.create(**restore)
        TenantKey.objects.create(**key_backup)
        TenantSecret.objects.create(**secret_backup)
        return tenant

    def gone_again() -> None:  # the live database, which the backup was restored beside
        Tenant.objects.filter(pk=restore["pk"]).delete()
        TenantSecret.objects.filter(tenant_id=restore["pk"]).delete()

    assert crypto.decrypt_text(tenant=restored(), object_id="doc-1", blob=blob) == "in the backup"
    gone_again()
    call_command("keys_rotate", "--new-kek", "--prune", stdout=open(os.devnull, "w"))  # noqa: SIM115
    with pytest.raises(keyring.KeyringError, match="not in the keyring"):
        crypto.decrypt_text(tenant=restored(), object_id="doc-1", blob=blob)
