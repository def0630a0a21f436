"""The detectors fine-tuned here (safety/training/finetune.py), served from their committed int8 ONNX files.

A detector's folder (safety/artifacts/<name>/) holds model.int8.onnx, tokenizer.json and card.json; the card
gives the file's sha256 (checked before loading, retrieval/encoders.py), the temperature fitted on dev and
the threshold chosen on dev. Nothing here trains.
"""

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval import encoders

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
MODEL_FILE = "model.int8.onnx"


@dataclass(frozen=True)
class Detector:
    encoder: encoders.TextEncoder
    temperature: float
    threshold: float
    card: dict

    def probabilities(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        logits = self.encoder.run(list(texts))[:, 0].astype(np.float64)
        return 1.0 / (1.0 + np.exp(-logits / self.temperature))


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
                encoder=encoders.text_encoder(folder / MODEL_FILE, folder / "card.json"),
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
