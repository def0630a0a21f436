"""Original files, encrypted with the tenant's data key and stored once per SHA-256 of the content.

By default in the tenant's own schema (`StoredOriginal`, in encrypted parts of at most 1 MiB), so
every web and worker host reads what any host stored and a schema drop removes them; with
ENCLAVE_ORIGINALS_STORE=s3 as one object each in an S3-compatible bucket under
<ENCLAVE_S3_PREFIX><schema>/; with ENCLAVE_ORIGINALS_STORE=files under ENCLAVE_FILE_STORE on this
host. Reads and deletions look in every store configured, so originals stored before a change of
store stay readable."""

import hashlib
import logging
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Func, Sum

from ingestion import object_store
from ingestion.models import OriginalPart, StoredOriginal
from tenants import crypto
from tenants.models import Tenant
from tenants.services import tenant_file_store

PART_BYTES = 1024 * 1024
logger = logging.getLogger(__name__)


def content_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _blob_path(tenant: Tenant, sha256: str) -> Path:
    return tenant_file_store(tenant) / "blobs" / sha256[:2] / sha256


def _object_key(tenant: Tenant, sha256: str) -> str:
    return f"{tenant_object_prefix(tenant)}{sha256[:2]}/{sha256}"


def tenant_object_prefix(tenant: Tenant) -> str:
    return f"{settings.ENCLAVE_S3_PREFIX}{tenant.schema_name}/"


def _s3_configured() -> bool:
    return bool(settings.ENCLAVE_S3_BUCKET)


def blob_put(*, tenant: Tenant, data: bytes) -> str:
    sha256 = content_sha256(data)
    if blob_exists(tenant=tenant, sha256=sha256) and _readable(tenant=tenant, sha256=sha256):
        return sha256
    store = settings.ENCLAVE_ORIGINALS_STORE
    if store == "files":
        _file_put(tenant, sha256, data)
    elif store == "s3":
        object_store.object_put(_object_key(tenant, sha256), _single_blob(tenant, sha256, data))
    else:
        _database_put(tenant, sha256, data)
    return sha256


def _single_blob(tenant: Tenant, sha256: str, data: bytes) -> bytes:
    return crypto.encrypt(tenant=tenant, object_id=f"blob:{sha256}", plaintext=data)


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
    blob = _single_blob(tenant, sha256, data)
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
        blob = object_store.object_get(_object_key(tenant, sha256)) if _s3_configured() else None
        if blob is None:
            blob = _blob_path(tenant, sha256).read_bytes()
        data = crypto.decrypt(tenant=tenant, object_id=f"blob:{sha256}", blob=blob)
    if content_sha256(data) != sha256:
        raise crypto.DecryptionError(f"stored file {sha256[:12]} does not match its hash")
    return data


def blob_delete(*, tenant: Tenant, sha256: str) -> bool:
    deleted, _ = StoredOriginal.objects.filter(sha256=sha256).delete()
    in_bucket = _s3_configured() and object_store.object_delete(_object_key(tenant, sha256))
    path = _blob_path(tenant, sha256)
    in_file = path.exists()
    if in_file:
        path.unlink()
    return bool(deleted) or in_bucket or in_file


def blob_exists(*, tenant: Tenant, sha256: str) -> bool:
    return (
        StoredOriginal.objects.filter(sha256=sha256).exists()
        or (_s3_configured() and object_store.object_exists(_object_key(tenant, sha256)))
        or _blob_path(tenant, sha256).exists()
    )


def stored_bytes(*, tenant: Tenant) -> int:
    """Bytes the tenant's originals take, encrypted, in the database, the bucket and files."""
    in_files = sum(path.stat().st_size for path in tenant_file_store(tenant).rglob("*") if path.is_file())
    in_database = OriginalPart.objects.aggregate(total=Sum(Func(F("data"), function="octet_length")))["total"]
    in_bucket = object_store.prefix_bytes(tenant_object_prefix(tenant))[1] if _s3_configured() else 0
    return in_files + (in_database or 0) + in_bucket


def tenant_objects_count(tenant: Tenant) -> int:
    return object_store.prefix_bytes(tenant_object_prefix(tenant))[0] if _s3_configured() else 0


def tenant_objects_delete(tenant_prefix: str) -> int:
    """Every object of a deleted tenant (by its prefix, as the tenant row is gone by then). Objects
    the store fails to delete stay unreadable: the tenant's keys are destroyed with the tenant."""
    if not _s3_configured():
        return 0
    try:
        return object_store.prefix_delete(tenant_prefix)
    except object_store.ObjectStoreUnavailable:
        logger.exception("objects under %s were left in the bucket (their keys are destroyed)", tenant_prefix)
        return 0


def on_erased(sender, *, tenant: Tenant, kind: str, **_kwargs) -> dict:
    """A deleted tenant's objects in the bucket: counted for the receipt, deleted after the commit
    (the files under its folder go with the folder, tenants/services.py)."""
    if kind != "tenant":
        return {}
    prefix = tenant_object_prefix(tenant)
    count = tenant_objects_count(tenant)
    transaction.on_commit(lambda: tenant_objects_delete(prefix))
    return {"stored_objects": count}


def on_usage_counted(sender, *, tenant: Tenant, **_kwargs) -> dict:
    return {"stored_bytes": stored_bytes(tenant=tenant)}
