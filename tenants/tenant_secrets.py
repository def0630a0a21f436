"""Tenant secrets: one random 32-byte secret per tenant, kept outside the database.

Each tenant's data keys are wrapped by a key derived from the KEK and this secret (tenants.crypto),
so destroying the secret makes the tenant's wrapped keys useless, including copies in database
backups. The store is a JSON file next to the KEK key file, {"<tenant pk>": <base64 secret>}, mode
0600, used whether the KEK comes from ENCLAVE_KEK or from the key file. Writers hold an exclusive
lock on a sibling .lock file and replace the file atomically; readers need no lock.
"""

import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from tenants import keyring

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


def secret_create(tenant_id: int | str) -> bytes:
    """Give the tenant a new secret, replacing any left over: tenant ids restart with a new database,
    and a new tenant must never inherit the secret of an earlier one with the same id."""
    secret = secrets.token_bytes(keyring.KEY_BYTES)
    with _locked() as (path, data):
        data[str(tenant_id)] = keyring._encode(secret)
        _write(path, data)
    return secret


def secret_get(tenant_id: int | str) -> bytes:
    path = secrets_file_path()
    value = _load(path).get(str(tenant_id))
    if value is None:
        raise keyring.KeyringError(
            f"tenant {tenant_id} has no secret in {path}: the tenant's key was destroyed "
            "(or the secret store was lost), so its data cannot be decrypted"
        )
    return _decode(path, tenant_id, value)


def secret_ensure(tenant_id: int | str) -> bytes:
    """The tenant's secret, created when it has none (tenants made before secrets existed)."""
    path = secrets_file_path()
    value = _load(path).get(str(tenant_id))
    if value is not None:
        return _decode(path, tenant_id, value)
    with _locked() as (path, data):
        if str(tenant_id) not in data:
            data[str(tenant_id)] = keyring._encode(secrets.token_bytes(keyring.KEY_BYTES))
            _write(path, data)
        return _decode(path, tenant_id, data[str(tenant_id)])


def secret_destroy(tenant_id: int | str) -> bool:
    """Forget the tenant's secret. Returns False when it had none."""
    with _locked() as (path, data):
        if data.pop(str(tenant_id), None) is None:
            return False
        _write(path, data)
    return True


def secrets_prune(keep_ids: set[str]) -> int:
    """Forget the secrets of every tenant not in keep_ids. Returns how many were forgotten.

    Call it inside a transaction holding secrets_lock(exclusive=True), with keep_ids read after
    taking the lock, or a tenant being created right now loses its secret."""
    with _locked() as (path, data):
        dropped = [tenant_id for tenant_id in data if tenant_id not in keep_ids]
        for tenant_id in dropped:
            del data[tenant_id]
        if dropped:
            _write(path, data)
    return len(dropped)


def secrets_lock(*, exclusive: bool) -> None:
    """Take a PostgreSQL advisory lock held until the transaction ends. Tenant creation takes it
    shared before writing a secret, pruning takes it exclusive, so pruning waits for tenant rows
    that are not committed yet instead of dropping their secrets."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [_ADVISORY_LOCK])
