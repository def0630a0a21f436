"""A question about an article that is not uploaded, while a sibling article on the same subject is, abstains
rather than quoting the sibling; once its article is uploaded the same question is answered with a quote from
it. The real answer loop over covid-qa-dev articles (real ingestion, embeddings, search and evidence scorers).
Moderation is not under test (rules only); the quote is shown at once (no model asked).

The default scorer (`features`) does both. The reader scorer abstains beside the sibling too; at 1,800 steps
it also abstained once the article was there (answerability 0.29 = holds 0.34 x answers 0.85, under its
0.425 then), one reason it is not the default (docs/benchmarks.md, "The reader")."""

import json

import pytest
from django.conf import settings
from django_tenants.utils import schema_context

from chat.answer import Turn, answer_collect, answer_events
from chat.conversations.selectors import trace_of
from chat.conversations.services import conversation_create
from chat.models import Message
from evaluation.retrieval import corpus_ids_by_document, corpus_ingest
from tenants.accounts.selectors import user_principals

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

SIBLING, ARTICLE = "2554", "2555"  # transmission in Wuhan; back-calculating infections on the Diamond Princess
# covid-qa-dev question 549 (odd-numbered: the reader never trained on it); its gold answer holds "199".
QUESTION = "How many COVID-19 cases were confirmed on the Diamond Princess cruise ship?"
ANSWER_WORDS = ("199",)


@pytest.fixture
def scratch(tenant_a, settings):
    settings.ENCLAVE_SAFETY_CLASSIFIER = "rules"
    settings.ENCLAVE_QUOTE_SCORE = 0.0
    return tenant_a


def articles(*ids: str) -> list[dict]:
    lines = (settings.ENCLAVE_CORPORA_DIR / "covid-qa-dev" / "corpus.jsonl").read_text().splitlines()
    found = {a["_id"]: a for a in map(json.loads, lines)}
    return [found[i] for i in ids]


def ask(scratch, question: str) -> dict:
    with schema_context(scratch.tenant.schema_name):
        conversation = conversation_create(tenant=scratch.tenant, user=scratch.admin, title="t")
        turn = Turn(scratch.tenant, conversation, scratch.admin, user_principals(user=scratch.admin), question)
        return answer_collect(answer_events(turn))


def test_a_question_about_a_missing_article_abstains_beside_its_sibling_and_is_answered_once_it_is_uploaded(scratch):
    with schema_context(scratch.tenant.schema_name):
        corpus_ingest(tenant=scratch.tenant, user=scratch.admin, corpus=articles(SIBLING))

    before = ask(scratch, QUESTION)

    assert before["message"]["status"] == "abstained", before["message"]["text"]

    with schema_context(scratch.tenant.schema_name):
        corpus_ingest(tenant=scratch.tenant, user=scratch.admin, corpus=articles(ARTICLE))

    after = ask(scratch, QUESTION)

    message = after["message"]
    assert message["status"] == "complete" and message["kind"] == "extractive", message["text"]
    assert all(word in message["text"] for word in ANSWER_WORDS)
    with schema_context(scratch.tenant.schema_name):
        article_of = corpus_ids_by_document()
    assert message["citations"] and {article_of[c["document_id"]] for c in message["citations"]} == {ARTICLE}


def test_the_reader_scorer_abstains_beside_the_sibling_records_what_it_read_and_answers_once_uploaded(
    scratch, settings
):
    settings.ENCLAVE_EVIDENCE_SCORER = "reader"
    with schema_context(scratch.tenant.schema_name):
        corpus_ingest(tenant=scratch.tenant, user=scratch.admin, corpus=articles(SIBLING))

    result = ask(scratch, QUESTION)

    assert result["message"]["status"] == "abstained", result["message"]["text"]
    with schema_context(scratch.tenant.schema_name):
        trace = trace_of(tenant=scratch.tenant, message=Message.objects.get(public_id=result["message"]["id"]))
    assert trace["weak_evidence"] and trace["evidence"]
    assert set(trace["evidence"][0]["features"]) == {"holds", "answers", "lexical", "rank"}

    with schema_context(scratch.tenant.schema_name):
        corpus_ingest(tenant=scratch.tenant, user=scratch.admin, corpus=articles(ARTICLE))

    message = ask(scratch, QUESTION)["message"]

    assert message["status"] == "complete" and message["kind"] == "extractive", message["text"]
    assert all(word in message["text"] for word in ANSWER_WORDS)
