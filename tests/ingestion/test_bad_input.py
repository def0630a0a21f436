"""Every file of corpora/example-docs, plus synthetic hostile files: each ends in a clear
state with a clear message, for that document only."""

import io
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from ingestion.models import Document, IngestionStatus
from ingestion.services import UploadRejected, document_upload, tenant_storage_used
from retrieval.models import Chunk
from tests.ingestion.conftest import EXAMPLE_DOCS, example
from tests.processes import in_own_connection

pytestmark = pytest.mark.django_db

EXPECTED_FAILURES = {
    "eml_empty.eml": "empty",
    "eml_fake-encrypted.eml": "encrypted",
    "empty.txt": "empty",
    "empty.xlsx": "no text",
    "fake-encrypted.msg": "encrypted",
    "fake-power-point.ppt": "legacy",
    "fake.doc": "legacy",
    "fake-text-all-whitespace.txt": "empty",
    "img_english-and-korean.png": "no OCR",
    "password_protected.xlsx": "password-protected",
    "pdf_password.pdf": "password-protected",
    "simple.zip": "ZIP archives are not accepted",
}
ALL_FILES = sorted(path.name for path in EXAMPLE_DOCS.iterdir())


def _chunk_text(world, document) -> str:
    with schema_context(world.tenant.schema_name):
        return " ".join(Chunk.objects.filter(document_id=document.public_id).values_list("text", flat=True))


@pytest.mark.parametrize("filename", ALL_FILES)
def test_every_example_document_ends_indexed_or_failed_with_a_reason(ingest, tenant_a, filename):
    document = ingest(tenant_a, filename, example(filename))

    if filename in EXPECTED_FAILURES:
        assert document.status == IngestionStatus.FAILED
        assert EXPECTED_FAILURES[filename] in document.error
        assert document.chunk_count == 0
    else:
        assert document.status == IngestionStatus.INDEXED, document.error
        assert document.chunk_count > 0
        assert "\ufffd" not in _chunk_text(tenant_a, document)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("stanley-cups-utf-16.csv", "Maple Leafs"),
        ("fake-text-utf-32.txt", "Doylestown"),
        ("eml_fake-email-utf-16-le.eml", "Roses are red"),
        ("fake-html-cp1252.html", "3,50 €"),
        ("umlauts-non-utf8.md", "können"),
    ],
)
def test_text_in_legacy_and_unicode_encodings_is_decoded(ingest, tenant_a, filename, expected):
    document = ingest(tenant_a, filename, example(filename))

    assert expected in _chunk_text(tenant_a, document)


def test_scripts_inside_html_are_never_indexed(ingest, tenant_a):
    document = ingest(tenant_a, "page.html", example("example-with-scripts.html"))

    text = _chunk_text(tenant_a, document)
    assert document.status == IngestionStatus.INDEXED
    assert "switchTo5x" not in text
    assert "stLight" not in text


def test_injected_script_and_style_content_is_dropped():
    html = b"<html><body><h1>Policy</h1><p>Visible</p><script>steal()</script><style>.x{}</style></body></html>"

    from ingestion.parsers import parse

    text = " ".join(element.text for element in parse("html", html))
    assert "Visible" in text
    assert "steal" not in text
    assert ".x{}" not in text


def _zip_with(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(name, data)
    return buffer.getvalue()


def test_a_decompression_bomb_is_refused_without_being_expanded(ingest, tenant_a):
    bomb = _zip_with("word/document.xml", b"\0" * (300 * 1024 * 1024))

    document = ingest(tenant_a, "bomb.docx", bomb)

    assert len(bomb) < 2 * 1024 * 1024
    assert document.status == IngestionStatus.FAILED
    assert "decompression bomb" in document.error


def test_a_pdf_with_a_broken_structure_fails_with_a_reason(ingest, tenant_a):
    broken = example("pdf_fake-memo.pdf")[:3000]

    document = ingest(tenant_a, "broken.pdf", broken)

    assert document.status == IngestionStatus.FAILED
    assert "PDF" in document.error


def test_a_malformed_office_container_fails_with_a_reason(ingest, tenant_a):
    document = ingest(tenant_a, "x.pptx", _zip_with("ppt/presentation.xml", b"<not-xml"))

    assert document.status == IngestionStatus.FAILED
    assert "could not be parsed" in document.error


def test_a_file_over_the_size_limit_is_refused_and_nothing_is_stored(tenant_a, settings):
    settings.ENCLAVE_UPLOAD_MAX_BYTES = 1000

    with schema_context("tenant_a"), pytest.raises(UploadRejected, match="the limit is 1,000 bytes") as refused:
        document_upload(tenant=tenant_a.tenant, user=tenant_a.admin, filename="big.txt", data=b"x" * 1001)

    assert refused.value.code == "file_too_large"
    with schema_context("tenant_a"):
        assert not Document.objects.filter(filename="big.txt").exists()


def test_an_upload_over_the_tenant_quota_is_refused(ingest, tenant_a):
    tenant_a.tenant.storage_quota_bytes = 60
    tenant_a.tenant.save()
    ingest(tenant_a, "first.txt", b"first document with some words in it")

    with schema_context("tenant_a"), pytest.raises(UploadRejected, match="quota") as refused:
        document_upload(tenant=tenant_a.tenant, user=tenant_a.admin, filename="second.txt", data=b"y" * 40)

    assert refused.value.code == "quota_exceeded"


def test_a_hostile_file_name_is_made_harmless(ingest, tenant_a):
    document = ingest(tenant_a, "../../etc/\x00pass\u202ewd<script>.txt", b"harmless words")

    assert document.filename == "pass" + "wd<script>.txt"
    assert "/" not in document.filename
    assert document.status == IngestionStatus.INDEXED


def test_a_failed_document_does_not_touch_other_documents_or_tenants(ingest, tenant_a, tenant_b):
    good_a = ingest(tenant_a, "good.txt", b"quarterly revenue grew in the north region")
    good_b = ingest(tenant_b, "good.txt", b"tenant b keeps its own notes")

    bad = ingest(tenant_a, "bad.pdf", example("pdf_password.pdf"))

    assert bad.status == IngestionStatus.FAILED
    with schema_context("tenant_a"):
        assert Document.objects.get(pk=good_a.pk).status == IngestionStatus.INDEXED
        assert Chunk.objects.filter(document_id=good_a.public_id).count() == 1
    with schema_context("tenant_b"):
        assert Document.objects.get(pk=good_b.pk).status == IngestionStatus.INDEXED


def test_two_uploads_at_once_cannot_both_fit_where_only_one_does(tenant_a, monkeypatch):
    """Each upload fits the space left, the two together do not: checked and stored in one locked step,
    one is refused whatever the interleaving (each thread on its own committed connection)."""
    monkeypatch.setattr("ingestion.services._enqueue", lambda **kwargs: None)  # no worker here
    tenant = tenant_a.tenant
    tenant.storage_quota_bytes = in_own_connection(lambda: _storage_used("tenant_a")) + 100
    start = threading.Barrier(2)

    def upload(index: int) -> str:
        try:
            with schema_context("tenant_a"):
                start.wait()
                try:
                    document_upload(
                        tenant=tenant,
                        user=tenant_a.admin,
                        filename=f"part-{index}.txt",
                        data=b"ab" * 30 + bytes([index]),
                    )
                    return "stored"
                except UploadRejected as refused:
                    return refused.code
        finally:
            connection.close()

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = sorted(pool.map(upload, range(2)))
        stored = in_own_connection(lambda: _parts("tenant_a", delete=False))
    finally:
        in_own_connection(lambda: _parts("tenant_a", delete=True))

    assert outcomes == ["quota_exceeded", "stored"] and stored == 1


def _storage_used(schema: str) -> int:
    with schema_context(schema):
        return tenant_storage_used()


def _parts(schema: str, *, delete: bool) -> int:
    with schema_context(schema):
        parts = Document.objects.filter(filename__startswith="part-")
        return parts.delete()[1].get("ingestion.Document", 0) if delete else parts.count()
