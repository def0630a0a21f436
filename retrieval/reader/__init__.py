"""The reader: a cross-encoder trained here (retrieval/reader/train.py) that reads a question beside one
sentence of a passage (with the sentences around it) and gives two probabilities:
- holds: this sentence holds the answer;
- answers: this sentence's passage answers the question.
The committed int8 ONNX file (model/) is checked against its card before it loads; nothing here trains.
"""

import numpy as np

from retrieval import encoders
from retrieval.reader.data import pair_text
from retrieval.reader_check import MODEL_DIR
from retrieval.sentences import split_sentences

MODEL_FILE = MODEL_DIR / "reader.int8.onnx"
CARD_FILE = MODEL_DIR / "card.json"


def reader() -> encoders.PairEncoder:
    return encoders.pair_encoder(MODEL_FILE, CARD_FILE)


def card() -> dict:
    return encoders.artifact_check(MODEL_FILE, CARD_FILE)


def probabilities(question: str, items: list[tuple[str, str]]) -> np.ndarray:
    """(holds, answers) for each (sentence, its neighbours); shape (n, 2)."""
    if not items:
        return np.zeros((0, 2))
    logits = reader().run([question] * len(items), [pair_text(sentence, context) for sentence, context in items])
    return 1.0 / (1.0 + np.exp(-logits))


def neighbours(passage_text: str) -> dict[int, str]:
    """Each sentence position of a passage -> the sentences before and after it, as the reader was trained."""
    sentences = split_sentences(passage_text)
    return {
        i: f"{sentences[i - 1] if i else ''} {sentences[i + 1] if i + 1 < len(sentences) else ''}".strip()
        for i in range(len(sentences))
    }
