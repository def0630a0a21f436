"""manage.py evaluate_answers on a tiny BEIR folder, with a scripted model."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from evaluation import answers as evaluation
from evaluation.models import EvaluationRun
from tests.retrieval.test_evaluate_command import folder  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _rows(output: str) -> dict[str, str]:
    table = [line for line in output.splitlines() if line.startswith("|")][2:]
    return {cells[0].strip(): cells[1].strip() for line in table for cells in [line.strip("|").split("|")]}


def test_it_reports_what_users_see_on_answerable_and_unanswerable_questions_and_no_leaks(folder, fake_llm, tmp_path):
    fake_llm.answer("The quarterly VAT return is due thirty days after the quarter ends [1]. Taxes are fun [1].")
    out = io.StringIO()

    call_command(
        "evaluate_answers",
        str(folder),
        "--tenant",
        "eval_tiny",
        "--leak-questions",
        "3",
        "--report",
        str(tmp_path / "answers.html"),
        stdout=out,
        stderr=io.StringIO(),
    )

    rows = _rows(out.getvalue())
    assert rows["answerable questions"] == "1"  # the odd-numbered half of three questions
    assert rows["correct (shown answer contains the gold answer)"] == "1.000 (1/1)"
    assert rows["generated answers: correct"] == "1.000 (1/1)"
    assert rows["supported sentences (independent check)"] == "1.000 (1/1)"  # "Taxes are fun" was never shown
    assert rows["citation precision (gold answer or gold article)"] == "1.000 (1/1)"
    assert rows["abstention on answerable questions"] == "0.000 (0/1)"
    assert rows["unanswerable questions (article not indexed)"] == "1"
    assert rows["abstention on unanswerable questions"] == "1.000 (1/1)"
    assert rows["answers or sources with their content (leaks)"] == "0"
    assert rows["abstained"] == "1.000 (1/1)"
    assert rows["prompt tokens per answer p50 / p95"].split(" / ")[0].isdigit()
    run = EvaluationRun.objects.get(kind="answers")
    stored = {(m.name, m.category): (m.value, m.n) for m in run.metrics.all()}
    assert stored[("correct", "")] == (1.0, 1) and stored[("abstention_unanswerable", "")] == (1.0, 1)
    assert stored[("diagnosis", "ok")] == (1.0, 1)
    assert run.variant == "default" and run.machine and run.dataset == folder.name
    report = (tmp_path / "answers.html").read_text()
    assert report.count("<svg") >= 2 and "default" in report[report.index("<figure id='history'>") :]

    diagnosed = io.StringIO()
    call_command("diagnose_answers", str(folder), "--tenant", "eval_tiny", stdout=diagnosed)
    # the reader's answer was right; the outsider's (who may read nothing) never had a candidate
    assert "| ok | 1 of 2 |" in diagnosed.getvalue() and "| retrieval_miss | 1 of 2 |" in diagnosed.getvalue()


@pytest.mark.parametrize(
    ("sentence", "supported"),
    [
        ("The return is due thirty days after the quarter ends [1].", True),
        ("The audit committee meets thirty days after the merger vote [1].", False),  # the gold, but other claims
        ("The return is due 45 days after the quarter ends [1].", False),  # a number the passage lacks
        ("The return is due thirty days after the quarter ends.", False),  # no citation
        ("The return is due thirty days after the quarter ends [2].", False),  # a citation to nothing
    ],
)
def test_the_independent_sentence_check(sentence, supported):
    sources = [{"text": "The quarterly VAT return is due thirty days after the quarter ends."}]
    assert evaluation.sentence_supported(sentence, sources, ["thirty days"]) is supported


def test_correct_means_the_normalised_gold_answer_is_in_the_shown_text():
    assert evaluation.contains("It is due Thirty  days later [1].", ["thirty days"])
    assert not evaluation.contains("It is due thirty-one days later.", ["one day"])


def test_a_quoted_evidence_sentence_is_one_shown_sentence_whatever_abbreviations_it_holds():
    body = (
        "\u201cCherian et al. found that Ae. albopictus carries it.\u201d [2] "
        "\u201cIt spread in 2006.\u201d [1] Then more."
    )

    assert evaluation.shown_sentences(body) == [
        "\u201cCherian et al. found that Ae. albopictus carries it.\u201d [2]",
        "\u201cIt spread in 2006.\u201d [1]",
        "Then more.",
    ]


def test_two_variants_are_compared_in_one_report_whose_plots_name_both(folder, fake_llm, tmp_path):
    """The variant files scripts/compare_variants uses by default, on the tiny folder."""
    fake_llm.answer("The quarterly VAT return is due thirty days after the quarter ends [1].")
    variants = Path(settings.BASE_DIR) / "evaluation" / "variants"

    call_command(
        "evaluate_answers",
        str(folder),
        "--tenant",
        "eval_tiny",
        "--no-unanswerable",
        "--variant",
        str(variants / "defaults.json"),
        "--variant",
        str(variants / "wider-evidence.json"),
        "--report",
        str(tmp_path / "comparison.html"),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )

    runs = {run.variant: run for run in EvaluationRun.objects.filter(kind="answers")}
    assert set(runs) == {"defaults", "wider evidence"}
    assert runs["wider evidence"].variant_settings == {"retrieval_pool": 100, "evidence_count": 6}
    report = (tmp_path / "comparison.html").read_text()
    figures = report.split("<figure")[1:]
    assert len(figures) >= 3  # over runs, correct by kind, diagnosis by kind, latency
    for figure in figures:
        assert "<svg" in figure and "defaults" in figure and "wider evidence" in figure
