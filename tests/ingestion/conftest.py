from pathlib import Path

import pytest
from django.conf import settings
from django_tenants.utils import schema_context

from ingestion.models import Document
from ingestion.services import document_upload
from ingestion.tasks import document_version_ingest
from tenants.tasking import TENANT_KWARG

EXAMPLE_DOCS = Path(settings.ENCLAVE_CORPORA_DIR) / "example-docs" / "files"


def example(name: str) -> bytes:
    return (EXAMPLE_DOCS / name).read_bytes()


@pytest.fixture
def ingest():
    """Upload through the service and run the ingestion task in this process; returns the document."""

    def _ingest(world, filename: str, data: bytes, *, user=None, acl=None, document=None) -> Document:
        with schema_context(world.tenant.schema_name):
            outcome = document_upload(
                tenant=world.tenant,
                user=user or world.admin,
                filename=filename,
                data=data,
                acl_principals=acl,
                document=document,
            )
        if outcome.version is not None and not outcome.unchanged:
            document_version_ingest.apply(
                kwargs={TENANT_KWARG: world.tenant.schema_name, "version_id": outcome.version.pk}
            )
        with schema_context(world.tenant.schema_name):
            return Document.objects.get(pk=outcome.document.pk)

    return _ingest
