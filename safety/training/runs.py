"""What the detectors' training commands share: a fold's model read back as the product reads it, and the
smoke runs' row sampling."""

from pathlib import Path

from retrieval import encoders
from safety.classifiers import detector as detectors
from safety.training import finetune

SERVING_MAX_TOKENS = 256


def exported(folder: Path, trained_tokens: int) -> detectors.Detector:
    """A run's best state as int8 ONNX, uncalibrated: a fold's threshold is chosen on its own dev rows. It reads
    windows of the word pieces it was trained on, as the product does."""
    int8 = finetune.export(folder, "model")
    session = encoders.onnx_session(int8)
    tokenizer = encoders.text_tokenizer(encoders.bundled_minilm_path() / "tokenizer.json", SERVING_MAX_TOKENS)
    card = {"hyperparameters": {"max_tokens": trained_tokens}}
    return detectors.Detector(encoders.TextEncoder(session, tokenizer, SERVING_MAX_TOKENS), 1.0, 0.5, card)


def spread(rows: list, limit: int) -> list:
    """At most `limit` rows, taken evenly through the list (so every kind is there)."""
    step = max(1, len(rows) // limit)
    return rows[::step][:limit]
