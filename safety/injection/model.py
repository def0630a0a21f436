"""The injection detector: the bundled MiniLM fine-tuned end to end on the real injected and clean texts of
corpora/injection-train (`manage.py train_injection_model`, safety/training/injection_model.py), committed as
int8 ONNX with its card in safety/artifacts/injection/ (sha256 checked before loading; temperature and
threshold chosen on dev). It catches what the rules' cue lists miss: an attacker's request planted in a tool
output or an e-mail without the override words the rules look for.

A text is scored window by window (safety/classifiers/windows.py) and takes its highest window's probability,
so an instruction in the middle of a long chunk is read whole; a text of fewer than MIN_WORDS words (a heading,
a fragment) is left to the rules. Off unless ENCLAVE_INJECTION_MODEL=1 (the rules screen alone): on sources it
never saw it flags too much clean text (docs/benchmarks.md). Nothing here trains; when on, a missing or altered
artifact raises ArtifactMismatch (a document is not passed unscreened).
"""

import numpy as np
from django.conf import settings

from safety.classifiers import detector as detectors
from safety.classifiers.windows import highest_window_scores

NAME = "injection"
# Fewer words than this are left to the rules: 3 of the 2,302 injected training texts are that short, so the
# detector never learnt such fragments (alone, "password reset" reads to it like a prompt-extraction payload).
MIN_WORDS = 6


def enabled() -> bool:
    return settings.ENCLAVE_INJECTION_MODEL


def scores(texts: list[str]) -> tuple[np.ndarray, float]:
    """Each text's highest window probability (0 for a text under MIN_WORDS words), and the threshold."""
    model = detectors.detector(NAME)
    long_enough = [i for i, text in enumerate(texts) if len(text.split()) >= MIN_WORDS]
    found = np.zeros(len(texts))
    found[long_enough] = highest_window_scores(model, [texts[i] for i in long_enough])
    return found, model.threshold


def flagged(texts: list[str]) -> list[bool]:
    """Whether the detector flags each text (all False when it is switched off)."""
    if not enabled() or not texts:
        return [False] * len(texts)
    found, threshold = scores(texts)
    return [bool(score >= threshold) for score in found]
