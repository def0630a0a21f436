"""Windows of a long text for the fine-tuned detectors (the harm model, the injection detector). A text that fits
the word pieces the model was trained on is read whole; a longer one is cut into windows of that size, counted
with the model's own tokenizer: whole sentences, never across a paragraph, packed from each paragraph's end (so
the last window of the text is its last word pieces, where a request after a pasted document usually is),
words where a sentence is longer, and characters where a word is (text without spaces). A short text of several
paragraphs is also read as its last paragraph alone. A text is judged by its highest-scoring window."""

import re
from typing import Protocol

import numpy as np

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")
PARAGRAPH = re.compile(r"\n\s*\n")


class Counting(Protocol):
    """A detector, as far as windows need it: how many word pieces it reads, and how many a text is."""

    @property
    def window_tokens(self) -> int: ...

    def count(self, texts: list[str]) -> list[int]: ...


def windows_of(texts: list[str], model: Counting) -> tuple[list[str], list[int]]:
    """Every text's windows, in order, and the index of the text each belongs to."""
    windows, owners = [], []
    for index, text in enumerate(texts):
        for window in segments(text, model):
            windows.append(window)
            owners.append(index)
    return windows, owners


def segments(text: str, model: Counting) -> list[str]:
    limit = model.window_tokens
    paragraphs = [p.strip() for p in PARAGRAPH.split(text.strip()) if p.strip()]
    if model.count([text])[0] <= limit:
        return [text, paragraphs[-1]] if len(paragraphs) > 1 else [text]
    return [
        window for paragraph in paragraphs for run in _runs(paragraph, model, limit) for window in _packed(run, limit)
    ]


def _runs(paragraph: str, model: Counting, limit: int) -> list[list[tuple[str, int]]]:
    """The paragraph's sentences with their word pieces; a longer sentence by words, a longer word by characters.
    A word cut into characters (text without spaces) is a run of its own, packed apart from the words around it,
    so it neither hides nor colours a request next to it."""
    runs: list[list[tuple[str, int]]] = [[]]
    sentences = [s for s in SENTENCE_END.split(paragraph) if s.strip()]
    for sentence, tokens in zip(sentences, model.count(sentences), strict=True):
        if tokens <= limit:
            runs[-1].append((sentence, tokens))
            continue
        words = sentence.split()
        for word, word_tokens in zip(words, model.count(words), strict=True):
            if word_tokens <= limit:
                runs[-1].append((word, word_tokens))
            else:
                runs += [_characters(word, word_tokens, model, limit), []]
    return [run for run in runs if run]


def _characters(word: str, tokens: int, model: Counting, limit: int) -> list[tuple[str, int]]:
    step = max(1, len(word) * limit // (2 * tokens))  # about half a window of word pieces
    pieces = [word[i : i + step] for i in range(0, len(word), step)]
    units = []
    for piece, piece_tokens in zip(pieces, model.count(pieces), strict=True):
        fits = piece_tokens <= limit or len(piece) == 1
        units += [(piece, piece_tokens)] if fits else _characters(piece, piece_tokens, model, limit)
    return units


def _packed(units: list[tuple[str, int]], limit: int) -> list[str]:
    """Units joined into windows of at most `limit` word pieces, filled from the end. The tokenizers split at
    spaces, so a window's count is the sum of its units'."""
    windows: list[str] = []
    current: list[str] = []
    total = 0
    for unit, tokens in reversed(units):
        if current and total + tokens > limit:
            windows.append(" ".join(reversed(current)))
            current, total = [], 0
        current.append(unit)
        total += tokens
    if current:
        windows.append(" ".join(reversed(current)))
    return windows[::-1]


def highest_window_scores(model, texts: list[str]) -> np.ndarray:
    """Each text's highest window probability under `model` (a detector: `probabilities(texts)`, and Counting)."""
    windows, owners = windows_of(texts, model)
    best = np.zeros(len(texts))
    if windows:
        np.maximum.at(best, np.asarray(owners), model.probabilities(windows))
    return best
