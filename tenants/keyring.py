"""The key-encryption key (KEK) ring: from ENCLAVE_KEK, or from a 0600 key file.

The file holds {"current": <base64 key>, "retired": [<base64 key>, ...]}. Retired keys only unwrap;
rotation wraps every data key again under the current key, after which retired keys can be pruned.
"""

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from core import env

KEY_BYTES = 32


class KeyringError(RuntimeError):
    pass


@dataclass(frozen=True)
class Keyring:
    current: bytes
    retired: tuple[bytes, ...]
    source: str

    @property
    def current_id(self) -> str:
        return kek_id(self.current)

    def by_id(self, wanted: str) -> bytes:
        for key in (self.current, *self.retired):
            if kek_id(key) == wanted:
                return key
        raise KeyringError(f"key-encryption key {wanted} is not in the keyring ({self.source})")


def kek_id(key: bytes) -> str:
    return hashlib.sha256(b"enclave-kek:" + key).hexdigest()[:16]


def _decode(value: str, origin: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(value.strip().encode())
    except ValueError as exc:
        raise KeyringError(f"{origin} is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise KeyringError(f"{origin} must decode to {KEY_BYTES} bytes, got {len(key)}")
    return key


def _encode(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def key_file_path() -> Path:
    return Path(settings.ENCLAVE_KEK_FILE)


def load() -> Keyring:
    if env.get("ENCLAVE_KEK"):
        retired = tuple(_decode(value, "ENCLAVE_KEK_PREVIOUS") for value in env.get_list("ENCLAVE_KEK_PREVIOUS", ""))
        return Keyring(_decode(env.get("ENCLAVE_KEK"), "ENCLAVE_KEK"), retired, "ENCLAVE_KEK")
    path = key_file_path()
    if not path.exists():
        raise KeyringError(f"no key-encryption key: set ENCLAVE_KEK or run `manage.py keys_init` to create {path}")
    if path.stat().st_mode & 0o077:
        raise KeyringError(f"{path} must be readable by its owner only (chmod 600)")
    data = json.loads(path.read_text())
    retired = tuple(_decode(value, f"{path} retired key") for value in data.get("retired", []))
    return Keyring(_decode(data["current"], f"{path} current key"), retired, str(path))


def _write_file(path: Path, current: bytes, retired: list[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"current": _encode(current), "retired": [_encode(k) for k in retired]}, handle)
    os.replace(temporary, path)


def init_file() -> bool:
    """Create the key file when it does not exist. Returns True when a key was generated."""
    if env.get("ENCLAVE_KEK"):
        return False
    path = key_file_path()
    if path.exists():
        load()
        return False
    _write_file(path, secrets.token_bytes(KEY_BYTES), [])
    return True


def rotate_file() -> Keyring:
    """Generate a new current KEK in the key file; the old one becomes retired."""
    if env.get("ENCLAVE_KEK"):
        raise KeyringError(
            "the KEK comes from ENCLAVE_KEK: set the new key there and the old one in "
            "ENCLAVE_KEK_PREVIOUS, then run `manage.py keys_rotate` again without --new-kek"
        )
    ring = load()
    _write_file(key_file_path(), secrets.token_bytes(KEY_BYTES), [ring.current, *ring.retired])
    return load()


def prune_file(keep_ids: set[str]) -> int:
    """Drop retired keys no wrapped data key uses any more. Returns how many were dropped."""
    if env.get("ENCLAVE_KEK"):
        return 0
    ring = load()
    kept = [key for key in ring.retired if kek_id(key) in keep_ids]
    _write_file(key_file_path(), ring.current, kept)
    return len(ring.retired) - len(kept)
