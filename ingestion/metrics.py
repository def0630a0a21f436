"""Ingestion's series, read from the database at scrape time, whichever worker did the work."""

from datetime import timedelta

from django.db.models import Count, Sum
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context
from prometheus_client.core import GaugeMetricFamily

from ingestion.models import DocumentVersion, IngestionStatus
from tenants.models import Tenant


class IngestionCollector:
    """Document versions per tenant and status, the queue depth (not yet indexed nor failed) and
    the throughput: versions and bytes indexed in the last hour, by any worker."""

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                "enclave_ingestion_versions", "Document versions by tenant and status", labels=["tenant", "status"]
            ),
            GaugeMetricFamily(
                "enclave_ingestion_queue_depth", "Document versions waiting or being ingested", labels=["tenant"]
            ),
            GaugeMetricFamily(
                "enclave_ingestion_indexed_last_hour", "Document versions indexed in the last hour", labels=["tenant"]
            ),
            GaugeMetricFamily(
                "enclave_ingestion_indexed_bytes_last_hour",
                "Bytes of the document versions indexed in the last hour",
                labels=["tenant"],
            ),
        )

    def describe(self):  # registering must not query the database
        return self._families()

    def collect(self):
        versions, depth, recent, recent_bytes = self._families()
        for schema, counts, last_hour in ingestion_by_tenant():
            for status, n in counts.items():
                versions.add_metric([schema, status], n)
            depth.add_metric([schema], queue_depth(counts))
            recent.add_metric([schema], last_hour["n"])
            recent_bytes.add_metric([schema], last_hour["size"] or 0)
        return versions, depth, recent, recent_bytes


def ingestion_by_tenant() -> list[tuple[str, dict, dict]]:
    """(schema, versions by status, indexed in the last hour) for every tenant."""
    hour_ago = timezone.now() - timedelta(hours=1)
    found = []
    schemas = Tenant.objects.exclude(schema_name=get_public_schema_name()).values_list("schema_name", flat=True)
    for schema in schemas:
        with schema_context(schema):
            counts = dict(DocumentVersion.objects.values_list("status").annotate(n=Count("id")))
            last_hour = DocumentVersion.objects.filter(
                status=IngestionStatus.INDEXED, indexed_at__gte=hour_ago
            ).aggregate(n=Count("id"), size=Sum("size_bytes"))
        found.append((schema, {status: counts.get(status, 0) for status in IngestionStatus.values}, last_hour))
    return found


def queue_depth(counts: dict) -> int:
    """Versions waiting or being ingested: neither indexed nor failed."""
    return sum(n for status, n in counts.items() if status not in ("indexed", "failed"))
