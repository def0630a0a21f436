import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from ingestion.models import Document
from tenants.accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


def _upload(client, world, key, *files, **fields):
    data = {"files": [SimpleUploadedFile(name, content) for name, content in files], **fields}
    return client.post("/api/v1/documents/", data, HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_HOST="localhost")


def test_several_files_are_uploaded_in_one_request_with_a_group_acl(client, tenant_a):
    response = _upload(
        client,
        tenant_a,
        tenant_a.finance_key,
        ("a.txt", b"alpha budget"),
        ("b.md", b"# Beta\n\nplan"),
        groups=[str(tenant_a.finance_group.public_id)],
    )

    body = response.json()
    assert response.status_code == 201
    assert [doc["filename"] for doc in body["documents"]] == ["a.txt", "b.md"]
    assert {doc["status"] for doc in body["documents"]} == {"queued"}
    assert body["documents"][0]["acl"] == [f"group:{tenant_a.finance_group.public_id}"]
    with schema_context("tenant_a"):
        uploads = AuditEvent.objects.filter(action="document.uploaded", detail__filename__in=["a.txt", "b.md"])
        assert uploads.count() == 2


def test_an_oversized_file_is_rejected_while_the_others_are_accepted(client, tenant_a, settings):
    settings.ENCLAVE_UPLOAD_MAX_BYTES = 10

    response = _upload(client, tenant_a, tenant_a.admin_key, ("small.txt", b"tiny"), ("big.txt", b"x" * 11))

    body = response.json()
    assert response.status_code == 201
    assert [doc["filename"] for doc in body["documents"]] == ["small.txt"]
    assert body["rejected"][0]["filename"] == "big.txt"
    assert body["rejected"][0]["code"] == "file_too_large"


def test_an_upload_with_only_oversized_files_is_413(client, tenant_a, settings):
    settings.ENCLAVE_UPLOAD_MAX_BYTES = 10

    response = _upload(client, tenant_a, tenant_a.admin_key, ("big.txt", b"x" * 11))

    assert response.status_code == 413


def test_an_acl_naming_an_unknown_group_is_a_clear_400(client, tenant_a, tenant_b):
    response = _upload(
        client, tenant_a, tenant_a.admin_key, ("a.txt", b"x"), groups=[str(tenant_b.finance_group.public_id)]
    )

    assert response.status_code == 400
    assert "unknown groups" in str(response.json())


def test_an_upload_without_files_is_a_clear_400(client, tenant_a):
    response = client.post(
        "/api/v1/documents/", {}, HTTP_AUTHORIZATION=f"Bearer {tenant_a.admin_key}", HTTP_HOST="localhost"
    )

    assert response.status_code == 400
    assert "files" in response.json()["error"]["detail"]


def test_members_list_only_documents_their_principals_may_read(api, client, tenant_a, django_assert_max_num_queries):
    _upload(client, tenant_a, tenant_a.admin_key, ("finance.txt", b"f"), groups=[str(tenant_a.finance_group.public_id)])
    _upload(client, tenant_a, tenant_a.admin_key, ("all.txt", b"a"))

    with django_assert_max_num_queries(12):
        as_legal = api("get", "/api/v1/documents/", key=tenant_a.legal_key).json()
    as_finance = api("get", "/api/v1/documents/", key=tenant_a.finance_key).json()
    as_admin = api("get", "/api/v1/documents/", key=tenant_a.admin_key).json()

    assert {doc["filename"] for doc in as_legal["results"]} == {"all.txt"}
    assert {doc["filename"] for doc in as_finance["results"]} == {"finance.txt", "all.txt"}
    assert {doc["filename"] for doc in as_admin["results"]} == {"finance.txt", "all.txt"}


def test_the_list_is_filtered_by_text_state_tag_and_type_within_the_callers_acl(api, client, tenant_a):
    finance = [str(tenant_a.finance_group.public_id)]
    _upload(client, tenant_a, tenant_a.admin_key, ("budget-2027.md", b"# Budget\n\nNumbers."), tags=["Finance"])
    _upload(client, tenant_a, tenant_a.admin_key, ("budget-secret.md", b"# Secret\n\nMore."), groups=finance)
    _upload(client, tenant_a, tenant_a.admin_key, ("travel.txt", b"Flights."), tags=["finance"])
    _upload(client, tenant_a, tenant_a.admin_key, ("blob.bin", b"\x00\x01\x02" * 40))

    def names(key, query):
        response = api("get", f"/api/v1/documents/?{query}", key=key)
        assert response.status_code == 200, response.content
        return sorted(doc["filename"] for doc in response.json()["results"])

    assert names(tenant_a.admin_key, "q=BUDGET") == ["budget-2027.md", "budget-secret.md"]
    assert names(tenant_a.legal_key, "q=budget") == ["budget-2027.md"]  # the filter stays inside the ACL
    assert names(tenant_a.admin_key, "tag=finance") == ["budget-2027.md", "travel.txt"]
    assert names(tenant_a.admin_key, "kind=md&tag=finance") == ["budget-2027.md"]
    assert names(tenant_a.admin_key, "status=failed") == ["blob.bin"]
    assert names(tenant_a.admin_key, "q=&status=&tag=&kind=") == [
        "blob.bin",
        "budget-2027.md",
        "budget-secret.md",
        "travel.txt",
    ]
    assert api("get", "/api/v1/documents/?kind=exe", key=tenant_a.admin_key).status_code == 400


def test_a_document_outside_the_callers_acl_is_404(api, client, tenant_a):
    doc = _upload(
        client, tenant_a, tenant_a.admin_key, ("f.txt", b"f"), groups=[str(tenant_a.finance_group.public_id)]
    ).json()["documents"][0]

    assert api("get", f"/api/v1/documents/{doc['id']}/", key=tenant_a.legal_key).status_code == 404
    assert api("delete", f"/api/v1/documents/{doc['id']}/", key=tenant_a.legal_key).status_code == 404
    assert api("get", f"/api/v1/documents/{doc['id']}/", key=tenant_a.finance_key).status_code == 200


def test_only_the_uploader_or_an_admin_changes_a_document(api, client, tenant_a):
    doc = _upload(client, tenant_a, tenant_a.finance_key, ("f.txt", b"f")).json()["documents"][0]
    url = f"/api/v1/documents/{doc['id']}/"
    new_acl = {"acl": {"groups": [str(tenant_a.legal_group.public_id)]}}

    refused = api("patch", url, key=tenant_a.legal_key, data=new_acl)
    changed = api("patch", url, key=tenant_a.finance_key, data=new_acl)

    assert refused.status_code == 403
    assert changed.json()["acl"] == [f"group:{tenant_a.legal_group.public_id}"]
    with schema_context("tenant_a"):
        assert AuditEvent.objects.filter(action="document.acl_changed", target_id=doc["id"]).exists()


def test_the_detail_shows_versions_and_a_deletion_returns_a_receipt(api, client, tenant_a):
    doc = _upload(client, tenant_a, tenant_a.admin_key, ("f.txt", b"first")).json()["documents"][0]
    url = f"/api/v1/documents/{doc['id']}/"
    client.post(
        f"{url}versions/",
        {"files": [SimpleUploadedFile("f.txt", b"second")]},
        HTTP_AUTHORIZATION=f"Bearer {tenant_a.admin_key}",
        HTTP_HOST="localhost",
    )

    detail = api("get", url, key=tenant_a.admin_key).json()
    deleted = api("delete", url, key=tenant_a.admin_key).json()

    assert [version["number"] for version in detail["versions"]] == [2, 1]
    assert deleted["receipt"]["versions"] == 2
    with schema_context("tenant_a"):
        assert not Document.objects.filter(public_id=doc["id"]).exists()


def test_uploading_the_same_content_as_a_new_version_changes_nothing(client, tenant_a):
    doc = _upload(client, tenant_a, tenant_a.admin_key, ("f.txt", b"same")).json()["documents"][0]

    response = client.post(
        f"/api/v1/documents/{doc['id']}/versions/",
        {"files": [SimpleUploadedFile("f.txt", b"same")]},
        HTTP_AUTHORIZATION=f"Bearer {tenant_a.admin_key}",
        HTTP_HOST="localhost",
    )

    assert response.status_code == 200
    assert response.json()["unchanged"] is True
    assert response.json()["latest_version"] == 1


def test_the_queue_view_lists_waiting_documents_in_order(api, client, tenant_a):
    _upload(
        client,
        tenant_a,
        tenant_a.admin_key,
        ("one.txt", b"1"),
        ("two.txt", b"2"),
        ("bad.png", b"\x89PNG\r\n\x1a\n\0\0"),
    )

    queue = api("get", "/api/v1/ingestion/queue/", key=tenant_a.admin_key).json()

    assert queue["counts"]["queued"] == 2
    assert queue["counts"]["failed"] == 1
    assert [(item["position"], item["filename"]) for item in queue["waiting"]] == [(1, "one.txt"), (2, "two.txt")]


def test_the_portal_page_needs_sign_in_and_renders_groups(client, tenant_a):
    assert client.get("/documents/", HTTP_HOST=tenant_a.host).status_code == 302
    with schema_context("tenant_a"):
        client.force_login(tenant_a.finance)

    page = client.get("/documents/", HTTP_HOST=tenant_a.host)

    assert page.status_code == 200
    assert "finance" in page.content.decode()
    assert "drop-zone" in page.content.decode()
