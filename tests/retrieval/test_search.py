"""The search service: ranking, ACLs inside SQL, filters, pagination, highlights, diversity."""

import pytest
from django_tenants.utils import schema_context

from retrieval.filters import filters_parse
from retrieval.search import SearchError, search
from tenants.accounts.selectors import EVERYONE
from tests.retrieval.conftest import group_principal, plant, user_principals

pytestmark = pytest.mark.django_db

SECRET_WORDS = "Zanzibar merger acquisition price"


def run(world, query, principals, **options):
    with schema_context(world.tenant.schema_name):
        return search(query, principals=principals, **options)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_the_passage_that_answers_comes_first(tenant_a, library, mode):
    outcome = run(tenant_a, "When is the VAT return due at the tax office?", [EVERYONE], mode=mode)

    assert outcome.passages[0].document_id == library["taxes"]
    assert outcome.passages[0].title == "taxes"
    assert outcome.passages[0].page == 1


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_a_group_only_chunk_never_reaches_a_user_outside_the_group(tenant_a, library, mode, full_text_path):
    legal = user_principals(tenant_a, tenant_a.legal)

    outcome = run(tenant_a, SECRET_WORDS, legal, mode=mode, limit=50)

    assert library["secret"] not in [p.document_id for p in outcome.passages]
    assert all("Zanzibar" not in p.text for p in outcome.passages)
    assert all("Zanzibar" not in f["text"] for p in outcome.passages for f in p.highlights)
    assert outcome.total == len(outcome.candidates)
    assert library["secret"] not in {c["chunk_id"] for c in outcome.candidates}


def test_the_group_member_finds_it(tenant_a, library):
    finance = user_principals(tenant_a, tenant_a.finance)

    outcome = run(tenant_a, SECRET_WORDS, finance)

    assert outcome.passages[0].document_id == library["secret"]
    assert outcome.passages[0].highlights


def test_hidden_chunks_do_not_change_what_an_outsider_sees(tenant_a, library, full_text_path):
    """Not returned, and not influencing either: ranks, scores and counts are the same without them."""
    legal = user_principals(tenant_a, tenant_a.legal)
    query = "contract offer acceptance tax return"
    before = run(tenant_a, query, legal, limit=20)

    plant(
        tenant_a,
        [f"Contract offer acceptance tax return, confidential variant {n}." for n in range(30)],
        acl=[group_principal(tenant_a.finance_group)],
    )
    after = run(tenant_a, query, legal, limit=20)

    assert [(p.chunk_id, p.scores) for p in after.passages] == [(p.chunk_id, p.scores) for p in before.passages]
    assert after.total == before.total


def test_a_selective_acl_still_gets_all_its_nearest_chunks(tenant_a):
    """Iterative index scans: the few chunks a user may read are found even when thousands are closer."""
    plant(tenant_a, [f"Quarterly revenue report for region {n}, figures and forecasts." for n in range(300)])
    mine = plant(
        tenant_a,
        [f"Holiday rota for the legal team, week {n}." for n in range(5)],
        acl=[group_principal(tenant_a.legal_group)],
    )
    legal_only = [group_principal(tenant_a.legal_group)]

    outcome = run(tenant_a, "quarterly revenue report figures", legal_only, mode="dense", limit=10)

    assert [p.document_id for p in outcome.passages] == [mine] * 5


def test_pages_do_not_overlap_and_share_one_count(tenant_a):
    plant(tenant_a, [f"Invoice number {n} for office chairs and desks." for n in range(25)])

    first = run(tenant_a, "invoice office chairs", [EVERYONE], limit=10, offset=0)
    second = run(tenant_a, "invoice office chairs", [EVERYONE], limit=10, offset=10)
    beyond = run(tenant_a, "invoice office chairs", [EVERYONE], limit=10, offset=first.total)

    assert len(first.passages) == len(second.passages) == 10
    assert not {p.chunk_id for p in first.passages} & {p.chunk_id for p in second.passages}
    assert first.total == second.total >= 25
    assert beyond.passages == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"tags": ["legal"]}, {"contracts"}),
        ({"tags": ["TAX", "animals"]}, {"taxes", "cats"}),
        ({"file_types": ["pdf", "docx"]}, {"taxes", "contracts"}),
        ({"uploaded_before": "2025-01-01"}, {"contracts"}),
        ({"uploaded_after": "2025-01-01T00:00:00Z"}, {"cats", "taxes"}),
    ],
)
def test_metadata_filters_narrow_the_results(tenant_a, library, filters, expected):
    outcome = run(tenant_a, "cats tax contract", [EVERYONE], filters=filters_parse(filters), limit=50)

    names = {name for name, document_id in library.items() if document_id in {p.document_id for p in outcome.passages}}
    assert names == expected


def test_a_document_filter_cannot_open_a_hidden_document(tenant_a, library, full_text_path):
    legal = user_principals(tenant_a, tenant_a.legal)

    outcome = run(tenant_a, SECRET_WORDS, legal, filters=filters_parse({"documents": [library["secret"]]}))

    assert outcome.passages == [] and outcome.total == 0


def test_highlights_mark_the_query_words(tenant_a, library):
    outcome = run(tenant_a, "sleeping cats", [EVERYONE])

    fragment = outcome.passages[0].highlights[0]
    marked = [fragment["text"][start:end].lower() for start, end in fragment["matches"]]
    assert "cats" in marked and "sleep" in marked
    assert "\x02" not in fragment["text"] and "\x03" not in fragment["text"]


def test_diversify_skips_near_duplicates(tenant_a):
    plant(tenant_a, [f"Minutes of staff meeting {n} about parking spaces and the canteen." for n in range(20)])
    plant(tenant_a, ["Solar panels convert sunlight into electricity for the building."], title="a")
    plant(tenant_a, ["Solar panels convert sunlight into electricity for the building!"], title="b")
    plant(tenant_a, ["Wind turbines on the roof add electricity on cloudy days."], title="c")

    plain = run(tenant_a, "solar panels electricity", [EVERYONE], limit=2)
    diverse = run(tenant_a, "solar panels electricity", [EVERYONE], limit=2, diversify=True)

    assert {p.title for p in plain.passages} == {"a", "b"}
    assert {p.title for p in diverse.passages} == {"a", "c"} or {p.title for p in diverse.passages} == {"b", "c"}


def test_search_refuses_to_run_outside_a_tenant(tenant_a, library):
    with pytest.raises(SearchError):
        search("cats", principals=[EVERYONE])


@pytest.mark.parametrize(
    ("query", "principals", "options"),
    [("", [EVERYONE], {}), ("cats", [], {}), ("x" * 2001, [EVERYONE], {}), ("cats", [EVERYONE], {"mode": "magic"})],
)
def test_bad_searches_are_refused(tenant_a, query, principals, options):
    with pytest.raises(SearchError):
        run(tenant_a, query, principals, **options)


def test_a_query_of_stopwords_only_still_answers_by_meaning(tenant_a, library):
    outcome = run(tenant_a, "what is it that they do", [EVERYONE])

    assert outcome.total > 0
    assert all(c["lexical_rank"] is None for c in outcome.candidates)
