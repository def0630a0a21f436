"""Deletion that crosses apps without making an app depend on the ones downstream of it.

The app that deletes something (a document, a conversation, a user) or withdraws it from training calls
`erasure_cascade`; apps holding data derived from it (chat: citations, traces, conversations,
training exports; inference: metering, adapters that learnt from it) receive `erased` in the same
transaction, delete theirs and return counts (for retired adapters, their names), which go into the receipt.
"""

from django.db import connection
from django.dispatch import Signal

from tenants.models import Tenant

# Sent with tenant=, kind=, ids= (public ids as str). Kinds: deletions "document", "conversation",
# "user", "tenant" (ids: the schema; sent before the schema is dropped, for what lives outside it);
# withdrawals from training "document_no_train", "conversation_no_train", "user_no_train",
# "tenant_no_train" (ids: the tenant's schema).
erased = Signal()


# Taken by every erasure or withdrawal and by training-export creation, for the rest of the transaction:
# an export being built while consent is withdrawn is either committed first (and then deleted by the
# withdrawal) or built after it (and then sees it).
EXPORT_LOCK = 0x454E434C  # "ENCL"


def training_lock(tenant: Tenant) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [EXPORT_LOCK, tenant.pk])


def erasure_cascade(*, tenant: Tenant, kind: str, ids) -> dict:
    training_lock(tenant)
    removed: dict[str, int | list] = {}
    for _receiver, counts in erased.send(sender=kind, tenant=tenant, kind=kind, ids=[str(i) for i in ids]):
        for name, count in (counts or {}).items():
            removed[name] = removed.get(name, [] if isinstance(count, list) else 0) + count  # counts, or names
    return removed
