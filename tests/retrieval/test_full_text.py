"""Full-text matching: how a question's stems become tsqueries, and odd characters."""

import pytest
from django_tenants.utils import schema_context

from retrieval.search import search
from retrieval.sql import lexical_query
from tenants.accounts.selectors import EVERYONE
from tests.retrieval.conftest import plant


def test_full_text_narrows_by_three_quarters_then_half_of_the_stems_then_any():
    query = lexical_query(["mers", "incub", "period", "o'neil"])

    assert query.stems == ["'incub'", "'mers'", "'o''neil'", "'period'"]
    assert query.levels == [
        "('incub' & 'mers' & 'o''neil') | ('incub' & 'mers' & 'period') | ('incub' & 'o''neil' & 'period') "
        "| ('mers' & 'o''neil' & 'period')",
        "('incub' & 'mers') | ('incub' & 'o''neil') | ('incub' & 'period') | ('mers' & 'o''neil') "
        "| ('mers' & 'period') | ('o''neil' & 'period')",
        "'incub' | 'mers' | 'o''neil' | 'period'",
    ]
    assert lexical_query(["mers"]).levels == ["'mers'"]
    assert lexical_query([]) is None
    assert len(lexical_query([f"stem{n}" for n in range(20)]).stems) == 6


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "finds"),
    [
        ("O'Neil's report", True),
        ("Straße 北京", True),
        ("C:\\temp\\x ' \" ; -- )", True),
        ("&|!():*<->", False),
        ("ünïcödé", False),
    ],
)
def test_odd_characters_in_a_query_are_only_words(tenant_a, query, finds):
    plant(tenant_a, ["O'Neil wrote the report about C:\\temp and the Straße in 北京."])

    with schema_context(tenant_a.tenant.schema_name):
        outcome = search(query, principals=[EVERYONE], mode="lexical")

    assert (outcome.total > 0) is finds
