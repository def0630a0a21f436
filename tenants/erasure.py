"""Deletion that crosses apps without making an app depend on the ones downstream of it.

The app that deletes something (a document, a conversation, a user) or withdraws it from training calls
`erasure_cascade`; apps holding data derived from it (chat: citations, traces, conversations,
training exports; inference: metering) receive `erased` in the same transaction, delete theirs and
return counts, which go into the deletion's receipt.
"""

from django.dispatch import Signal

from tenants.models import Tenant

# Sent with tenant=, kind=, ids= (public ids as str). Kinds: deletions "document", "conversation",
# "user"; withdrawals from training "document_no_train", "conversation_no_train", "user_no_train",
# "tenant_no_train" (ids: the tenant's schema).
erased = Signal()


def erasure_cascade(*, tenant: Tenant, kind: str, ids) -> dict:
    removed: dict[str, int] = {}
    for _receiver, counts in erased.send(sender=kind, tenant=tenant, kind=kind, ids=[str(i) for i in ids]):
        for name, count in (counts or {}).items():
            removed[name] = removed.get(name, 0) + count
    return removed
