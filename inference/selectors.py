"""Reads of model calls for other apps' pages: plain rows, aggregated in SQL (the percentiles need it)."""

from datetime import date, datetime

from django.db import connection


def _rows(sql: str, since: datetime) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, [since])
        return cursor.fetchall()


def chat_first_token_by_day(*, since: datetime) -> dict[date, tuple[float, float]]:
    """Per UTC day: p50 and p95 of chat calls' time to first token, in ms."""
    rows = _rows(
        """SELECT (created_at AT TIME ZONE 'UTC')::date,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY ttft_ms),
                  percentile_cont(0.95) WITHIN GROUP (ORDER BY ttft_ms)
           FROM inference_llmcall WHERE purpose = 'chat' AND ttft_ms IS NOT NULL AND created_at >= %s GROUP BY 1""",
        since,
    )
    return {day: (p50, p95) for day, p50, p95 in rows}


def chat_first_token_over(*, since: datetime) -> tuple[float | None, float | None]:
    """p50 and p95 over the whole period (not an average of the daily ones)."""
    ((p50, p95),) = _rows(
        """SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ttft_ms),
                  percentile_cont(0.95) WITHIN GROUP (ORDER BY ttft_ms)
           FROM inference_llmcall WHERE purpose = 'chat' AND ttft_ms IS NOT NULL AND created_at >= %s""",
        since,
    )
    return p50, p95


def tokens_by_day(*, since: datetime) -> dict[date, int]:
    rows = _rows(
        """SELECT (created_at AT TIME ZONE 'UTC')::date, sum(prompt_tokens + completion_tokens)
           FROM inference_llmcall WHERE created_at >= %s GROUP BY 1""",
        since,
    )
    return {day: int(total) for day, total in rows}
