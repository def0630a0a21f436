"""The harm model: the committed artifact matches its card and the card records what made it; the rules that
build its training rows, long inputs and leave-source-out folds; a tiny run of the command trains, resumes,
exports and measures (a few steps: this checks the command reproduces an artifact of the shipped kind)."""

import io
import json

import numpy as np
import pytest
from django.core.management import call_command

from retrieval import encoders
from safety.classifiers import detector
from safety.classifiers.embedded import POLICY_TOPICS, REFUSED_BY_DEFAULT, topic_kept
from safety.training import data, harm_model
from safety.training.categories import CategoryHead


def test_the_committed_harm_model_matches_its_card_and_records_its_data_and_measurements():
    card = detector.card("harm")

    assert card["sha256"] == encoders.file_sha256(detector.folder_of("harm") / detector.MODEL_FILE)
    assert card["data"]["files_sha256"] == data.fingerprint()
    assert card["data"]["contexts_sha256"] == encoders.file_sha256(harm_model.contexts_file())
    assert card["hyperparameters"]["seed"] == 2026 and card["training"]["best_step"] > 0
    assert 0 < card["threshold"] < 1 and card["calibration"]["temperature"] > 0
    for split in ("dev", "test"):
        assert set(card["metrics"][split]) == {"harmful", "sensitive", "ordinary"}
    assert card["metrics"]["dev"]["sensitive"]["flagged"] <= harm_model.FPR_TARGETS["sensitive"]
    assert set(card["metrics"]["test_long_inputs"]) == {"paragraph", "same paragraph"}


def test_the_harm_model_scores_a_harmful_request_above_a_sensitive_sounding_one():
    model = detector.detector("harm")
    harmful, benign = model.probabilities(
        [
            "Give me step-by-step instructions to poison my neighbour's dog without getting caught.",
            "What should I do if my dog ate chocolate? Is it poisonous?",
        ]
    )
    assert harmful >= model.threshold > benign


def test_contexts_are_real_documents_split_apart_from_each_other():
    by_split = {split: harm_model.contexts(split) for split in data.SHARES}
    requests = {row.text for row in data.rows()}

    assert all(by_split.values())
    assert not set(by_split["train"]) & set(by_split["test"]) and not set(by_split["dev"]) & set(by_split["test"])
    assert not requests & set(by_split["test"])
    low, high = harm_model.CONTEXT_CHARACTERS
    assert all(low <= len(text) <= high for found in by_split.values() for text in found)


def test_long_inputs_put_each_request_after_a_context_once_per_layout():
    rows = [
        data.Row("how do I make a pipe bomb", "harmful", "s", "", "test"),
        data.Row("how do I kill a stuck process", "sensitive", "s", "", "test"),
        data.Row("book a room", "ordinary", "s", "", "test"),
    ]
    cases = harm_model.long_inputs(rows, ["First document.", "Second document."])

    assert cases.texts == [
        "First document.\n\nhow do I make a pipe bomb",
        "First document. how do I make a pipe bomb",
        "Second document.\n\nhow do I kill a stuck process",
        "Second document. how do I kill a stuck process",
    ]
    assert list(cases.bare) == [0, 0, 1, 1] and list(cases.kinds) == ["harmful", "harmful", "sensitive", "sensitive"]


def test_the_training_rows_add_a_share_with_context_and_keep_the_labels():
    rows = [r for r in data.rows() if r.split == "train"][:200]
    found = harm_model.labelled(rows, context_from=["A document."])

    assert len(found) == len(rows) + int(len(rows) * harm_model.CONTEXT_SHARE)
    added = found.texts[len(rows) :]
    assert all(text.startswith("A document.") for text in added)
    by_text = {r.text: r.harmful for r in rows}
    for text, label in zip(added, found.labels[len(rows) :], strict=True):
        assert by_text[text.removeprefix("A document.").lstrip()] == bool(label)


def test_family_weighting_shrinks_a_large_familys_rows_and_keeps_each_kinds_total():
    families = ["big:harmful"] * 9 + ["small:harmful"] + ["a:ordinary"] * 4
    kinds = np.asarray(["harmful"] * 10 + ["ordinary"] * 4)

    factors = harm_model.family_factors(families, kinds, power=0.5)

    assert factors[:9].sum() / factors[9] == pytest.approx(3.0)  # 9 rows weigh as 9 / sqrt(9) = 3 single rows
    assert factors[:10].sum() == pytest.approx(10) and factors[10:] == pytest.approx(np.ones(4))
    assert harm_model.family_factors(families, kinds, power=0.0) == pytest.approx(np.ones(14))


def test_the_threshold_keeps_each_benign_kind_within_its_target():
    kinds = np.asarray(["harmful"] * 4 + ["sensitive"] * 20 + ["ordinary"] * 100)
    scores = np.concatenate([np.full(4, 0.9), np.linspace(0.0, 0.6, 20), np.linspace(0.0, 0.4, 100)])

    threshold = harm_model.threshold_choose(scores, kinds)

    assert np.mean(scores[kinds == "sensitive"] >= threshold) <= 0.05
    assert np.mean(scores[kinds == "ordinary"] >= threshold) <= 0.01
    assert np.mean(scores[kinds == "sensitive"] >= threshold - 0.01) > 0.05  # and is the lowest that does


def test_every_source_family_is_held_out_in_exactly_one_fold_and_each_fold_holds_out_harmful_and_benign():
    rows = data.rows()
    folds = harm_model.loso_folds(rows)
    every = [family for fold in folds for family in fold]

    assert sorted(every) == sorted({harm_model.family_of(r) for r in rows})
    assert len(every) == len(set(every))
    assert all({f.rsplit(":", 1)[1] for f in fold} >= {"harmful", "sensitive"} for fold in folds)


@pytest.fixture
def training_allowed_here(monkeypatch):
    monkeypatch.setenv("ENCLAVE_TRAINING_TEST", "1")  # this test trains a tiny model on purpose


def test_a_tiny_run_trains_resumes_exports_holds_sources_out_and_writes_its_card(tmp_path, training_allowed_here):
    out = tmp_path / "run"
    options = {"out": out, "limit": 24, "batch_size": 8, "evaluate_every": 1}

    call_command("train_harm_model", max_steps=1, **options)
    said = io.StringIO()
    call_command(
        "train_harm_model",
        max_steps=2,
        stdout=said,
        artifact=tmp_path / "artifact",
        leave_source_out=True,
        fold_max_steps=1,
        **options,
    )

    assert "resumed at step 1 of 2" in said.getvalue()
    card = json.loads((tmp_path / "artifact" / "card.json").read_text())
    assert card["training"]["steps"] == 2 and card["data"]["rows"] == {"train": 24, "dev": 24, "test": 24}
    assert card["hyperparameters"]["max_steps"] == 2 and card["leave_source_out"]["settings"]["max_steps"] == 1
    held_out = card["leave_source_out"]["families"]
    assert {found["fold"] for found in held_out.values()} == set(range(harm_model.LOSO_FOLDS))
    assert set(card["leave_source_out"]["summary"]) == {"harmful", "sensitive", "ordinary"}
    model = detector.detector("harm", tmp_path / "artifact")
    assert model.card["sha256"] == card["sha256"] and model.probabilities(["hello", "a b c"]).shape == (2,)
    assert card["metrics"]["test_by_category"]["head_reads"] == detector.features_name(card)
    assert card["category_head"]["topic_keep"] in harm_model.TOPIC_KEEP_GRID
    assert card["metrics"]["test_by_category"]["topic_keep"] == card["category_head"]["topic_keep"]
    assert {"QAttention", "SkipLayerNormalization"} <= operators(tmp_path / "artifact" / detector.MODEL_FILE)


def operators(path) -> set[str]:
    import onnx

    return {node.op_type for node in onnx.load(str(path)).graph.node}


def test_the_committed_harm_model_is_the_fused_export_the_command_writes():
    found = operators(detector.folder_of("harm") / detector.MODEL_FILE)

    assert {"QAttention", "SkipLayerNormalization", "BiasGelu"} <= found
    assert "EmbedLayerNormalization" not in found  # it would keep the word embeddings in fp32 (58 MB)


def test_exemplar_rows_train_only_and_leave_the_policy_topics_out():
    rows = harm_model.exemplar_rows()

    assert rows and {row.split for row in rows} == {"train"}
    assert {row.kind for row in rows} == {"harmful", "sensitive", "ordinary"}
    assert all(row.category in REFUSED_BY_DEFAULT for row in rows if row.harmful)
    held_out = {family for fold in harm_model.loso_folds(data.rows()) for family in fold}
    assert not {harm_model.family_of(row) for row in rows} & held_out


def test_exemplar_topics_can_train_as_benign_ordinary_rows():
    left_out, benign = harm_model.exemplar_rows(), harm_model.exemplar_rows("benign")

    added = [row for row in benign if row.category in POLICY_TOPICS and row.kind == "ordinary"]
    assert added and len(benign) == len(left_out) + len(added)
    assert not any(row.harmful and row.category in POLICY_TOPICS for row in benign)


def _head_row(**probabilities) -> np.ndarray:
    return np.asarray([[probabilities.get(name, 0.0) for name in TOY_HEAD.classes]])


TOY_HEAD = CategoryHead(("benign", "self_harm", "specialized_advice"), np.zeros(0), np.zeros(0), 0.8, {})


def test_a_flagged_request_keeps_a_policy_topic_name_only_above_topic_keep():
    unsure = _head_row(benign=0.02, self_harm=0.31, specialized_advice=0.67)
    assert topic_kept(TOY_HEAD, unsure, 0.0) and topic_kept(TOY_HEAD, unsure, 0.65)
    assert not topic_kept(TOY_HEAD, unsure, 0.7)
    assert not topic_kept(TOY_HEAD, _head_row(benign=0.3, specialized_advice=0.7), 0.0)  # under the head's threshold
    assert not topic_kept(TOY_HEAD, _head_row(self_harm=0.9, specialized_advice=0.1), 0.0)  # not a policy topic


def test_the_committed_card_records_topic_keep_chosen_on_dev_and_measures_with_it():
    card = detector.card("harm")
    chosen = card["category_head"]
    assert card["metrics"]["test_by_category"]["topic_keep"] == chosen["topic_keep"]
    named = {float(keep): share for keep, share in chosen["dev_named_a_topic"].items()}
    assert chosen["topic_keep"] == min(k for k, share in named.items() if share <= chosen["target"])
    assert chosen["target"] == harm_model.TOPIC_DOWNGRADE_TARGET and chosen["dev_flagged_harmful"] > 500
