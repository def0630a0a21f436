"""Training the reader: a tiny run on the committed slice of reader-train trains, resumes and exports to ONNX.

A few steps only: this checks that the command reproduces an artifact of the shipped kind, not its quality."""

import json

from django.conf import settings
from django.core.management import call_command

from retrieval import encoders
from retrieval.reader import data, train

SLICE = settings.ENCLAVE_CORPORA_DIR / "reader-train"


def test_the_slice_splits_by_article_and_every_answerable_example_has_its_gold_sentence():
    rows = data.read_rows(SLICE / "qa.jsonl")
    sides = {}
    for row in rows:
        sides.setdefault(data.group_of(row), set()).add(data.split_of(row))
    examples = data.examples_build(rows, seed=1)

    assert all(len(found) == 1 for found in sides.values())
    assert {e.holds for e in examples} == {0, 1} and {e.answers for e in examples} == {0, 1}
    assert all(e.answers for e in examples if e.holds)


def test_a_tiny_reader_trains_on_the_slice_and_exports_to_int8_onnx_matching_its_card(tmp_path):
    out = tmp_path / "run"

    call_command("train_reader", folder=SLICE, out=out, max_steps=3, batch_size=8, limit=48, heldout_questions=8)

    card = json.loads((out / "card.json").read_text())
    assert card["sha256"] == encoders.file_sha256(out / "reader.int8.onnx")
    assert card["training"]["steps"] == 3 and card["hyperparameters"]["seed"] == 2026
    assert card["data"]["qa.jsonl"] == encoders.file_sha256(SLICE / "qa.jsonl")
    assert "top1_sentence" in card["metrics"]["test"]
    scorer = encoders.pair_encoder(out / "reader.int8.onnx", out / "card.json")
    assert scorer.run(["What is checked?"], ["The sha256 is checked. [SEP]"]).shape == (1, 2)


def test_a_stopped_training_run_resumes_at_its_last_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(train, "CHECKPOINT_STEPS", 1)
    examples = data.examples_build(data.read_rows(SLICE / "qa.jsonl"), seed=1)[:24]
    said = []

    train.train(examples, tmp_path, train.Settings(max_steps=2, batch_size=8), progress=said.append)
    run = train.train(examples, tmp_path, train.Settings(max_steps=3, batch_size=8), progress=said.append)

    assert "resumed at step 2 of 3" in said and run["steps"] == 3
