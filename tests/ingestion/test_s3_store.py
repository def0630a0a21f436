"""Originals in an S3-compatible bucket (ENCLAVE_ORIGINALS_STORE=s3), against moto's S3 server
running on loopback: boto3 speaks real HTTP (signed requests, multipart responses) to it."""

import uuid

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context
from moto.server import ThreadedMotoServer

from ingestion import object_store, storage
from ingestion.models import Document, IngestionStatus, StoredOriginal
from ingestion.services import document_delete
from tenants import services
from tests.conftest import PASSWORD
from tests.processes import _free_port

pytestmark = pytest.mark.django_db
TEXT = b"The warehouse lease at Dock 7 renews on 1 March 2027 for 48,000 euros a year."


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "enclave-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "enclave-test-secret")
    name = f"originals-{uuid.uuid4().hex[:12]}"
    settings.ENCLAVE_ORIGINALS_STORE = "s3"
    settings.ENCLAVE_S3_BUCKET = name
    settings.ENCLAVE_S3_ENDPOINT_URL = s3_endpoint
    settings.ENCLAVE_S3_REGION = "us-east-1"
    object_store._client.cache_clear()
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    yield client
    object_store._client.cache_clear()


def _objects(client, prefix: str = "") -> dict[str, bytes]:
    listed = client.list_objects_v2(Bucket=client.bucket_name, Prefix=prefix).get("Contents", [])
    return {
        item["Key"]: client.get_object(Bucket=client.bucket_name, Key=item["Key"])["Body"].read() for item in listed
    }


@pytest.fixture
def objects(bucket, settings):
    bucket.bucket_name = settings.ENCLAVE_S3_BUCKET
    return lambda prefix="": _objects(bucket, prefix)


def test_an_upload_is_stored_encrypted_in_the_bucket_ingested_from_it_and_deleted_with_its_document(
    ingest, tenant_a, objects, django_capture_on_commit_callbacks
):
    document = ingest(tenant_a, "lease.txt", TEXT)
    sha256 = storage.content_sha256(TEXT)

    stored = objects()
    assert document.status == IngestionStatus.INDEXED and document.chunk_count >= 1
    assert list(stored) == [f"enclave/tenant_a/{sha256[:2]}/{sha256}"]
    assert b"warehouse" not in stored[f"enclave/tenant_a/{sha256[:2]}/{sha256}"]
    with schema_context("tenant_a"):
        assert not StoredOriginal.objects.filter(sha256=sha256).exists()
        assert storage.blob_get(tenant=tenant_a.tenant, sha256=sha256) == TEXT
        assert storage.stored_bytes(tenant=tenant_a.tenant) >= len(next(iter(stored.values())))
        with django_capture_on_commit_callbacks(execute=True):
            receipt = document_delete(tenant=tenant_a.tenant, document=document, actor=tenant_a.admin)
    assert receipt["files"] == 1
    assert objects() == {}


def test_an_object_cannot_be_read_as_another_tenants(tenant_a, tenant_b, objects):
    with schema_context("tenant_a"):
        sha256 = storage.blob_put(tenant=tenant_a.tenant, data=TEXT)
    [key] = objects()
    with schema_context("tenant_b"):
        assert not storage.blob_exists(tenant=tenant_b.tenant, sha256=sha256)
        with pytest.raises(FileNotFoundError):
            storage.blob_get(tenant=tenant_b.tenant, sha256=sha256)
    assert key.startswith("enclave/tenant_a/")


def test_originals_stored_in_the_database_stay_readable_once_the_bucket_is_the_store(tenant_a, objects, settings):
    settings.ENCLAVE_ORIGINALS_STORE = "database"
    with schema_context("tenant_a"):
        sha256 = storage.blob_put(tenant=tenant_a.tenant, data=TEXT)
    settings.ENCLAVE_ORIGINALS_STORE = "s3"

    with schema_context("tenant_a"):
        assert storage.blob_get(tenant=tenant_a.tenant, sha256=sha256) == TEXT
        assert storage.blob_put(tenant=tenant_a.tenant, data=TEXT) == sha256  # already stored: not copied
    assert objects() == {}


def test_an_unreachable_bucket_refuses_the_upload_with_a_clear_error_and_stores_nothing(
    client, tenant_a, bucket, settings
):
    settings.ENCLAVE_S3_ENDPOINT_URL = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    object_store._client.cache_clear()
    with schema_context("tenant_a"):
        before = Document.objects.count()

    response = client.post(
        "/api/v1/documents/",
        {"files": [SimpleUploadedFile("lease.txt", TEXT)]},
        HTTP_AUTHORIZATION=f"Bearer {tenant_a.admin_key}",
        HTTP_HOST="localhost",
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "file_store_unavailable"
    with schema_context("tenant_a"):
        assert Document.objects.count() == before


def test_deleting_a_tenant_removes_its_objects_and_no_other_tenants(
    ingest, tenant_a, objects, django_capture_on_commit_callbacks
):
    ingest(tenant_a, "lease.txt", TEXT)
    doomed = services.tenant_create(
        name="Bucketed", schema_name="bucketed", admin_username="root", admin_password=PASSWORD
    ).tenant
    with schema_context("bucketed"):
        storage.blob_put(tenant=doomed, data=b"doomed tenant's contract")
    assert len(objects("enclave/bucketed/")) == 1

    with django_capture_on_commit_callbacks(execute=True):
        receipt = services.tenant_delete(tenant=doomed)

    assert receipt["removed"]["stored_objects"] == 1
    assert objects("enclave/bucketed/") == {}
    assert len(objects("enclave/tenant_a/")) == 1
