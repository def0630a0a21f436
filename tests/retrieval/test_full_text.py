"""Full-text matching: how a question's stems become tsqueries, and odd characters."""

import math

import pytest
from django_tenants.utils import schema_context

from retrieval import sql
from retrieval.search import search
from retrieval.sql import lexical_query
from tenants.accounts.selectors import EVERYONE
from tests.retrieval.conftest import group_principal, plant, user_principals


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
    long_question = lexical_query([f"stem{n:02d}" for n in range(20)])
    assert len(long_question.stems) == sql.MAX_QUERY_STEMS
    assert long_question.levels[0].count("(") == math.comb(sql.MATCH_STEMS, -(-sql.MATCH_STEMS * 3 // 4))


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


@pytest.mark.django_db
def test_both_paths_rank_alike_and_the_indexed_one_may_stop_early(tenant_a, monkeypatch):
    plant(tenant_a, [f"Invoice {n}: office chairs, desks and lamps for the Berlin site." for n in range(40)])
    plant(tenant_a, [f"Lamps {n} for the Berlin office." for n in range(10)])
    plant(tenant_a, ["Desks and chairs are cleaned weekly."])

    def ranked():
        with schema_context(tenant_a.tenant.schema_name):
            outcome = search("office chairs desks lamps Berlin", principals=[EVERYONE], mode="lexical", limit=50)
        return [(p.chunk_id, p.scores["lexical"]) for p in outcome.passages]

    visible_scan = ranked()
    monkeypatch.setattr(sql, "FEW_VISIBLE", 0)
    indexed = ranked()

    assert len(visible_scan) == 50
    assert 25 <= len(indexed) <= 50
    assert indexed == visible_scan[: len(indexed)]  # it may stop early, at rows holding more stems


@pytest.mark.django_db
def test_a_group_only_chunk_stays_hidden_on_both_paths(tenant_a, full_text_path):
    plant(tenant_a, ["Zanzibar merger price approved."], acl=[group_principal(tenant_a.finance_group)])
    plant(tenant_a, ["The merger of the two sports clubs was approved."])
    legal = user_principals(tenant_a, tenant_a.legal)
    finance = user_principals(tenant_a, tenant_a.finance)

    with schema_context(tenant_a.tenant.schema_name):
        outsider = search("Zanzibar merger price", principals=legal, mode="lexical")
        member = search("Zanzibar merger price", principals=finance, mode="lexical")

    assert [p.text for p in outsider.passages] == ["The merger of the two sports clubs was approved."]
    assert outsider.total == 1
    assert member.passages[0].text == "Zanzibar merger price approved."
