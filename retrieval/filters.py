"""Metadata filters a caller may put on a search, checked against a whitelist.

Each allowed key maps to one fixed SQL fragment with placeholders; keys and values never become
SQL text. Anything else (unknown keys, wrong types, oversized lists) is refused with a 400.
"""

import datetime
import uuid
from dataclasses import dataclass

from django.utils.dateparse import parse_date, parse_datetime

from core.api import ServiceError

MAX_VALUES = 100
MAX_VALUE_LENGTH = 100


class FilterError(ServiceError):
    status_code = 400
    code = "invalid_filter"


@dataclass(frozen=True)
class SearchFilters:
    documents: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    file_types: tuple[str, ...] = ()
    uploaded_after: datetime.datetime | None = None
    uploaded_before: datetime.datetime | None = None

    def sql(self) -> tuple[str, list]:
        """` AND ...` predicates on the chunk table, and their parameters."""
        clauses, params = [], []
        if self.documents:
            clauses.append("document_id = ANY(%s::uuid[])")
            params.append(list(self.documents))
        if self.tags:
            clauses.append("(metadata -> 'tags') ?| %s::text[]")
            params.append(list(self.tags))
        if self.file_types:
            clauses.append("(metadata ->> 'kind') = ANY(%s::text[])")
            params.append(list(self.file_types))
        if self.uploaded_after:
            clauses.append("(metadata ->> 'uploaded_at')::timestamptz >= %s")
            params.append(self.uploaded_after)
        if self.uploaded_before:
            clauses.append("(metadata ->> 'uploaded_at')::timestamptz < %s")
            params.append(self.uploaded_before)
        return "".join(f" AND {clause}" for clause in clauses), params


def _strings(key: str, value, *, check=None) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise FilterError(f"filter {key!r} takes a string or a list of strings")
    if len(value) > MAX_VALUES:
        raise FilterError(f"filter {key!r} takes at most {MAX_VALUES} values")
    cleaned = []
    for item in value:
        if not isinstance(item, str) or not item or len(item) > MAX_VALUE_LENGTH:
            raise FilterError(f"filter {key!r} takes non-empty strings of at most {MAX_VALUE_LENGTH} characters")
        cleaned.append(check(key, item) if check else item)
    return tuple(dict.fromkeys(cleaned))


def _uuid(key: str, item: str) -> str:
    try:
        return str(uuid.UUID(item))
    except ValueError as exc:
        raise FilterError(f"filter {key!r} takes document ids (UUIDs)") from exc


def _lower(key: str, item: str) -> str:
    return item.strip().lower()


def _moment(key: str, value) -> datetime.datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise FilterError(f"filter {key!r} takes an ISO 8601 date or date-time")
    try:
        moment = parse_datetime(value)
        day = parse_date(value) if moment is None and "T" not in value else None
    except ValueError:
        moment = day = None
    if moment is None and day is None:
        raise FilterError(f"filter {key!r} takes an ISO 8601 date or date-time")
    moment = moment or datetime.datetime.combine(day, datetime.time.min)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


PARSERS = {
    "documents": lambda key, value: _strings(key, value, check=_uuid),
    "tags": lambda key, value: _strings(key, value, check=_lower),
    "file_types": lambda key, value: _strings(key, value, check=_lower),
    "uploaded_after": _moment,
    "uploaded_before": _moment,
}


def filters_parse(raw) -> SearchFilters:
    if raw is None:
        return SearchFilters()
    if not isinstance(raw, dict):
        raise FilterError("filters must be an object")
    unknown = [key for key in raw if key not in PARSERS]
    if unknown:
        shown = ", ".join(repr(str(key)[:40]) for key in unknown[:5])
        raise FilterError(f"unknown filter {shown}; allowed: {', '.join(PARSERS)}")
    return SearchFilters(**{key: PARSERS[key](key, value) for key, value in raw.items() if value is not None})
