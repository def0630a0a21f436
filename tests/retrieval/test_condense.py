"""Follow-up questions become standalone queries: by the LLM when its rewrite is sound, by key words otherwise."""

import re

import pytest

from inference.client import Generation
from inference.errors import LlmError
from retrieval import condense
from retrieval.condense import query_condense
from tests.processes import llama_server

HISTORY = [
    {"role": "user", "content": "What is the incubation period of MERS coronavirus?"},
    {"role": "assistant", "content": "About five days [1]."},
]


def test_a_first_question_is_left_alone():
    assert query_condense("What is MERS?", []).method == "unchanged"


def test_a_question_that_stands_on_its_own_is_left_alone():
    condensed = query_condense("Which vaccines protect against measles outbreaks?", HISTORY)

    assert condensed.standalone == condensed.original
    assert condensed.method == "unchanged"


def test_without_an_llm_the_previous_question_lends_its_key_words(settings):
    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens there

    condensed = query_condense("And how long does it last?", HISTORY)

    assert condensed.method == "keywords"
    assert condensed.original == "And how long does it last?"
    assert condensed.standalone.startswith("And how long does it last?")
    assert {"incubation", "mers", "coronavirus"} <= set(re.findall(r"\w+", condensed.standalone.lower()))


def test_a_sound_llm_rewrite_is_used(monkeypatch):
    monkeypatch.setattr(
        condense, "chat_complete", lambda *a, **k: Generation(text="How long does the MERS incubation period last?")
    )

    condensed = query_condense("How long does it last?", HISTORY)

    assert condensed == condense.CondensedQuery(
        original="How long does it last?", standalone="How long does the MERS incubation period last?", method="llm"
    )


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "How long does it last?",  # nothing resolved
        "Sure! Here is the rewritten question:\nHow long is MERS incubation?",
        "MERS " * 200,
        "What is the capital of France?",  # lost the question
    ],
)
def test_an_unsound_llm_rewrite_falls_back_to_key_words(monkeypatch, reply):
    monkeypatch.setattr(condense, "chat_complete", lambda *a, **k: Generation(text=reply))

    assert query_condense("How long does it last?", HISTORY).method == "keywords"


def test_an_llm_error_falls_back_to_key_words(monkeypatch):
    def fail(*args, **kwargs):
        raise LlmError("ReadTimeout")

    monkeypatch.setattr(condense, "chat_complete", fail)

    assert query_condense("How long does it last?", HISTORY).method == "keywords"


def test_odd_history_entries_are_ignored():
    history = [{"role": "system", "content": "x"}, {"role": "user"}, "text", {"role": "user", "content": 5}]

    assert query_condense("And it?", history).method == "unchanged"


def test_the_embedded_llm_condenses_or_the_fallback_takes_over(settings):
    """Against the real bundled model: whichever path wins, the follow-up carries its context."""
    with llama_server() as base_url:
        settings.LLM_BASE_URL = base_url
        condensed = query_condense("How long does it last?", HISTORY)

    assert condensed.method in {"llm", "keywords"}
    assert "mers" in condensed.standalone.lower() or "incubation" in condensed.standalone.lower()
