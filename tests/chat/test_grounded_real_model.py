"""The three failures users met, rebuilt from covid-qa-dev articles, against the real answer loop and the
real bundled model: a number its passage does not hold, uncited invented sentences, and an abstention
although an article on the subject is indexed. The model's words are never asserted; what is asserted
holds for any draft: every shown sentence cites a passage that carries its numbers and its words.

Moderation is not under test here, so the rules classifier screens (ENCLAVE_SAFETY_CLASSIFIER=rules):
the embedded classifier's false positives on biomedical text (issue #14) stopped a draft in CI, and
llama.cpp's reuse of cached prompts makes the draft differ between runs."""

import json
import re

import pytest
from django_tenants.utils import schema_context

from chat.answer import Turn, answer_collect, answer_events
from chat.conversations.services import conversation_create
from evaluation.retrieval import corpus_ingest
from tenants.accounts.selectors import user_principals
from tests.processes import llama_server

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

ARTICLES = ("1689", "1561", "2555")  # chikungunya; RANBP2 and coronaviruses; the Diamond Princess outbreak
CHIKUNGUNYA = "1689"
WORD = re.compile(r"[a-z0-9]+")
NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
SHOWN_SENTENCE = re.compile(r"\u201c.+?\u201d(?:\s*\[\d+\])*|.+?[.!?\u201d](?:\s*\[\d+\])*(?=\s|$)", re.S)
FILLER_WORDS = "a an the of in on to and or is are was were be by for with as at from that this it its"
FILLER = frozenset(FILLER_WORDS.split())


@pytest.fixture(scope="module")
def engine_url():
    with llama_server() as url:
        yield url


@pytest.fixture
def indexed(tenant_a, engine_url, settings):
    settings.LLM_BASE_URL = engine_url
    settings.ENCLAVE_SAFETY_CLASSIFIER = "rules"
    settings.ENCLAVE_QUOTE_SCORE = 1.0  # the model drafts every answer: its drafts are what is checked
    settings.ENCLAVE_LLM_REQUESTS_PER_MINUTE = 1_000_000
    settings.ENCLAVE_LLM_REQUESTS_PER_USER_PER_MINUTE = 1_000_000
    lines = (settings.ENCLAVE_CORPORA_DIR / "covid-qa-dev" / "corpus.jsonl").read_text().splitlines()
    articles = [a for a in map(json.loads, lines) if a["_id"] in ARTICLES]
    with schema_context(tenant_a.tenant.schema_name):
        corpus_ingest(tenant=tenant_a.tenant, user=tenant_a.admin, corpus=articles)
    return tenant_a


def ask(world, question: str) -> dict:
    with schema_context(world.tenant.schema_name):
        conversation = conversation_create(tenant=world.tenant, user=world.legal, title="t")
        turn = Turn(world.tenant, conversation, world.legal, user_principals(user=world.legal), question)
        return answer_collect(answer_events(turn))


def shown_sentences(message: dict) -> list[str]:
    body = message["text"].removesuffix(message["note"]).strip()
    return [s.strip() for s in SHOWN_SENTENCE.findall(body)]


def independently_supported(sentence: str, sources: list[dict]) -> bool:
    """Checked without the product's checker: a cited passage holds every number and 70% of the words."""
    cited = [int(n) for n in re.findall(r"\[(\d+)\]", sentence)]
    claim = re.sub(r"\[\d+\]", "", sentence)
    words = {w for w in WORD.findall(claim.lower()) if w not in FILLER and not w.isdigit()}
    for number in cited:
        passage = sources[number - 1]["text"]
        held = set(WORD.findall(passage.lower()))
        numbers_held = all(n.replace(",", "") in passage.replace(",", "") for n in NUMBER.findall(claim))
        if numbers_held and len(words & held) >= 0.7 * len(words):
            return True
    return False


def assert_every_sentence_cited_and_supported(result: dict) -> None:
    message = result["message"]
    for sentence in shown_sentences(message):
        assert re.search(r"\[\d+\]", sentence), f"an uncited sentence was shown: {sentence!r}"
        assert independently_supported(sentence, result["sources"]), f"unsupported sentence shown: {sentence!r}"


def test_a_counting_question_shows_no_number_its_cited_passage_lacks(indexed):
    result = ask(indexed, "How many genotypes of CHIKV have been isolated?")

    assert result["message"]["status"] == "complete"
    assert_every_sentence_cited_and_supported(result)


def test_an_open_question_shows_no_uncited_or_unsupported_sentence(indexed):
    result = ask(indexed, "How is chikungunya virus transmitted to humans?")

    assert result["message"]["status"] in {"complete", "abstained"}
    assert_every_sentence_cited_and_supported(result)


@pytest.mark.parametrize("quote_score", [1.0, 0.25], ids=["drafted", "quoted-when-strong"])
def test_a_definition_question_about_an_indexed_subject_is_answered_not_abstained(indexed, settings, quote_score):
    settings.ENCLAVE_QUOTE_SCORE = quote_score

    result = ask(indexed, "What is CHIKV?")

    message = result["message"]
    assert message["status"] == "complete" and message["kind"] in {"generated", "extractive"}
    assert_every_sentence_cited_and_supported(result)
    cited_titles = {result["sources"][c["number"] - 1]["title"] for c in message["citations"]}
    assert cited_titles and all(CHIKUNGUNYA in title for title in cited_titles)  # articles are titled by id


def test_removed_sentences_fail_the_check_they_were_removed_for(indexed):
    from chat.answer import support
    from chat.conversations.selectors import trace_of
    from chat.models import Message

    ask(indexed, "What is the incubation period of chikungunya?")

    with schema_context(indexed.tenant.schema_name):
        answer = Message.objects.filter(role="assistant").latest("created_at")
        trace = trace_of(tenant=indexed.tenant, message=answer)
    passages = {c["chunk_id"] for c in trace["candidates"]}
    assert passages  # the question found the article
    for removed in trace["removed_sentences"]:
        assert removed["reason"]
        assert not any(support.support(removed["sentence"], e["sentence"]).ok for e in trace["evidence"]), (
            "a sentence the evidence supports was removed"
        )
