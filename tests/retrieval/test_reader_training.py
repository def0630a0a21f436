"""Training the reader: a tiny run on the committed slice of reader-train trains, resumes and exports to ONNX.

A few steps only: this checks that the command reproduces an artifact of the shipped kind, not its quality."""

import json

import numpy as np
import pytest
import torch
from django.conf import settings
from django.core.management import CommandError, call_command

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


def test_int8_weights_dequantize_to_the_trained_ones_and_a_run_goes_on_from_them_at_the_cards_step(tmp_path):
    from retrieval import encoder_training
    from retrieval.reader import MODEL_FILE

    first, second = tmp_path / "first", tmp_path / "second"
    call_command("train_reader", folder=SLICE, out=first, max_steps=2, batch_size=8, limit=48, heldout_questions=8)
    started = json.loads((first / "card.json").read_text())
    trained = torch.load(first / "reader.pt", weights_only=True)
    dequantized = encoder_training.weights_from_int8(first / "reader.int8.onnx")
    for name, weight in trained.items():
        if name.startswith("encoder.pooler.") or name.endswith("position_ids"):
            continue  # the export leaves out what the head does not read
        step = float(weight.abs().max()) / 127  # one int8 step, symmetric or not
        assert np.abs(dequantized[name] - weight.numpy()).max() <= step + 1e-7, name
    encoder_training.classifier_from_int8(MODEL_FILE, len(train.HEADS), frozen=encoder_training.FROZEN)

    call_command(
        "train_reader",
        folder=SLICE,
        out=second,
        continue_from=first,
        max_steps=4,
        batch_size=8,
        limit=48,
        heldout_questions=8,
    )

    card = json.loads((second / "card.json").read_text())
    assert card["training"]["steps"] == 4
    assert card["training"]["continued_from_sha256"] == started["sha256"]
    assert card["training"]["schedules"] == [{"from_step": 0, "total": 2}, {"from_step": 2, "total": 4}]


def test_a_reader_trained_otherwise_is_not_continued(tmp_path):
    from retrieval.reader_check import MODEL_DIR  # trained on the whole corpus, 32 pairs a batch

    with pytest.raises(CommandError, match="batch_size, data"):
        call_command(
            "train_reader", folder=SLICE, out=tmp_path, continue_from=MODEL_DIR, max_steps=2, batch_size=8, limit=48
        )
    assert not (tmp_path / "checkpoint.pt").exists()
