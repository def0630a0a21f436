"""Filters are parsed against a whitelist and become fixed SQL fragments: values only ever travel as parameters."""

import datetime

import pytest

from retrieval.filters import FilterError, filters_parse

DOC = "0b7a4a9c-2f1e-4c1a-9c55-6f4a7c1d2e3f"


def test_every_allowed_filter_becomes_placeholders_only():
    filters = filters_parse(
        {
            "documents": [DOC],
            "tags": ["Finance", "x') OR '1'='1"],
            "file_types": ["PDF"],
            "uploaded_after": "2024-01-01",
            "uploaded_before": "2024-06-01T12:00:00+02:00",
        }
    )

    sql, params = filters.sql()

    assert "'1'='1" not in sql and "finance" not in sql and DOC not in sql
    assert sql.count("%s") == len(params) == 5
    assert params[0] == [DOC]
    assert params[1] == ["finance", "x') or '1'='1"]
    assert params[2] == ["pdf"]
    assert params[3] == datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    assert params[4].utcoffset() == datetime.timedelta(hours=2)


def test_no_filters_add_nothing():
    assert filters_parse(None).sql() == ("", [])
    assert filters_parse({}).sql() == ("", [])


@pytest.mark.parametrize(
    "raw",
    [
        {"x') OR '1'='1": "a"},
        {"title": "a"},
        {"documents": ["not-a-uuid"]},
        {"documents": [1]},
        {"tags": 1.5},
        {"tags": [True]},
        {"tags": [{"a": 1}]},
        {"tags": ["a"] * 101},
        {"uploaded_after": "2024-02-30"},
        {"uploaded_after": "x" * 50},
        [],
        "documents",
    ],
)
def test_anything_else_is_refused(raw):
    with pytest.raises(FilterError) as raised:
        filters_parse(raw)
    assert raised.value.status_code == 400
