"""Long-term memory: per user, opt-in, only facts the user asked to keep. Used as context with lower
priority than documents and never cited; never read for another user (every query is by user)."""

import re

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from chat.models import MemoryFact, MemorySetting
from tenants.accounts.audit import audit_record
from tenants.accounts.models import User
from tenants.crypto import decrypt_text, encrypt_text
from tenants.models import Tenant

MAX_FACTS_IN_PROMPT = 20
MAX_FACT_LENGTH = 500
# Anchored and without a lazy tail: the rest of the question is the fact, cut by plain string handling.
REMEMBER = re.compile(r"(?:please\s+)?remember(?:\s+that)?[:,]?\s", re.IGNORECASE)


def enabled(*, user: User) -> bool:
    return MemorySetting.objects.filter(user=user, enabled=True).exists()


def enable(*, user: User, on: bool) -> bool:
    MemorySetting.objects.update_or_create(user=user, defaults={"enabled": on})
    return on


def remember(*, tenant: Tenant, user: User, text: str) -> MemoryFact:
    fact = MemoryFact(user=user)
    fact.content_encrypted = encrypt_text(
        tenant=tenant, object_id=str(fact.public_id), text=text.strip()[:MAX_FACT_LENGTH]
    )
    fact.save()
    return fact


def facts(*, tenant: Tenant, user: User, limit: int | None = None) -> list[tuple[MemoryFact, str]]:
    query = MemoryFact.objects.filter(user=user).order_by("-created_at", "-id")
    if limit:
        query = query[:limit]
    return [
        (f, decrypt_text(tenant=tenant, object_id=str(f.public_id), blob=bytes(f.content_encrypted))) for f in query
    ]


def fact_get(*, user: User, public_id) -> MemoryFact:
    fact = MemoryFact.objects.filter(user=user, public_id=public_id).first()
    if fact is None:
        raise Http404
    return fact


@transaction.atomic
def forget(*, user: User, fact: MemoryFact | None = None) -> dict:
    """Delete one fact, or all of the user's facts; a receipt of what went."""
    query = MemoryFact.objects.filter(user=user)
    if fact is not None:
        query = query.filter(pk=fact.pk)
    deleted, _ = query.delete()
    receipt = {"user": str(user.public_id), "facts_deleted": deleted, "deleted_at": timezone.now().isoformat()}
    audit_record(
        action="memory.forgotten", actor=user, target_type="user", target_id=str(user.public_id), detail=receipt
    )
    return receipt


def request_to_remember(question: str) -> str | None:
    question = question.lstrip()
    match = REMEMBER.match(question)
    if not match:
        return None
    fact = question[match.end() :].strip()
    fact = fact[:-1].rstrip() if fact.endswith((".", "!")) else fact
    return fact if 3 <= len(fact) <= MAX_FACT_LENGTH else None
