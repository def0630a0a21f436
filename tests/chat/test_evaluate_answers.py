"""manage.py evaluate_answers on a tiny BEIR folder, with a scripted model."""

import io

import pytest
from django.core.management import call_command

from tests.retrieval.test_evaluate_command import folder  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_it_reports_answers_citations_abstentions_and_no_leaks(folder, fake_llm):
    fake_llm.answer("Domestic cats sleep sixteen hours a day [1].")
    out = io.StringIO()

    call_command(
        "evaluate_answers",
        str(folder),
        "--tenant",
        "eval_tiny",
        "--limit",
        "1",
        "--leak-questions",
        "3",
        stdout=out,
        stderr=io.StringIO(),
    )

    rows = {
        cells[0].strip(): cells[1].strip()
        for line in out.getvalue().splitlines()[2:]
        for cells in [line.strip("|").split("|")]
    }
    assert rows["questions"] == "1"
    assert rows["answer contains gold (≥ half its words)"] == "1.000 (1/1)"
    assert rows["citation precision (cites the gold article)"] == "1.000 (1/1)"
    assert rows["citation recall (cites an answer passage it was shown)"] == "1.000 (1/1)"
    assert rows["answers or sources with their content (leaks)"] == "0"
    assert rows["abstained"] == "1.000 (3/3)"
