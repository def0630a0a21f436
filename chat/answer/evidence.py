"""Select the evidence: the sentences of the top passages that best answer the question.

Candidates are the passages' sentences that can be an answer: title and heading lines (no closing
punctuation), web addresses, DOIs, licence and author lines and reference-list entries are never
candidates, so they are never quoted. A scorer (SCORERS, chosen by ENCLAVE_EVIDENCE_SCORER) gives each
candidate a probability of holding the answer, a logistic model over its features:
- dense: cosine between the question's and the sentence's MiniLM embeddings;
- holds, answers: the reader's probabilities (retrieval/reader) that the sentence holds the answer and
  that its passage answers the question, from the question beside the sentence and its neighbours;
- lexical: the share of the question's content-word weight the sentence holds, each stem weighted
  by its rarity among the candidate sentences (a word every sentence has tells nothing);
- rank: 1 / the passage's rank in search.
Weights and thresholds are fitted on the even-numbered covid-qa-dev questions by `bench/evidence_weights`
and checked on the odd-numbered ones (docs/benchmarks.md). The answer loop abstains when the scorer's
answerability measure over the selected evidence is under its `strong` threshold.

`features` (dense, lexical, rank) stays the default: the reader trained here missed its held-out targets
(top-1 sentence 0.809 of 0.85, answerability AUC 0.781 of 0.80, after two epochs) and, on the covid-qa-dev test sample,
answered no better and abstained less on unanswerable questions (docs/benchmarks.md, "The reader").
"""

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from chat.answer.support import split_sentences, stems
from inference.budget import count_tokens
from retrieval import reader
from retrieval.embeddings import embedder


@dataclass(frozen=True)
class Scorer:
    """A logistic model over named sentence features, and how the loop decides that the evidence answers."""

    name: str
    features: tuple[str, ...]
    weights: tuple[float, ...]  # intercept, then one per feature (the reader's probabilities enter as logits)
    answerability: str  # "score" (the best sentence's) or a product of feature names joined by "*"
    strong: float  # answerability under this: the loop abstains
    second_quote: float  # a second sentence is quoted in an extractive answer when it scores at least this


# Both fitted by bench/evidence_weights on the even-numbered covid-qa-dev questions (docs/benchmarks.md).
SCORERS = {
    # dense cosine (MiniLM), lexical, rank; STRONG: the largest threshold with dev answerable abstention <= 0.20.
    "features": Scorer("features", ("dense", "lexical", "rank"), (-7.067, 3.238, 3.372, 1.838), "score", 0.12, 0.12),
    # The reader's two probabilities, lexical, rank; the answerability measure abstaining most on dev
    # unanswerable questions at the largest threshold keeping dev answerable abstention <= 0.15.
    "reader": Scorer(
        "reader",
        ("holds", "answers", "lexical", "rank"),
        (-4.382, 0.872, 0.071, 1.216, 1.669),
        "holds*answers",
        0.495,
        0.5,
    ),
}
PROBABILITIES = ("holds", "answers")
SENTENCES = 4  # evidence sentences in the prompt at most
TOKEN_BUDGET = 160  # their estimated tokens at most (the prompt's total is what makes the first token slow)
MIN_WORDS = 4
MAX_CHARS = 400
MAX_CANDIDATES = 32  # the reader reads at most this many sentences, the lexically best (its time grows with them)

NOT_AN_ANSWER = re.compile(  # an address, a DOI, a licence line, or a numbered reference ("12. Smith J, ...")
    r"(?i:https?://|www\.|\bdoi\s*:|\bdoi\.org|^licen[cs]e\s*:)|^(\[\d+\]|\d+\.)\s+[A-Z][\w'\-]+,?\s+[A-Z]{1,3}[,.\s]"
)
NAME_LIST = re.compile(r"[A-Z][\w'\-]+,\s*[A-Z][\w.\-]*(?:\s[A-Z][\w.\-]*)*;")  # "Wang, Li; Chen, Hui;"
INITIALS = re.compile(r"\b[A-Z][a-z'\-]+,? [A-Z]{1,2}[,.;]")  # "Smith J, Jones KL." (a reference's authors)
CLOSING = re.compile(r"[.!?][\"'\u201d)\]]*$")


def answer_like(sentence: str, *, last: bool = False) -> bool:
    """A sentence that may be quoted as an answer: no address, reference or byline, and it closes like a
    sentence, unless it is its passage's last (the chunker cut it, or a note without a full stop; a title
    line comes first, with the text after it)."""
    text = sentence.strip()
    closes = bool(CLOSING.search(text)) or last
    names = len(NAME_LIST.findall(text)) + len(INITIALS.findall(text))
    return closes and not NOT_AN_ANSWER.search(text) and names < 2


@dataclass(frozen=True)
class Evidence:
    number: int  # the passage's number among the sources
    sentence: str
    position: int  # the sentence's index within its passage
    score: float
    features: dict


def candidates(passages: Sequence[str]) -> list[tuple[int, int, str]]:
    """(passage number, position, sentence) for every sentence of the passages' texts that says something and
    may be an answer."""
    found = []
    for number, passage in enumerate(passages, start=1):
        sentences = split_sentences(passage)
        for position, sentence in enumerate(sentences):
            last = position == len(sentences) - 1
            if len(sentence.split()) >= MIN_WORDS and answer_like(sentence, last=last):
                found.append((number, position, sentence[:MAX_CHARS]))
    return found


def lexical_scores(question: str, sentences: list[str]) -> list[float]:
    wanted = stems(question)
    if not wanted or not sentences:
        return [0.0] * len(sentences)
    held = [stems(sentence) for sentence in sentences]
    weight = {stem: math.log((1 + len(held)) / (1 + sum(stem in h for h in held))) + 1.0 for stem in wanted}
    total = sum(weight.values())
    return [sum(weight[stem] for stem in wanted & h) / total for h in held]


def scorer_active(name: str | None = None) -> Scorer:
    """The named scorer, or the configured one (ENCLAVE_EVIDENCE_SCORER)."""
    return SCORERS[name or settings.ENCLAVE_EVIDENCE_SCORER]


def features(
    question: str, passages: Sequence[str], chosen: Scorer | None = None
) -> tuple[list[tuple[int, int, str]], np.ndarray]:
    """The candidate sentences (the MAX_CANDIDATES lexically best) and their feature rows (the scorer's features)."""
    chosen = chosen or scorer_active()
    found = candidates(passages)
    if not found:
        return found, np.zeros((0, len(chosen.features)))
    sentences = [sentence for _n, _p, sentence in found]
    lexical = np.asarray(lexical_scores(question, sentences))
    if len(found) > MAX_CANDIDATES:
        kept = sorted(np.argsort(-lexical, kind="stable")[:MAX_CANDIDATES])
        found, lexical = [found[i] for i in kept], lexical[kept]
        sentences = [sentence for _n, _p, sentence in found]
    columns = {"lexical": lexical, "rank": np.array([1.0 / number for number, _p, _s in found])}
    if "dense" in chosen.features:
        vectors = embedder().embed([question, *sentences])
        columns["dense"] = vectors[1:] @ vectors[0]
    if set(PROBABILITIES) & set(chosen.features):
        around = {number: reader.neighbours(passages[number - 1]) for number in {n for n, _p, _s in found}}
        read = reader.probabilities(question, [(sentence, around[n].get(p, "")) for n, p, sentence in found])
        columns |= {"holds": read[:, 0], "answers": read[:, 1]}
    return found, np.column_stack([columns[name] for name in chosen.features])


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def model_inputs(rows: np.ndarray, chosen: Scorer) -> np.ndarray:
    """The feature rows as the logistic model reads them: the reader's probabilities as logits."""
    return np.column_stack(
        [logit(rows[:, i]) if name in PROBABILITIES else rows[:, i] for i, name in enumerate(chosen.features)]
    )


def score(rows: np.ndarray, chosen: Scorer, weights=None) -> np.ndarray:
    intercept, *coefficients = weights or chosen.weights
    return 1.0 / (1.0 + np.exp(-(model_inputs(rows, chosen) @ np.asarray(coefficients) + intercept)))


def evidence_select(question: str, passages: Sequence[str], most: int | None = None) -> list[Evidence]:
    """The best sentences of the passages' texts within the budget (at most `most`, by default SENTENCES),
    best first."""
    most = most or SENTENCES
    chosen_scorer = scorer_active()
    found, rows = features(question, passages, chosen_scorer)
    if not found:
        return []
    scores = score(rows, chosen_scorer)
    chosen, tokens = [], 0
    for index in np.argsort(-scores, kind="stable"):
        number, position, sentence = found[index]
        cost = count_tokens(sentence)
        if chosen and (len(chosen) >= most or tokens + cost > TOKEN_BUDGET):
            break
        chosen.append(
            Evidence(
                number=number,
                sentence=sentence,
                position=position,
                score=round(float(scores[index]), 4),
                features={
                    name: round(float(value), 4)
                    for name, value in zip(chosen_scorer.features, rows[index], strict=True)
                },
            )
        )
        tokens += cost
    return chosen


def answerability(evidence: Sequence[Evidence], chosen: Scorer | None = None) -> float:
    """How sure the scorer is that the selected evidence answers the question (its answerability measure)."""
    chosen = chosen or scorer_active()
    if not evidence:
        return 0.0
    if chosen.answerability == "score":
        return evidence[0].score
    return max(math.prod(item.features[name] for name in chosen.answerability.split("*")) for item in evidence)


def strong(evidence: Sequence[Evidence]) -> bool:
    return answerability(evidence) >= scorer_active().strong


def quotable(evidence: Sequence[Evidence], at_least: float) -> bool:
    """Evidence whose best sentence scores at least this is quoted at once, without asking the model."""
    return strong(evidence) and evidence[0].score >= at_least


def by_passage(evidence: Sequence[Evidence]) -> dict[int, list[Evidence]]:
    """The evidence grouped by passage number, each group in the passage's own order."""
    grouped: dict[int, list[Evidence]] = {}
    for item in sorted(evidence, key=lambda e: (e.number, e.position)):
        grouped.setdefault(item.number, []).append(item)
    return grouped
