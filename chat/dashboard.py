"""A tenant's activity by day, for the dashboard page: answers by outcome, thumbs-up rate, time to first
token, model tokens against the daily quota, ingestion and its failures, moderation by category. Each
series is one aggregate query in the current tenant's schema; no content is read (it is encrypted and not
needed). Model calls and ingestion are read through their apps' selectors."""

from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django_tenants.utils import schema_context

from chat.models import Feedback, Message
from inference import selectors as llm_calls
from ingestion import selectors as documents

OUTCOMES = ("complete", "abstained", "refused", "ungrounded", "incomplete", "failed")


def _days(days: int) -> list[date]:
    today = timezone.now().date()
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def _since(days: list[date]) -> datetime:
    """The first day's start: a bound on created_at itself, so its index serves every query."""
    return datetime.combine(days[0], time.min, tzinfo=UTC)


def _by_day(queryset):
    return queryset.annotate(day=TruncDate("created_at", tzinfo=UTC)).values("day")


def answers_by_outcome(days: list[date]) -> dict[str, list[int]]:
    answers = Message.objects.filter(role=Message.Role.ASSISTANT, created_at__gte=_since(days))
    rows = _by_day(answers).values_list("day", "status").annotate(n=Count("id"))
    counts = {(day, status): n for day, status, n in rows}
    return {status: [counts.get((day, status), 0) for day in days] for status in OUTCOMES}


def thumbs_up_rate(days: list[date]) -> tuple[list[float | None], list[int]]:
    ratings = _by_day(Feedback.objects.filter(created_at__gte=_since(days)))
    rows = ratings.values_list("day").annotate(up=Count("id", filter=Q(rating__gt=0)), total=Count("id"))
    by_day = {day: (up, total) for day, up, total in rows}
    rates = [round(by_day[d][0] / by_day[d][1], 3) if d in by_day else None for d in days]
    return rates, [by_day.get(d, (0, 0))[1] for d in days]


def first_token_ms(days: list[date]) -> dict[str, list[float | None]]:
    by_day = llm_calls.chat_first_token_by_day(since=_since(days))
    return {
        "p50": [round(by_day[d][0]) if d in by_day else None for d in days],
        "p95": [round(by_day[d][1]) if d in by_day else None for d in days],
    }


def first_token_ms_over(days: list[date]) -> dict[str, int | None]:
    """p50 and p95 over the whole period (not an average of the daily ones)."""
    p50, p95 = llm_calls.chat_first_token_over(since=_since(days))
    return {"p50": None if p50 is None else round(p50), "p95": None if p95 is None else round(p95)}


def tokens(days: list[date]) -> list[int]:
    by_day = llm_calls.tokens_by_day(since=_since(days))
    return [by_day.get(d, 0) for d in days]


def ingestion(days: list[date]) -> dict:
    versions = documents.versions_by_day(since=_since(days))
    return {
        "indexed": [versions["indexed"].get(d, 0) for d in days],
        "failed": [versions["failed"].get(d, 0) for d in days],
        "failure_reasons": [
            {"reason": reason or "(no reason)", "count": n} for reason, n in versions["failure_reasons"]
        ],
    }


def moderation_by_category(days: list[date]) -> list[dict]:
    """Answers moderation cautioned or refused over the period, by taxonomy category, most first."""
    answers = Message.objects.filter(role=Message.Role.ASSISTANT, created_at__gte=_since(days))
    rows = (
        answers.exclude(moderation_action="")
        .values_list("moderation_category")
        .annotate(
            caution=Count("id", filter=Q(moderation_action="caution")),
            refuse=Count("id", filter=Q(moderation_action="refuse")),
        )
    )
    found = [{"category": category or "(none)", "caution": c, "refuse": r} for category, c, r in rows]
    return sorted(found, key=lambda row: (-(row["caution"] + row["refuse"]), row["category"]))


def rated_down(days: int = 30, most: int = 20) -> list[dict]:
    """The latest answers rated down, with the reason given: ids and labels only, for the trace page."""
    since = _since(_days(days))
    ratings = Feedback.objects.filter(rating=Feedback.Rating.DOWN, created_at__gte=since).select_related("message")
    return [
        {"message": f.message.public_id, "status": f.message.status, "reason": f.reason, "at": f.created_at}
        for f in ratings.order_by("-created_at")[:most]
    ]


def tenant_dashboard(*, tenant, days: int = 30) -> dict:
    span = _days(days)
    rates, rated = thumbs_up_rate(span)
    return {
        "days": [d.isoformat() for d in span],
        "answers": answers_by_outcome(span),
        "thumbs_up_rate": rates,
        "rated": rated,
        "first_token_ms": first_token_ms(span),
        "tokens": tokens(span),
        "token_quota": tenant.llm_tokens_per_day,
        "ingestion": ingestion(span),
        "moderation": moderation_by_category(span),
    }


def appliance_overview(*, tenants, days: int = 30) -> list[dict]:
    """Per tenant, the last `days` summed: answers by outcome, thumbs-up rate, time to first token, model
    tokens, versions indexed and failed, and moderation by category. Counts only: the operator never
    reads a tenant's content."""
    span = _days(days)
    found = []
    for tenant in tenants:
        with schema_context(tenant.schema_name):
            answers = {status: sum(series) for status, series in answers_by_outcome(span).items()}
            rates, rated = thumbs_up_rate(span)
            used = sum(tokens(span))
            moderated = moderation_by_category(span)
            latency = first_token_ms_over(span)
            ingested = ingestion(span)
        ups = sum(rate * n for rate, n in zip(rates, rated, strict=True) if rate is not None)
        found.append(
            {
                "tenant": tenant,
                "answers": answers,
                "answer_total": sum(answers.values()),
                "thumbs_up_rate": round(ups / sum(rated), 3) if sum(rated) else None,
                "tokens": used,
                "first_token_ms": latency,
                "indexed": sum(ingested["indexed"]),
                "ingestion_failed": sum(ingested["failed"]),
                "cautioned": sum(row["caution"] for row in moderated),
                "refused_by_category": {row["category"]: row["refuse"] for row in moderated if row["refuse"]},
            }
        )
    return found
