import json
import os
import shutil

import pytest
from django.core.management import call_command

from tenants import crypto, keyring, tenant_secrets
from tenants.models import TenantKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_file(settings, tmp_path, monkeypatch):
    """A private key file for tests that rotate the KEK (the session's shared file stays untouched),
    with a copy of the tenant secrets, which live next to the key file."""
    monkeypatch.delenv("ENCLAVE_KEK", raising=False)
    path = tmp_path / "secrets" / "kek.json"
    original = keyring.load()
    tenant_secrets_file = tenant_secrets.secrets_file_path()
    path.parent.mkdir()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"current": keyring._encode(original.current), "retired": []}, handle)
    if tenant_secrets_file.exists():  # the file store; with the database store (default) there is none
        shutil.copy2(tenant_secrets_file, path.parent / tenant_secrets_file.name)
    settings.ENCLAVE_KEK_FILE = str(path)
    return path


def test_a_blob_decrypts_for_the_same_tenant_and_object(tenant_a):
    blob = crypto.encrypt_text(tenant=tenant_a.tenant, object_id="message:1", text="quarterly numbers")

    assert b"quarterly" not in blob
    assert crypto.decrypt_text(tenant=tenant_a.tenant, object_id="message:1", blob=blob) == "quarterly numbers"


def test_a_blob_moved_to_another_tenant_or_object_does_not_decrypt(tenant_a, tenant_b):
    blob = crypto.encrypt_text(tenant=tenant_a.tenant, object_id="message:1", text="secret")

    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_text(tenant=tenant_b.tenant, object_id="message:1", blob=blob)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_text(tenant=tenant_a.tenant, object_id="message:2", blob=blob)


def test_a_tampered_or_truncated_blob_is_refused(tenant_a):
    blob = bytearray(crypto.encrypt_text(tenant=tenant_a.tenant, object_id="o", text="secret"))
    blob[-1] ^= 1

    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(tenant=tenant_a.tenant, object_id="o", blob=bytes(blob))
    with pytest.raises(crypto.DecryptionError, match="truncated"):
        crypto.decrypt(tenant=tenant_a.tenant, object_id="o", blob=b"EV1")


def test_data_keys_are_stored_wrapped_not_in_the_clear(tenant_a):
    tenant_key = TenantKey.objects.get(tenant=tenant_a.tenant, version=1)
    data_key = crypto.unwrap_data_key(ring=keyring.load(), tenant_key=tenant_key)

    assert data_key not in bytes(tenant_key.wrapped_key)
    assert len(data_key) == 32


def test_a_wrapped_key_copied_to_another_tenant_does_not_unwrap(tenant_a, tenant_b):
    key_a = TenantKey.objects.get(tenant=tenant_a.tenant, version=1)
    key_b = TenantKey.objects.get(tenant=tenant_b.tenant, version=1)
    key_b.wrapped_key = key_a.wrapped_key

    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_data_key(ring=keyring.load(), tenant_key=key_b)


def test_rotating_the_kek_rewraps_every_data_key_and_old_data_still_decrypts(tenant_a, key_file, capsys):
    blob = crypto.encrypt_text(tenant=tenant_a.tenant, object_id="o", text="before rotation")
    old_id = keyring.load().current_id

    call_command("keys_rotate", "--new-kek", "--prune")

    ring = keyring.load()
    assert ring.current_id != old_id
    assert set(TenantKey.objects.values_list("kek_id", flat=True)) == {ring.current_id}
    assert ring.retired == ()
    assert crypto.decrypt_text(tenant=tenant_a.tenant, object_id="o", blob=blob) == "before rotation"
    assert "re-wrapped" in capsys.readouterr().out


def test_rotating_with_an_environment_kek_uses_the_previous_key_to_unwrap(tenant_a, monkeypatch):
    blob = crypto.encrypt_text(tenant=tenant_a.tenant, object_id="o", text="env rotation")
    old = keyring._encode(keyring.load().current)
    monkeypatch.setenv("ENCLAVE_KEK", keyring._encode(os.urandom(32)))
    monkeypatch.setenv("ENCLAVE_KEK_PREVIOUS", old)

    call_command("keys_rotate")

    monkeypatch.delenv("ENCLAVE_KEK_PREVIOUS")
    assert crypto.decrypt_text(tenant=tenant_a.tenant, object_id="o", blob=blob) == "env rotation"


def test_a_new_data_key_version_encrypts_new_data_and_old_data_still_decrypts(tenant_a):
    old_blob = crypto.encrypt_text(tenant=tenant_a.tenant, object_id="o", text="v1")

    call_command("keys_rotate", "--tenant", "tenant_a")
    new_blob = crypto.encrypt_text(tenant=tenant_a.tenant, object_id="o", text="v2")

    assert new_blob[3:7] == (2).to_bytes(4, "big")
    assert crypto.decrypt_text(tenant=tenant_a.tenant, object_id="o", blob=old_blob) == "v1"
    assert crypto.decrypt_text(tenant=tenant_a.tenant, object_id="o", blob=new_blob) == "v2"


def test_a_key_file_readable_by_others_is_refused(key_file):
    key_file.chmod(0o644)

    with pytest.raises(keyring.KeyringError, match="chmod 600"):
        keyring.load()


def test_a_missing_key_file_is_a_clear_error(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("ENCLAVE_KEK", raising=False)
    settings.ENCLAVE_KEK_FILE = str(tmp_path / "absent.json")

    with pytest.raises(keyring.KeyringError, match="keys_init"):
        keyring.load()


def test_keys_init_creates_a_private_key_file_once(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("ENCLAVE_KEK", raising=False)
    settings.ENCLAVE_KEK_FILE = str(tmp_path / "secrets" / "kek.json")

    assert keyring.init_file() is True
    first = keyring.load().current
    assert keyring.init_file() is False

    assert (tmp_path / "secrets" / "kek.json").stat().st_mode & 0o777 == 0o600
    assert keyring.load().current == first


@pytest.mark.parametrize("value", ["not base64!", "c2hvcnQ="])
def test_a_malformed_environment_kek_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("ENCLAVE_KEK", value)

    with pytest.raises(keyring.KeyringError, match="ENCLAVE_KEK"):
        keyring.load()
