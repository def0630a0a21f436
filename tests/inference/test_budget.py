"""Fitting system prompt, history, passages and question into the context window."""

import pytest

from inference.budget import check_fits, count_tokens, fit
from inference.errors import ContextTooLong

SYSTEM = "Answer from the numbered passages only."


def test_everything_fits_when_there_is_room():
    fitted = fit(
        system=SYSTEM,
        question="What is due?",
        passages=["p1", "p2"],
        history=[{"role": "user", "content": "hi"}],
        max_tokens=100,
        context_tokens=4000,
    )

    assert fitted.passages == ["p1", "p2"] and fitted.dropped_passages == [] and fitted.dropped_turns == 0


def test_the_least_relevant_passages_go_first_then_the_oldest_turns():
    passages = ["best " * 40, "second " * 40, "third " * 400]
    history = [{"role": "user", "content": "old " * 200}, {"role": "user", "content": "recent"}]

    fitted = fit(system=SYSTEM, question="Q?", passages=passages, history=history, max_tokens=100, context_tokens=400)

    assert fitted.passages == passages[:2] and fitted.dropped_passages == [2]
    assert fitted.history == [history[1]] and fitted.dropped_turns == 1
    assert fitted.prompt_tokens + 100 <= 400


def test_no_room_for_the_question_is_context_too_long():
    with pytest.raises(ContextTooLong):
        fit(system=SYSTEM, question="why " * 2000, passages=[], history=[], max_tokens=100, context_tokens=1000)


def test_check_fits_counts_prompt_and_answer():
    messages = [{"role": "user", "content": "hello " * 100}]
    prompt = check_fits(messages, max_tokens=10, context_tokens=10_000)

    assert prompt > count_tokens("hello " * 100)
    with pytest.raises(ContextTooLong):
        check_fits(messages, max_tokens=10_000 - prompt + 1, context_tokens=10_000)


def test_the_kept_passages_are_always_the_most_relevant_prefix():
    passages = ["best " * 10, "huge " * 1000, "small"]

    fitted = fit(system=SYSTEM, question="Q?", passages=passages, history=[], max_tokens=100, context_tokens=600)

    assert fitted.passages == passages[:1] and fitted.dropped_passages == [1, 2]
