"""manage.py evaluate_retrieval on a tiny BEIR folder: ingests through the pipeline, prints one row per method."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from evaluation.models import EvaluationRun

pytestmark = pytest.mark.django_db

ARTICLES = [
    ("d1", "Cats", "Domestic cats sleep sixteen hours a day. They hunt mice at dawn and dusk."),
    ("d2", "Taxes", "The quarterly VAT return is due thirty days after the quarter ends."),
    ("d3", "Volcanoes", "Basaltic lava flows from shield volcanoes such as Mauna Loa in Hawaii."),
]
QUERIES = [
    ("q1", "How many hours do cats sleep?", "d1", "sixteen hours"),
    ("q2", "When is the VAT return due?", "d2", "thirty days"),
    ("q3", "Which volcano in Hawaii has basaltic lava?", "d3", "Mauna Loa"),
]


@pytest.fixture
def folder(tmp_path):
    lines = [json.dumps({"_id": i, "title": t, "text": x}) for i, t, x in ARTICLES]
    (tmp_path / "corpus.jsonl").write_text("\n".join(lines))
    (tmp_path / "queries.jsonl").write_text("\n".join(json.dumps({"_id": q, "text": t}) for q, t, _, _ in QUERIES))
    (tmp_path / "qrels.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, _, d, _ in QUERIES)
    )
    answers = [json.dumps({"query_id": q, "doc_id": d, "answers": [a]}) for q, _, d, a in QUERIES]
    (tmp_path / "answers.jsonl").write_text("\n".join(answers))
    return tmp_path


def _rows(output: str) -> dict[str, dict[str, float]]:
    lines = [line for line in output.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header[1:], map(float, cells[1:]), strict=True))
    return rows


def test_it_prints_every_method_side_by_side(folder, tmp_path):
    out = io.StringIO()

    call_command(
        "evaluate_retrieval",
        str(folder),
        "--tenant",
        "eval_tiny",
        "--report",
        str(tmp_path / "retrieval.html"),
        stdout=out,
        stderr=io.StringIO(),
    )

    rows = _rows(out.getvalue())
    assert list(rows) == ["dense", "full-text", "hybrid", "hybrid+rerank (term-coverage)"]
    for metrics in rows.values():
        assert metrics["R@1"] == metrics["MRR@10"] == metrics["nDCG@10"] == 1.0
        assert metrics["Hit@1"] == 1.0
    stored = EvaluationRun.objects.get(kind="retrieval").metrics.filter(name="nDCG@10")
    assert {m.category: m.value for m in stored} == dict.fromkeys(rows, 1.0)
    assert "hybrid+rerank (term-coverage)" in (tmp_path / "retrieval.html").read_text()


def test_a_second_run_reuses_the_ingested_tenant(folder):
    def run() -> str:
        err = io.StringIO()
        call_command(
            "evaluate_retrieval",
            str(folder),
            "--tenant",
            "eval_tiny",
            "--methods",
            "dense",
            stdout=io.StringIO(),
            stderr=err,
        )
        return err.getvalue()

    assert "ingesting 3 documents" in run()
    assert "reusing tenant eval_tiny" in run()


def test_a_folder_without_a_corpus_is_refused(tmp_path):
    with pytest.raises(CommandError):
        call_command("evaluate_retrieval", str(tmp_path))
