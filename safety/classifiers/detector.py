"""The detectors fine-tuned here (safety/training/finetune.py), served from their committed int8 ONNX files.

A detector's folder (safety/artifacts/<name>/) holds model.int8.onnx, tokenizer.json and card.json; the card
gives the file's sha256 (checked before loading, retrieval/encoders.py), the temperature fitted on dev and
the threshold chosen on dev. Nothing here trains.

A detector also returns, from the same run, the mean of each of its encoder's layers over the text (each
scaled to length 1, then joined): the category head reads those (safety/training/categories.py), so judging a
request takes one encoder run per window instead of two. The head reads the first three layers: the harm model
is also trained on the exemplars the head is fitted on (`train_harm_model --exemplars`), and its upper layers
learn them so well that a head over them is over-confident on anything else (it flagged the assistant's own
refusals; docs/benchmarks.md, "The harm model trained with the exemplars, shipped").
"""

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval import encoders

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
MODEL_FILE = "model.int8.onnx"
FEATURE_LAYERS = (0, 1, 2)


@dataclass(frozen=True)
class Detector:
    encoder: encoders.TextEncoder
    temperature: float
    threshold: float
    card: dict

    @property
    def trained_tokens(self) -> int:
        """How many word pieces (the end of each text) the model read in training."""
        return int(self.card["hyperparameters"]["max_tokens"])

    @property
    def window_tokens(self) -> int:
        """The longest window of a text it reads (safety/classifiers/windows.py): as trained, less [CLS] and [SEP]."""
        return self.trained_tokens - 2

    def count(self, texts: list[str]) -> list[int]:
        return self.encoder.count(texts)

    def probabilities(self, texts: list[str], max_tokens: int | None = None) -> np.ndarray:
        return self.scored(texts, max_tokens)[0]

    def scored(self, texts: list[str], max_tokens: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Each text's probability and its features (FEATURE_LAYERS pooled, each of length 1, joined); with
        `max_tokens`, of the text's last word pieces only (TextEncoder.outputs)."""
        if not texts:
            return np.zeros(0), np.zeros((0, 0), dtype=np.float32)
        logits, *layers = self.encoder.outputs(list(texts), max_tokens)
        probabilities = 1.0 / (1.0 + np.exp(-logits[:, 0].astype(np.float64) / self.temperature))
        unit = [layer / np.maximum(np.linalg.norm(layer, axis=1, keepdims=True), 1e-12) for layer in layers]
        features = np.hstack(unit) if unit else np.zeros((len(texts), 0))
        return probabilities, features.astype(np.float32)


@dataclass(frozen=True)
class Features:
    """A detector's features as an embedder (name, embed), for the category head to read."""

    detector: Detector

    @property
    def name(self) -> str:
        return features_name(self.detector.card)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.detector.scored(texts)[1]


def features_name(card: dict) -> str:
    """What a category head built over this detector's features reads (its artifact's key, its card's record)."""
    layers = "-".join(str(layer) for layer in FEATURE_LAYERS)
    return f"detector-{card['sha256'][:16]}-layers-{layers}"


def _pooled_layers(name: str) -> tuple[int, ...]:
    """Only the harm model's layers feed a category head; the injection detector's run stays as exported."""
    return FEATURE_LAYERS if name == "harm" else ()


def folder_of(name: str) -> Path:
    return ARTIFACTS / name


def card(name: str, folder: Path | None = None) -> dict:
    folder = folder or folder_of(name)
    return encoders.artifact_check(folder / MODEL_FILE, folder / "card.json")


_loaded: dict[Path, Detector] = {}
_lock = threading.Lock()


def detector(name: str, folder: Path | None = None) -> Detector:
    """The named detector (or the one in `folder`), checked against its card and loaded once per process."""
    folder = folder or folder_of(name)
    with _lock:
        if folder not in _loaded:
            checked = card(name, folder)
            _loaded[folder] = Detector(
                encoder=encoders.text_encoder(folder / MODEL_FILE, folder / "card.json", _pooled_layers(name)),
                temperature=float(checked["calibration"]["temperature"]),
                threshold=float(checked["threshold"]),
                card=checked,
            )
        return _loaded[folder]


def forget(folder: Path) -> None:
    """Drop a loaded detector (a training command that rewrote the files loads them again)."""
    with _lock:
        _loaded.pop(folder, None)
    encoders.forget(folder / MODEL_FILE)
