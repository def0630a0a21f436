"""Original files, encrypted with the tenant's data key and stored once per SHA-256 of the content."""

import hashlib
import os
import tempfile
from pathlib import Path

from tenants import crypto
from tenants.models import Tenant
from tenants.services import tenant_file_store


def content_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _blob_path(tenant: Tenant, sha256: str) -> Path:
    return tenant_file_store(tenant) / "blobs" / sha256[:2] / sha256


def blob_put(*, tenant: Tenant, data: bytes) -> str:
    sha256 = content_sha256(data)
    path = _blob_path(tenant, sha256)
    if path.exists() and _readable(tenant=tenant, sha256=sha256):
        return sha256
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = crypto.encrypt(tenant=tenant, object_id=f"blob:{sha256}", plaintext=data)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(blob)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return sha256


def _readable(*, tenant: Tenant, sha256: str) -> bool:
    """A file left by an earlier tenant of the same name, or a damaged one, is written again."""
    try:
        blob_get(tenant=tenant, sha256=sha256)
    except crypto.DecryptionError:
        return False
    return True


def blob_get(*, tenant: Tenant, sha256: str) -> bytes:
    data = crypto.decrypt(tenant=tenant, object_id=f"blob:{sha256}", blob=_blob_path(tenant, sha256).read_bytes())
    if content_sha256(data) != sha256:
        raise crypto.DecryptionError(f"stored file {sha256[:12]} does not match its hash")
    return data


def blob_delete(*, tenant: Tenant, sha256: str) -> bool:
    path = _blob_path(tenant, sha256)
    if not path.exists():
        return False
    path.unlink()
    return True


def blob_exists(*, tenant: Tenant, sha256: str) -> bool:
    return _blob_path(tenant, sha256).exists()
