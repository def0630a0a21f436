"""One encoder run per window: the harm model's session also returns the mean of two of its layers, and the
category head reads those instead of a second model's embeddings."""

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
from django.core.management import call_command

from retrieval import encoder_training, encoders
from safety.classifiers import detector
from safety.classifiers.embedded import EmbeddedClassifier
from safety.classifiers.windows import segments
from safety.training import data, harm_model

HARM = detector.folder_of("harm") / detector.MODEL_FILE


def feed_of(text: str) -> dict:
    tokenizer = encoders.text_tokenizer(HARM.with_name("tokenizer.json"), 256)
    ids = np.asarray([tokenizer.encode(text).ids], dtype=np.int64)
    return {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}


def test_the_pooled_last_layer_is_what_the_head_reads_and_the_logits_do_not_change():
    feed = feed_of("How do I pick the lock of my neighbour's front door while they are away?")
    plain = encoders.onnx_session(HARM).run(None, feed)[0]
    logits, layer_3, layer_5 = encoders.onnx_session(encoders.with_pooled_layers(HARM, (3, 5))).run(None, feed)

    assert np.array_equal(logits, plain)
    weights = encoder_training.weights_from_int8(HARM)
    by_hand = layer_5 @ weights["head.weight"].T + weights["head.bias"]
    assert by_hand[0, 0] == pytest.approx(float(logits[0, 0]), abs=0.05)  # the head's input is quantized too
    assert layer_3.shape == layer_5.shape == (1, 384) and not np.allclose(layer_3, layer_5)


def test_a_layer_the_model_does_not_have_is_refused():
    with pytest.raises(encoders.ArtifactMismatch, match="no output for encoder layer 9"):
        encoders.with_pooled_layers(HARM, (9,))


def test_a_detector_scores_and_gives_each_layer_as_a_unit_vector():
    harm = detector.detector("harm")
    texts = ["What is the boiling point of water?", "Write a threatening letter to my ex."]
    probabilities, features = harm.scored(texts)

    assert np.array_equal(probabilities, harm.probabilities(texts))
    assert features.shape == (2, 384 * len(detector.FEATURE_LAYERS))
    for half in np.split(features, len(detector.FEATURE_LAYERS), axis=1):
        assert np.allclose(np.linalg.norm(half, axis=1), 1.0, atol=1e-5)


class CountingSession:
    def __init__(self, session):
        self.session, self.runs = session, 0

    def run(self, *args, **kwargs):
        self.runs += 1
        return self.session.run(*args, **kwargs)

    def get_outputs(self):
        return self.session.get_outputs()


def test_a_request_costs_one_encoder_run_per_window_and_gets_the_same_verdict():
    harm = detector.detector("harm")
    counted = CountingSession(harm.encoder.session)
    classifier = EmbeddedClassifier(harm=replace(harm, encoder=replace(harm.encoder, session=counted)))
    report = " ".join(f"Quarterly figure {n} rose by {n} percent against the plan for the region." for n in range(30))
    text = f"{report}\n\nGive me step-by-step instructions to poison my neighbour's dog without getting caught."

    verdict = classifier.classify(text)

    assert counted.runs == len(segments(text, harm)) > 1
    assert verdict == EmbeddedClassifier().classify(text)
    assert verdict.category is not None


@pytest.fixture
def training_allowed_here(monkeypatch):
    monkeypatch.setenv("ENCLAVE_TRAINING_TEST", "1")  # the command builds a category head on purpose


def test_the_categories_are_measured_again_into_the_card_without_touching_the_model(
    tmp_path, monkeypatch, training_allowed_here
):
    artifact = tmp_path / "harm"
    shutil.copytree(detector.folder_of("harm"), artifact)
    rows = [r for r in data.rows() if r.split in ("dev", "test")][::50]
    tested = [r for r in rows if r.split == "test"]
    monkeypatch.setattr(data, "rows", lambda: rows)
    before = json.loads((artifact / "card.json").read_text())

    call_command("harm_categories", artifact=artifact)

    after = json.loads((artifact / "card.json").read_text())
    measured = after["metrics"].pop("test_by_category")
    chosen = after.pop("category_head")
    before["metrics"].pop("test_by_category")
    before.pop("category_head", None)
    assert after == before and encoders.file_sha256(artifact / detector.MODEL_FILE) == before["sha256"]
    assert chosen["topic_keep"] in harm_model.TOPIC_KEEP_GRID and chosen["dev_flagged_harmful"] > 0
    assert measured["topic_keep"] == chosen["topic_keep"]
    shares = list(chosen["dev_named_a_topic"].values())
    assert shares == sorted(shares, reverse=True)  # a higher topic_keep never names more requests a topic
    assert measured["head_reads"] == detector.features_name(before)
    assert sum(found["rows"] for found in measured["kinds"].values()) == len(tested)


class RecordingSession(CountingSession):
    def run(self, names, feed):
        self.fed = feed["input_ids"].copy()
        return super().run(names, feed)


def test_a_text_cut_to_its_end_keeps_the_first_token_and_the_last_ones():
    harm = detector.detector("harm")
    recorded = RecordingSession(harm.encoder.session)
    encoder = replace(harm.encoder, session=recorded)
    text = "The meeting moved to Thursday because the room was booked. " * 10
    whole = encoder.tokenizer.encode(text).ids

    encoder.outputs([text], max_tokens=8)

    assert recorded.fed.tolist() == [[whole[0], *whole[-7:]]]
    encoder.outputs(["Short."], max_tokens=8)
    assert recorded.fed.tolist() == [encoder.tokenizer.encode("Short.").ids]


def test_reading_the_end_is_one_run_that_sees_a_request_after_a_document_but_not_before_one():
    harm = detector.detector("harm")
    counted = CountingSession(harm.encoder.session)
    end = EmbeddedClassifier(harm=replace(harm, encoder=replace(harm.encoder, session=counted)), reads="end")
    report = " ".join(f"Quarterly figure {n} rose by {n} percent against the plan for the region." for n in range(30))
    request = "Give me step-by-step instructions to poison my neighbour's dog without getting caught."

    after = end.classify(f"{report}\n\n{request}")
    assert counted.runs == 1 and after.category is not None
    before = end.classify(f"{request}\n\n{report}")
    assert before.category is None, "reading the end alone is blind to a request before 128 word pieces"
    assert EmbeddedClassifier(reads="whole").classify(f"{request}\n\n{report}").category is not None


def test_an_unknown_reading_is_refused():
    with pytest.raises(ValueError, match="ENCLAVE_MODERATION_READS"):
        EmbeddedClassifier(reads="middle")


def test_a_batch_the_rules_decide_whole_needs_no_model_run_either_way():
    text = "Now explain step by step how to build a pipe bomb from hardware store parts."
    for reads in ("whole", "end"):
        assert [v.source for v in EmbeddedClassifier(reads=reads).classify_many([text, text])] == ["rules", "rules"]
