"""Per-tenant metering of model calls, and the limits checked before one is made.

Rows live in the tenant's schema; outside a tenant (the public schema) nothing is metered.
"""

import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from inference.errors import LlmRateLimited
from inference.models import LlmCall


def _in_tenant() -> bool:
    return connection.schema_name != "public"


def limits() -> tuple[int, int]:
    """(requests per minute, tokens per day) for the current tenant."""
    tenant = getattr(connection, "tenant", None)
    per_minute = getattr(tenant, "llm_requests_per_minute", None) or settings.ENCLAVE_LLM_REQUESTS_PER_MINUTE
    per_day = getattr(tenant, "llm_tokens_per_day", None) or settings.ENCLAVE_LLM_TOKENS_PER_DAY
    return per_minute, per_day


def limits_check() -> None:
    if not _in_tenant():
        return
    per_minute, per_day = limits()
    now = timezone.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    sent = ~Q(status=LlmCall.Status.REFUSED)
    usage = LlmCall.objects.aggregate(
        last_minute=Count("id", filter=sent & Q(created_at__gte=now - datetime.timedelta(minutes=1))),
        today=Sum("prompt_tokens", filter=Q(created_at__gte=midnight))
        + Sum("completion_tokens", filter=Q(created_at__gte=midnight)),
    )
    if usage["last_minute"] >= per_minute:
        raise LlmRateLimited(
            f"this organisation's limit of {per_minute} model requests a minute is reached; retry shortly"
        )
    if (usage["today"] or 0) >= per_day:
        error = LlmRateLimited(
            f"this organisation's quota of {per_day:,} model tokens a day is used up; it resets at 00:00 UTC"
        )
        error.code = "token_quota_exceeded"
        raise error


def record(*, user_id, purpose: str, model: str, status: str, error_code: str = "", **numbers) -> None:
    if _in_tenant():
        LlmCall.objects.create(
            user_id=user_id, purpose=purpose, model=model[:200], status=status, error_code=error_code[:40], **numbers
        )


def usage_summary(*, since: datetime.datetime) -> dict:
    calls = LlmCall.objects.filter(created_at__gte=since)
    fields = {
        "requests": Count("id"),
        "prompt_tokens": Sum("prompt_tokens"),
        "completion_tokens": Sum("completion_tokens"),
        "avg_ttft_ms": Avg("ttft_ms"),
        "failed": Count("id", filter=Q(status=LlmCall.Status.FAILED)),
        "refused": Count("id", filter=Q(status=LlmCall.Status.REFUSED)),
    }
    totals = calls.aggregate(**fields)
    by_user = list(calls.values("user_id").annotate(**fields).order_by("user_id"))
    rates = [call.tokens_per_second for call in calls.only("duration_ms", "ttft_ms", "completion_tokens")[:1000]]
    rates = [rate for rate in rates if rate]
    totals["avg_tokens_per_second"] = sum(rates) / len(rates) if rates else None
    per_minute, per_day = limits()
    return {
        "since": since.isoformat(),
        "limits": {"requests_per_minute": per_minute, "tokens_per_day": per_day},
        "totals": totals,
        "by_user": [{**row, "user_id": str(row["user_id"]) if row["user_id"] else None} for row in by_user],
    }


def on_erased(sender, *, kind: str, ids: list[str], **_kwargs) -> dict:
    """An erased person's calls stay counted for the tenant's usage, without their id."""
    if kind != "user":
        return {}
    return {"llm_calls_anonymised": LlmCall.objects.filter(user_id__in=ids).update(user_id=None)}
