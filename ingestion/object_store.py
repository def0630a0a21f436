"""The S3-compatible object store (boto3): the one seam to it. Used for originals when
ENCLAVE_ORIGINALS_STORE=s3; objects arrive here already encrypted with the tenant's data key.

Credentials come from boto3's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, an
instance role); ENCLAVE_S3_ENDPOINT_URL points at a non-AWS server (MinIO, Ceph, Garage...)."""

import functools

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from core.api import ServiceError

MISSING = {"404", "NoSuchKey", "NotFound"}


class ObjectStoreUnavailable(ServiceError):
    code = "file_store_unavailable"
    status_code = 503


@functools.cache
def _client():
    return boto3.client(
        "s3",
        endpoint_url=settings.ENCLAVE_S3_ENDPOINT_URL or None,
        region_name=settings.ENCLAVE_S3_REGION or None,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30),
    )


def _call(operation, **arguments):
    try:
        return getattr(_client(), operation)(Bucket=settings.ENCLAVE_S3_BUCKET, **arguments)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in MISSING:
            return None
        raise ObjectStoreUnavailable(f"the object store refused {operation}: {exc}") from exc
    except BotoCoreError as exc:
        raise ObjectStoreUnavailable(f"the object store cannot be reached: {exc}") from exc


def object_put(key: str, data: bytes) -> None:
    _call("put_object", Key=key, Body=data)


def object_get(key: str) -> bytes | None:
    found = _call("get_object", Key=key)
    return None if found is None else found["Body"].read()


def object_exists(key: str) -> bool:
    return _call("head_object", Key=key) is not None


def object_delete(key: str) -> bool:
    existed = object_exists(key)
    _call("delete_object", Key=key)
    return existed


def _keys_and_sizes(prefix: str):
    token = {}
    while True:
        page = _call("list_objects_v2", Prefix=prefix, **token) or {}
        yield from ((item["Key"], item["Size"]) for item in page.get("Contents", []))
        if not page.get("IsTruncated"):
            return
        token = {"ContinuationToken": page["NextContinuationToken"]}


def prefix_bytes(prefix: str) -> tuple[int, int]:
    """(objects, bytes) under the prefix."""
    sizes = [size for _, size in _keys_and_sizes(prefix)]
    return len(sizes), sum(sizes)


def prefix_delete(prefix: str) -> int:
    keys = [key for key, _ in _keys_and_sizes(prefix)]
    for start in range(0, len(keys), 1000):
        batch = keys[start : start + 1000]
        _call("delete_objects", Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
    return len(keys)
