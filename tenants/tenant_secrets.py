"""Tenant secrets: one random 32-byte secret per tenant.

Each tenant's data keys are wrapped by a key derived from the KEK and this secret (tenants.crypto),
so destroying the secret makes the tenant's wrapped keys useless.

Two stores (ENCLAVE_TENANT_SECRETS). "database" (the default): `TenantSecret` rows in the public
schema, each secret wrapped by the KEK (AES-GCM), so every web and worker host has them. A database
backup then holds the wrapped secret too: a deleted tenant's data in a backup stays readable with
the KEK until the KEK is rotated and the old one pruned (`keys_rotate --new-kek --prune`, which the
deletion receipt asks for). "file": a JSON file next to the KEK key file, {"<tenant pk>": <base64
secret>}, mode 0600: one host only, but backups of the database never hold a secret. Writers hold an
exclusive lock on a sibling .lock file and replace the file atomically; readers need no lock.
Reads, destruction and pruning look in both stores, so secrets written by the other store stay found.
"""

import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import connection

from tenants import keyring
from tenants.models import TenantSecret

FILE_NAME = "tenant-secrets.json"
# The advisory lock key of secrets_lock: b"enclsecr" read as a bigint.
_ADVISORY_LOCK = 0x656E636C_73656372


def secrets_file_path() -> Path:
    return keyring.key_file_path().parent / FILE_NAME


def _load(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    if path.stat().st_mode & 0o077:
        raise keyring.KeyringError(f"{path} must be readable by its owner only (chmod 600)")
    return json.loads(path.read_text())


def _write(path: Path, data: dict[str, str]) -> None:
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


@contextmanager
def _locked() -> Iterator[tuple[Path, dict[str, str]]]:
    """Read-modify-write under an exclusive file lock, so concurrent writers lose no secret."""
    path = secrets_file_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path.with_name(FILE_NAME + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path, _load(path)
    finally:
        os.close(fd)


def _decode(path: Path, tenant_id: int | str, value: str) -> bytes:
    return keyring._decode(value, f"{path}: the secret of tenant {tenant_id}")


def _in_database() -> bool:
    return settings.ENCLAVE_TENANT_SECRETS != "file"


def _aad(tenant_id: int | str) -> bytes:
    return f"enclave:tenant-secret:{int(tenant_id)}".encode()


def _wrap(ring: keyring.Keyring, tenant_id: int | str, secret: bytes) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(ring.current).encrypt(nonce, secret, _aad(tenant_id))


def _database_store(tenant_id: int | str, secret: bytes) -> None:
    ring = keyring.load()
    TenantSecret.objects.update_or_create(
        tenant_id=int(tenant_id), defaults={"wrapped": _wrap(ring, tenant_id, secret), "kek_id": ring.current_id}
    )


def _database_read(tenant_id: int | str) -> bytes | None:
    row = TenantSecret.objects.filter(tenant_id=int(tenant_id)).first()
    if row is None:
        return None
    wrapped = bytes(row.wrapped)
    return AESGCM(keyring.load().by_id(row.kek_id)).decrypt(wrapped[:12], wrapped[12:], _aad(tenant_id))


def _file_read(tenant_id: int | str) -> bytes | None:
    path = secrets_file_path()
    value = _load(path).get(str(tenant_id))
    return None if value is None else _decode(path, tenant_id, value)


def _file_store(tenant_id: int | str, secret: bytes) -> None:
    with _locked() as (path, data):
        data[str(tenant_id)] = keyring._encode(secret)
        _write(path, data)


def _read(tenant_id: int | str) -> bytes | None:
    found = _database_read(tenant_id)
    return found if found is not None else _file_read(tenant_id)


def secret_create(tenant_id: int | str) -> bytes:
    """Give the tenant a new secret, replacing any left over: tenant ids restart with a new database,
    and a new tenant must never inherit the secret of an earlier one with the same id."""
    secret = secrets.token_bytes(keyring.KEY_BYTES)
    secret_destroy(tenant_id)
    (_database_store if _in_database() else _file_store)(tenant_id, secret)
    return secret


def secret_get(tenant_id: int | str) -> bytes:
    secret = _read(tenant_id)
    if secret is None:
        raise keyring.KeyringError(
            f"tenant {tenant_id} has no secret: the tenant's key was destroyed "
            "(or the secret store was lost), so its data cannot be decrypted"
        )
    return secret


def secret_ensure(tenant_id: int | str) -> bytes:
    """The tenant's secret, created when it has none (tenants made before secrets existed)."""
    secret = _read(tenant_id)
    if secret is not None:
        return secret
    if _in_database():
        secret = secrets.token_bytes(keyring.KEY_BYTES)
        TenantSecret.objects.get_or_create(
            tenant_id=int(tenant_id),
            defaults={"wrapped": _wrap(keyring.load(), tenant_id, secret), "kek_id": keyring.load().current_id},
        )
        return secret_get(tenant_id)
    with _locked() as (path, data):
        if str(tenant_id) not in data:
            data[str(tenant_id)] = keyring._encode(secrets.token_bytes(keyring.KEY_BYTES))
            _write(path, data)
        return _decode(path, tenant_id, data[str(tenant_id)])


def secret_destroy(tenant_id: int | str) -> bool:
    """Forget the tenant's secret, in both stores. Returns False when it had none."""
    deleted, _ = TenantSecret.objects.filter(tenant_id=int(tenant_id)).delete()
    with _locked() as (path, data):
        if data.pop(str(tenant_id), None) is not None:
            _write(path, data)
            return True
    return bool(deleted)


def secrets_prune(keep_ids: set[str]) -> int:
    """Forget the secrets of every tenant not in keep_ids. Returns how many were forgotten.

    Call it inside a transaction holding secrets_lock(exclusive=True), with keep_ids read after
    taking the lock, or a tenant being created right now loses its secret."""
    deleted, _ = TenantSecret.objects.exclude(tenant_id__in=[int(tenant_id) for tenant_id in keep_ids]).delete()
    with _locked() as (path, data):
        dropped = [tenant_id for tenant_id in data if tenant_id not in keep_ids]
        for tenant_id in dropped:
            del data[tenant_id]
        if dropped:
            _write(path, data)
    return len(dropped) + deleted


def secrets_rewrap(ring: keyring.Keyring) -> int:
    """Wrap every database-stored secret not under the current KEK again. Returns how many."""
    stale = TenantSecret.objects.select_for_update().exclude(kek_id=ring.current_id)
    for row in stale:
        secret = _database_read(row.tenant_id)
        row.wrapped, row.kek_id = _wrap(ring, row.tenant_id, secret), ring.current_id
        row.save(update_fields=["wrapped", "kek_id"])
    return len(stale)


def kek_ids_in_use() -> set[str]:
    return set(TenantSecret.objects.values_list("kek_id", flat=True))


def secrets_lock(*, exclusive: bool) -> None:
    """Take a PostgreSQL advisory lock held until the transaction ends. Tenant creation takes it
    shared before writing a secret, pruning takes it exclusive, so pruning waits for tenant rows
    that are not committed yet instead of dropping their secrets."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [_ADVISORY_LOCK])
