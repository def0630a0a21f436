"""Original files, encrypted with the tenant's data key and stored once per SHA-256 of the content.

By default in the tenant's own schema (`StoredOriginal`, in encrypted parts of at most 1 MiB), so
every web and worker host reads what any host stored and a schema drop removes them; with
ENCLAVE_ORIGINALS_STORE=files under ENCLAVE_FILE_STORE on this host. Reads and deletions look in
both, so originals stored as files before the database store existed stay readable."""

import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Func, Sum

from ingestion.models import OriginalPart, StoredOriginal
from tenants import crypto
from tenants.models import Tenant
from tenants.services import tenant_file_store

PART_BYTES = 1024 * 1024


def content_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _blob_path(tenant: Tenant, sha256: str) -> Path:
    return tenant_file_store(tenant) / "blobs" / sha256[:2] / sha256


def _in_database() -> bool:
    return settings.ENCLAVE_ORIGINALS_STORE != "files"


def blob_put(*, tenant: Tenant, data: bytes) -> str:
    sha256 = content_sha256(data)
    if blob_exists(tenant=tenant, sha256=sha256) and _readable(tenant=tenant, sha256=sha256):
        return sha256
    if _in_database():
        _database_put(tenant, sha256, data)
    else:
        _file_put(tenant, sha256, data)
    return sha256


@transaction.atomic
def _database_put(tenant: Tenant, sha256: str, data: bytes) -> None:
    StoredOriginal.objects.filter(sha256=sha256).delete()  # a damaged copy is written again
    original = StoredOriginal.objects.create(sha256=sha256, size_bytes=len(data))
    OriginalPart.objects.bulk_create(
        OriginalPart(
            original=original,
            ordinal=ordinal,
            data=crypto.encrypt(tenant=tenant, object_id=f"blob:{sha256}:{ordinal}", plaintext=data[start:end]),
        )
        for ordinal, (start, end) in enumerate(
            (start, min(start + PART_BYTES, len(data))) for start in range(0, max(len(data), 1), PART_BYTES)
        )
    )


def _file_put(tenant: Tenant, sha256: str, data: bytes) -> None:
    path = _blob_path(tenant, sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = crypto.encrypt(tenant=tenant, object_id=f"blob:{sha256}", plaintext=data)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(blob)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _readable(*, tenant: Tenant, sha256: str) -> bool:
    """A copy left by an earlier tenant of the same name, or a damaged one, is written again."""
    try:
        blob_get(tenant=tenant, sha256=sha256)
    except crypto.DecryptionError:
        return False
    return True


def blob_get(*, tenant: Tenant, sha256: str) -> bytes:
    parts = OriginalPart.objects.filter(original_id=sha256).order_by("ordinal").values_list("ordinal", "data")
    if StoredOriginal.objects.filter(sha256=sha256).exists():
        data = b"".join(
            crypto.decrypt(tenant=tenant, object_id=f"blob:{sha256}:{ordinal}", blob=bytes(blob))
            for ordinal, blob in parts.iterator()
        )
    else:
        data = crypto.decrypt(tenant=tenant, object_id=f"blob:{sha256}", blob=_blob_path(tenant, sha256).read_bytes())
    if content_sha256(data) != sha256:
        raise crypto.DecryptionError(f"stored file {sha256[:12]} does not match its hash")
    return data


def blob_delete(*, tenant: Tenant, sha256: str) -> bool:
    deleted, _ = StoredOriginal.objects.filter(sha256=sha256).delete()
    path = _blob_path(tenant, sha256)
    if path.exists():
        path.unlink()
        return True
    return bool(deleted)


def blob_exists(*, tenant: Tenant, sha256: str) -> bool:
    return StoredOriginal.objects.filter(sha256=sha256).exists() or _blob_path(tenant, sha256).exists()


def stored_bytes(*, tenant: Tenant) -> int:
    """Bytes the tenant's originals take, encrypted, in the database and in files."""
    in_files = sum(path.stat().st_size for path in tenant_file_store(tenant).rglob("*") if path.is_file())
    in_database = OriginalPart.objects.aggregate(total=Sum(Func(F("data"), function="octet_length")))["total"]
    return in_files + (in_database or 0)
