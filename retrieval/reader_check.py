"""`python -c "from retrieval.reader_check import main; main()"`: bootstrap's check of the committed reader.

Imports nothing of Django: it runs before any setting exists."""

import sys
from pathlib import Path

from retrieval.encoders import ArtifactMismatch, artifact_check

MODEL_DIR = Path(__file__).resolve().parent / "reader" / "model"


def main() -> None:
    try:
        card = artifact_check(MODEL_DIR / "reader.int8.onnx", MODEL_DIR / "card.json")
    except ArtifactMismatch as error:
        sys.exit(f"The reader model does not match its card: {error}")
    print(f"==> reader model checked (sha256 {card['sha256'][:12]}…, {card['size_bytes'] / 1e6:.1f} MB)")
