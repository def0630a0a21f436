"""A flood of bogus API keys is a few audit entries with counts, not a row per request."""

import datetime

import pytest
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def started(settings):
    """Rejections other tests left (committed, in the public schema too) are moved out of the window and
    out of sight: each test counts only its own (rolled back with the test)."""
    window = datetime.timedelta(seconds=settings.ENCLAVE_REJECTED_KEY_AUDIT_SECONDS + 1)
    for schema in ("public", "tenant_a"):
        with schema_context(schema):
            AuditEvent.objects.filter(action="api_key.rejected").update(created_at=F("created_at") - window)
    return timezone.now()


def _rejected(since) -> list[tuple[str, str, int]]:
    entries = AuditEvent.objects.filter(action="api_key.rejected", created_at__gte=since).order_by("created_at", "id")
    return [(entry.ip_address, entry.detail["reason"], entry.detail["count"]) for entry in entries]


def test_rejected_keys_from_one_address_are_one_audit_entry_with_a_count(api, tenant_a, started):
    prefix = tenant_a.finance_key.split("_")[1]

    for attempt in range(30):
        assert api("get", "/api/v1/me/", key=f"ek_{prefix}_guess{attempt}").status_code == 401
        assert api("get", "/api/v1/me/", key=f"ek_unknown{attempt}_guess").status_code == 401

    with schema_context("tenant_a"):
        assert _rejected(started) == [("127.0.0.1", "invalid_api_key", 30)]
    assert _rejected(started) == [("127.0.0.1", "invalid_api_key", 30)]  # unknown prefixes, in the public schema


def test_another_address_another_reason_or_a_later_window_opens_a_new_entry(client, tenant_a, settings, started):
    prefix = tenant_a.finance_key.split("_")[1]

    def attempt(address: str, key: str = f"ek_{prefix}_guess") -> None:
        response = client.get(
            "/api/v1/me/", HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {key}", REMOTE_ADDR=address
        )
        assert response.status_code == 401

    attempt("10.0.0.1")
    attempt("10.0.0.1")
    attempt("10.0.0.2")
    attempt("10.0.0.1", key="not-a-key")
    window = datetime.timedelta(seconds=settings.ENCLAVE_REJECTED_KEY_AUDIT_SECONDS + 1)
    with schema_context("tenant_a"):
        AuditEvent.objects.filter(action="api_key.rejected").update(created_at=F("created_at") - window)
    attempt("10.0.0.1")

    with schema_context("tenant_a"):
        assert _rejected(started - window) == [
            ("10.0.0.1", "invalid_api_key", 2),
            ("10.0.0.2", "invalid_api_key", 1),
            ("10.0.0.1", "invalid_api_key", 1),
        ]
    assert _rejected(started - window) == [("10.0.0.1", "invalid_api_key", 1)]  # the malformed key claims no tenant
