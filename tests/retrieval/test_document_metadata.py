"""Tags, title and upload time reach the chunks at indexing and follow later changes, so filters see them."""

import pytest
from django_tenants.utils import schema_context

from ingestion.models import Document
from ingestion.services import document_upload
from ingestion.tasks import document_version_ingest
from retrieval.filters import filters_parse
from retrieval.search import search
from tenants.accounts.selectors import EVERYONE
from tenants.tasking import TENANT_KWARG

pytestmark = pytest.mark.django_db


def _indexed(world, *, tags) -> Document:
    with schema_context(world.tenant.schema_name):
        outcome = document_upload(
            tenant=world.tenant,
            user=world.admin,
            filename="fleet.md",
            data=b"# Fleet\n\nThe company fleet has twelve electric vans serviced every spring.",
            tags=tags,
        )
    document_version_ingest.apply(kwargs={TENANT_KWARG: world.tenant.schema_name, "version_id": outcome.version.pk})
    with schema_context(world.tenant.schema_name):
        return Document.objects.get(pk=outcome.document.pk)


def _found(world, filters) -> list[str]:
    with schema_context(world.tenant.schema_name):
        outcome = search("electric vans", principals=[EVERYONE], filters=filters_parse(filters))
    return sorted({p.document_id for p in outcome.passages})


def test_tags_given_at_upload_filter_search(tenant_a):
    document = _indexed(tenant_a, tags=["Fleet", " logistics ", "fleet"])

    assert document.tags == ["fleet", "logistics"]
    assert _found(tenant_a, {"tags": ["logistics"]}) == [str(document.public_id)]
    assert _found(tenant_a, {"tags": ["finance"]}) == []
    assert _found(tenant_a, {"file_types": ["md"], "uploaded_after": "2020-01-01"}) == [str(document.public_id)]


def test_retagging_and_retitling_through_the_api_reach_the_chunks(api, tenant_a):
    document = _indexed(tenant_a, tags=["fleet"])

    response = api(
        "patch",
        f"/api/v1/documents/{document.public_id}/",
        key=tenant_a.admin_key,
        data={"tags": ["vehicles"], "title": "Vans"},
    )

    assert response.status_code == 200 and response.json()["tags"] == ["vehicles"]
    assert _found(tenant_a, {"tags": ["fleet"]}) == []
    assert _found(tenant_a, {"tags": ["vehicles"]}) == [str(document.public_id)]
    with schema_context(tenant_a.tenant.schema_name):
        top = search("electric vans", principals=[EVERYONE]).passages[0]
    assert top.title == "Vans"


def test_a_member_cannot_retag_someone_elses_document(api, tenant_a):
    document = _indexed(tenant_a, tags=["fleet"])

    response = api("patch", f"/api/v1/documents/{document.public_id}/", key=tenant_a.legal_key, data={"tags": ["x"]})

    assert response.status_code == 403
    assert _found(tenant_a, {"tags": ["fleet"]}) == [str(document.public_id)]
