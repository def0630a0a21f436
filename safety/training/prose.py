"""Benign document prose for the answer head: the kind of text a grounded answer quotes and paraphrases.

The category head learnt from requests and a few answer stretches, and it takes encyclopedic and scientific
prose for harm: fitted on the exemplars alone, it stops 2.8% of the two-sentence windows of covid-qa-dev's
papers as CBRN (docs/benchmarks.md, "Answers about biology"). The answer head (build.py) is the same
regression fitted on the exemplars plus these windows as benign. They are real paragraphs of the Wikipedia
sources of corpora/reader-train (CC BY-SA; its LICENSES/), life-science articles first, one window per
paragraph, drawn with a fixed seed by `manage.py safety_prose` and committed (safety/data/benign_prose.jsonl),
so the bootstrap builds the head without the full corpus. Requests are judged by the head without them.
"""

import hashlib
import json
import random
import re
from functools import cache
from pathlib import Path

from retrieval.sentences import split_sentences
from safety import exemplars

DATA = Path(__file__).resolve().parent.parent / "data" / "benign_prose.jsonl"
COUNT = 250
SEED = 2026
WINDOW_SENTENCES = 2
WINDOW_CHARACTERS = 400  # about what the stream guard reads at once (moderation.CONTEXT + MAX_WINDOW)
LIFE_SCIENCE = re.compile(
    r"\b(virus|vaccin|immun|infect|bacteri|pathogen|diseas|epidem|influenza|antibiot|pharm|medic|cell|genet|gene\b"
    r"|protein|chemi|biolog|biochem|nuclear|drug|hospital)",
    re.IGNORECASE,
)


def windows_draw(rows: list[dict], count: int = COUNT, seed: int = SEED) -> list[dict]:
    """One window of consecutive sentences from each of `count` Wikipedia paragraphs, those of articles whose
    title names a life science first (there are few), then the others, each group in a seeded order."""
    titles: dict[str, str] = {}
    sources: dict[str, str] = {}
    for row in rows:
        if row["domain"] == "wikipedia":
            titles.setdefault(row["context"], row["title"] or "")
            sources.setdefault(row["context"], row["source"])
    rng = random.Random(seed)
    paragraphs = sorted(titles)
    science = [p for p in paragraphs if LIFE_SCIENCE.search(titles[p])]
    others = [p for p in paragraphs if not LIFE_SCIENCE.search(titles[p])]
    drawn = []
    for paragraph in rng.sample(science, len(science)) + rng.sample(others, len(others)):
        sentences = split_sentences(paragraph)
        starts = range(0, max(1, len(sentences) - WINDOW_SENTENCES + 1))
        start = rng.choice(starts)
        text = " ".join(sentences[start : start + WINDOW_SENTENCES])[:WINDOW_CHARACTERS]
        if len(text.split()) >= 8:
            drawn.append({"text": text, "title": titles[paragraph], "source": sources[paragraph]})
        if len(drawn) == count:
            break
    return drawn


@cache
def windows() -> tuple[exemplars.Exemplar, ...]:
    """The committed windows as benign exemplars of their own kind, one group per article."""
    with open(DATA, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return tuple(
        exemplars.Exemplar(row["text"], exemplars.BENIGN, f"prose:{row['title'] or index}", exemplars.PROSE_KIND)
        for index, row in enumerate(rows)
    )


def fingerprint() -> str:
    return hashlib.sha256(DATA.read_bytes()).hexdigest()
