"""`python -c "from retrieval.reader_check import main; main()"`: bootstrap's check of the committed models
(the reader, the safety detectors): each file must match its card.

Imports nothing of Django: it runs before any setting exists."""

import sys
from pathlib import Path

from retrieval.encoders import ArtifactMismatch, artifact_check

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "retrieval" / "reader" / "model"
COMMITTED = {
    "reader": (MODEL_DIR / "reader.int8.onnx", MODEL_DIR / "card.json"),
    "harm model": (ROOT / "safety/artifacts/harm/model.int8.onnx", ROOT / "safety/artifacts/harm/card.json"),
    "injection detector": (
        ROOT / "safety/artifacts/injection/model.int8.onnx",
        ROOT / "safety/artifacts/injection/card.json",
    ),
}


def main() -> None:
    for name, (model, card_path) in COMMITTED.items():
        try:
            card = artifact_check(model, card_path)
        except ArtifactMismatch as error:
            sys.exit(f"The {name} does not match its card: {error}")
        print(f"==> {name} checked (sha256 {card['sha256'][:12]}…, {card['size_bytes'] / 1e6:.1f} MB)")
