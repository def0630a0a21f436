"""Per-tenant metering of model calls, and the limits checked before one is made.

Rows live in the tenant's schema; outside a tenant (the public schema) nothing is metered.
"""

import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from core.locks import tenant_lock
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


IN_FLIGHT_STALE = datetime.timedelta(minutes=10)
IN_FLIGHT_RETRY_AFTER = 5  # seconds: about one grounded answer on the embedded engine
ADMISSION_LOCK = 0x454E4C4D  # "ENLM": held while a call of the tenant is admitted


def slot_reserve(*, user_id, purpose: str, model: str, prompt_tokens: int, max_tokens: int) -> int | None:
    """Check the limits and count this call in one locked step: its metering row is written, as "sending",
    before the lock is released, so parallel requests cannot all pass a limit none of them has hit yet.
    The row holds the most the call can cost (the prompt estimate and the whole answer) until `record`
    settles it at what was used, so a burst of calls cannot all pass the day's token quota either.
    The row's id, for `record` to finish; None outside a tenant."""
    if not _in_tenant():
        return None
    with tenant_lock(ADMISSION_LOCK):
        limits_check(user_id=user_id)
        call = LlmCall.objects.create(
            user_id=user_id,
            purpose=purpose,
            model=model[:200],
            status=LlmCall.Status.SENDING,
            prompt_tokens=prompt_tokens,
            completion_tokens=max_tokens,
        )
    return call.pk


def limits_check(*, user_id=None) -> None:
    """The tenant's limits, and the per-user share of the request limit when the call is a user's."""
    if not _in_tenant():
        return
    per_minute, per_day = limits()
    now = timezone.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    sent = ~Q(status=LlmCall.Status.REFUSED) & Q(created_at__gte=now - datetime.timedelta(minutes=1))
    # A row left "sending" by a process that died stops counting once no answer could still be streaming.
    in_flight = Q(status=LlmCall.Status.SENDING) & Q(created_at__gte=now - IN_FLIGHT_STALE)
    counts = {
        "last_minute": Count("id", filter=sent),
        "in_flight": Count("id", filter=in_flight),
        "today": Sum("prompt_tokens", filter=Q(created_at__gte=midnight))
        + Sum("completion_tokens", filter=Q(created_at__gte=midnight)),
    }
    if user_id:
        counts["user_last_minute"] = Count("id", filter=sent & Q(user_id=user_id))
    usage = LlmCall.objects.aggregate(**counts)
    if usage["last_minute"] >= per_minute:
        raise LlmRateLimited(
            f"this organisation's limit of {per_minute} model requests a minute is reached; retry shortly"
        )
    per_user = settings.ENCLAVE_LLM_REQUESTS_PER_USER_PER_MINUTE
    if user_id and usage["user_last_minute"] >= per_user:
        error = LlmRateLimited(f"your limit of {per_user} model requests a minute is reached; retry shortly")
        error.code = "user_rate_limited"
        raise error
    if usage["in_flight"] >= settings.ENCLAVE_LLM_CONCURRENT_PER_TENANT:
        error = LlmRateLimited(
            f"this organisation already has {usage['in_flight']} answers being written, as many as the model "
            "server takes from one organisation at a time; retry in a few seconds"
        )
        error.code, error.retry_after = "concurrency_limited", IN_FLIGHT_RETRY_AFTER
        raise error
    if (usage["today"] or 0) >= per_day:
        error = LlmRateLimited(
            f"this organisation's quota of {per_day:,} model tokens a day is used up; it resets at 00:00 UTC"
        )
        error.code = "token_quota_exceeded"
        raise error


def record(
    *, user_id, purpose: str, model: str, status: str, error_code: str = "", reserved: int | None = None, **numbers
) -> None:
    """Finish the call's row reserved by `slot_reserve`, or write one (a call refused before it was admitted)."""
    if not _in_tenant():
        return
    if reserved is not None:
        LlmCall.objects.filter(pk=reserved).update(status=status, error_code=error_code[:40], **numbers)
        return
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
