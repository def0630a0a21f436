"""Envelope encryption: one AES-256 data key per tenant and version, wrapped under the KEK.

Data keys are wrapped ("tenant-secret") by HKDF-SHA256(KEK, salt=the tenant's secret in
tenants.tenant_secrets), so deleting the tenant's secret shreds its keys even where a database
backup and the KEK survive. Keys made before tenant secrets existed are wrapped by the KEK itself
("kek"); they still unwrap, and data_keys_rewrap converts them.

Every ciphertext binds the tenant and the object it belongs to as associated data, so a blob
copied to another tenant or another object fails to decrypt. Blob layout:
    b"EV1" | key version (4 bytes, big endian) | nonce (12 bytes) | AES-GCM ciphertext+tag
"""

import secrets
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.db import transaction
from django.db.models import Q

from tenants import keyring, tenant_secrets
from tenants.models import Tenant, TenantKey

MAGIC = b"EV1"
NONCE_BYTES = 12
_HEADER = struct.Struct(">3sI")
WRAPPING_KEK = "kek"
WRAPPING_TENANT_SECRET = "tenant-secret"  # noqa: S105 (a label, not a secret)


class DecryptionError(Exception):
    """The blob is not ours, was tampered with, belongs elsewhere, or its key was destroyed."""


def _wrap_aad(tenant_id: int, version: int) -> bytes:
    return f"enclave:data-key:{tenant_id}:{version}".encode()


def _object_aad(tenant: Tenant, object_id: str) -> bytes:
    return f"enclave:object:{tenant.pk}:{tenant.schema_name}:{object_id}".encode()


def _tenant_wrap_key(*, kek: bytes, tenant_id: int, secret: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=secret, info=f"enclave:tenant-wrap:{tenant_id}".encode()
    ).derive(kek)


def wrap_data_key(*, ring: keyring.Keyring, tenant_id: int, version: int, data_key: bytes) -> bytes:
    """Wrap under the current KEK and the tenant's secret (created for a tenant that has none)."""
    wrap_key = _tenant_wrap_key(kek=ring.current, tenant_id=tenant_id, secret=tenant_secrets.secret_ensure(tenant_id))
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(wrap_key).encrypt(nonce, data_key, _wrap_aad(tenant_id, version))


def unwrap_data_key(*, ring: keyring.Keyring, tenant_key: TenantKey) -> bytes:
    """Raises KeyringError when the KEK or the tenant's secret is gone, DecryptionError when the
    wrapped key does not open with them."""
    wrapped = bytes(tenant_key.wrapped_key)
    kek = ring.by_id(tenant_key.kek_id)
    if tenant_key.wrapping == WRAPPING_TENANT_SECRET:
        secret = tenant_secrets.secret_get(tenant_key.tenant_id)
        wrap_key = _tenant_wrap_key(kek=kek, tenant_id=tenant_key.tenant_id, secret=secret)
    elif tenant_key.wrapping == WRAPPING_KEK:
        wrap_key = kek
    else:
        raise DecryptionError(f"data key v{tenant_key.version} has an unknown wrapping {tenant_key.wrapping!r}")
    try:
        return AESGCM(wrap_key).decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(tenant_key.tenant_id, tenant_key.version)
        )
    except InvalidTag as exc:
        raise DecryptionError(
            f"data key v{tenant_key.version} of tenant {tenant_key.tenant_id} does not unwrap"
        ) from exc


def data_key_create(*, tenant: Tenant) -> TenantKey:
    """Add a new data key version for the tenant; new encryptions use the newest version."""
    ring = keyring.load()
    with transaction.atomic():
        latest = TenantKey.objects.select_for_update().filter(tenant=tenant).order_by("-version").first()
        version = (latest.version + 1) if latest else 1
        return TenantKey.objects.create(
            tenant=tenant,
            version=version,
            wrapped_key=wrap_data_key(
                ring=ring, tenant_id=tenant.pk, version=version, data_key=secrets.token_bytes(32)
            ),
            kek_id=ring.current_id,
            wrapping=WRAPPING_TENANT_SECRET,
        )


def data_keys_rewrap() -> int:
    """Wrap every data key not yet under the current KEK and its tenant's secret again, creating
    the secret of a tenant whose keys predate secrets. Returns how many were rewrapped."""
    ring = keyring.load()
    rewrapped = 0
    with transaction.atomic():
        tenant_secrets.secrets_rewrap(ring)
        stale = TenantKey.objects.select_for_update().filter(
            ~Q(kek_id=ring.current_id) | ~Q(wrapping=WRAPPING_TENANT_SECRET)
        )
        for tenant_key in stale.order_by("tenant_id", "version"):
            data_key = unwrap_data_key(ring=ring, tenant_key=tenant_key)
            tenant_key.wrapped_key = wrap_data_key(
                ring=ring, tenant_id=tenant_key.tenant_id, version=tenant_key.version, data_key=data_key
            )
            tenant_key.kek_id = ring.current_id
            tenant_key.wrapping = WRAPPING_TENANT_SECRET
            tenant_key.save(update_fields=["wrapped_key", "kek_id", "wrapping"])
            rewrapped += 1
    return rewrapped


def encrypt(*, tenant: Tenant, object_id: str, plaintext: bytes) -> bytes:
    tenant_key = TenantKey.objects.filter(tenant=tenant).order_by("-version").first()
    if tenant_key is None:
        raise DecryptionError(f"tenant {tenant.schema_name} has no data key")
    data_key = unwrap_data_key(ring=keyring.load(), tenant_key=tenant_key)
    nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, _object_aad(tenant, object_id))
    return _HEADER.pack(MAGIC, tenant_key.version) + nonce + ciphertext


def decrypt(*, tenant: Tenant, object_id: str, blob: bytes) -> bytes:
    if len(blob) < _HEADER.size + NONCE_BYTES + 16:
        raise DecryptionError("ciphertext is truncated")
    magic, version = _HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise DecryptionError("not an Enclave ciphertext")
    tenant_key = TenantKey.objects.filter(tenant=tenant, version=version).first()
    if tenant_key is None:
        raise DecryptionError(f"data key v{version} of tenant {tenant.schema_name} does not exist")
    data_key = unwrap_data_key(ring=keyring.load(), tenant_key=tenant_key)
    body = blob[_HEADER.size :]
    try:
        return AESGCM(data_key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], _object_aad(tenant, object_id))
    except InvalidTag as exc:
        raise DecryptionError("ciphertext does not belong to this tenant and object, or was altered") from exc


def encrypt_text(*, tenant: Tenant, object_id: str, text: str) -> bytes:
    return encrypt(tenant=tenant, object_id=object_id, plaintext=text.encode())


def decrypt_text(*, tenant: Tenant, object_id: str, blob: bytes) -> str:
    return decrypt(tenant=tenant, object_id=object_id, blob=blob).decode()
