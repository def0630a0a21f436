"""Windows of a long text for the fine-tuned detectors (the harm model, the injection detector), which read 256
word pieces at most: by words, never across a paragraph, and by characters where words are long (text without
spaces); plus the last paragraph alone, where a request after a pasted document usually is. A text is judged by
its highest-scoring window."""

import re

import numpy as np

from inference.budget import count_tokens

WINDOW_WORDS = 120  # ~160-200 word pieces, under the model's 256
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")
PARAGRAPH = re.compile(r"\n\s*\n")


# Text without spaces (CJK, a long blob) would fill a word window past the model's 256 tokens: such a
# window is cut into pieces of this many characters (overlapping by a quarter), by the safe token estimate.
PIECE_CHARACTERS = 200
PIECE_TOKENS = 240


def _pieces(window: str) -> list[str]:
    if count_tokens(window) <= PIECE_TOKENS:
        return [window]
    step = PIECE_CHARACTERS * 3 // 4
    return [window[i : i + PIECE_CHARACTERS] for i in range(0, max(len(window) - PIECE_CHARACTERS // 4, 1), step)]


def windows_of(texts: list[str]) -> tuple[list[str], list[int]]:
    """Every text's windows, in order, and the index of the text each belongs to."""
    windows, owners = [], []
    for index, text in enumerate(texts):
        for window in segments(text):
            windows.append(window)
            owners.append(index)
    return windows, owners


def segments(text: str) -> list[str]:
    """Windows that fit the model: by words, never across a paragraph, and by characters where words are long;
    plus the last paragraph alone, where a request after a pasted document usually is."""
    windows = [piece for window in _word_windows(text) for piece in _pieces(window)]
    last = _last_paragraph(text)
    return [*windows, last] if last and last not in windows else windows


def _last_paragraph(text: str) -> str | None:
    paragraphs = [p.strip() for p in PARAGRAPH.split(text.strip()) if p.strip()]
    return paragraphs[-1] if len(paragraphs) > 1 and count_tokens(paragraphs[-1]) <= PIECE_TOKENS else None


def _word_windows(text: str) -> list[str]:
    """Windows of at most WINDOW_WORDS words that never cross a paragraph; the text itself when short."""
    if len(text.split()) <= WINDOW_WORDS:
        return [text]
    windows = []
    for paragraph in PARAGRAPH.split(text):
        current: list[str] = []
        for sentence in SENTENCE_END.split(paragraph):
            words = sentence.split()
            while words:
                room = WINDOW_WORDS - len(current)
                if room <= 0 or (current and len(words) > room and len(words) <= WINDOW_WORDS):
                    windows.append(" ".join(current))
                    current = []
                    continue
                current += words[:room]
                words = words[room:]
        if current:
            windows.append(" ".join(current))
    return windows or [text]


def highest_window_scores(model, texts: list[str]) -> np.ndarray:
    """Each text's highest window probability under `model` (a detector with `probabilities(texts)`)."""
    windows, owners = windows_of(texts)
    best = np.zeros(len(texts))
    if windows:
        np.maximum.at(best, np.asarray(owners), model.probabilities(windows))
    return best
