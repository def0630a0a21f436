"""The committed reader: it loads only when it matches its card, and it reads."""

import shutil

import pytest

from retrieval import encoders, reader


def test_the_committed_reader_matches_the_sha256_and_records_of_its_card():
    card = reader.card()

    assert card["sha256"] == encoders.file_sha256(reader.MODEL_FILE)
    assert card["tokenizer_sha256"] == encoders.file_sha256(reader.MODEL_DIR / "tokenizer.json")
    assert card["data"]["qa.jsonl"] and card["hyperparameters"]["seed"] and card["hyperparameters"]["max_tokens"]
    assert {"top1_sentence", "answerability_auc_answers"} <= set(card["metrics"]["test"])


def test_a_model_file_that_does_not_match_its_card_is_refused(tmp_path):
    for name in ("reader.int8.onnx", "card.json", "tokenizer.json"):
        shutil.copy(reader.MODEL_DIR / name, tmp_path / name)
    with open(tmp_path / "reader.int8.onnx", "r+b") as handle:
        handle.seek(-64, 2)
        byte = handle.read(1)
        handle.seek(-64, 2)
        handle.write(bytes([byte[0] ^ 0xFF]))

    with pytest.raises(encoders.ArtifactMismatch, match="sha256"):
        encoders.pair_encoder(tmp_path / "reader.int8.onnx", tmp_path / "card.json")


def test_a_missing_model_file_is_refused(tmp_path):
    with pytest.raises(encoders.ArtifactMismatch, match="missing"):
        encoders.artifact_check(tmp_path / "reader.int8.onnx", tmp_path / "card.json")


def test_the_reader_finds_the_sentence_that_answers_among_its_neighbours():
    question = "How many days of paid leave do new employees get each year?"
    sentences = [
        "Leave requests are submitted through the HR portal at least two weeks in advance.",
        "New employees receive 25 days of paid leave per calendar year.",
        "Unused leave can be carried over until the end of March.",
        "The HR portal also lists public holidays for each office.",
    ]
    items = [(s, " ".join(sentences[max(0, i - 1) : i] + sentences[i + 1 : i + 2])) for i, s in enumerate(sentences)]

    probabilities = reader.probabilities(question, items)

    assert probabilities.shape == (4, 2)
    assert int(probabilities[:, 0].argmax()) == 1


def test_the_reader_reads_nothing_when_there_is_nothing_to_read():
    assert reader.probabilities("anything?", []).shape == (0, 2)
