"""Select the evidence: the sentences of the top passages that best answer the question.

Each sentence of the passages gets three features:
- dense: cosine between the question's and the sentence's MiniLM embeddings;
- lexical: the share of the question's content-word weight the sentence holds, each stem weighted
  by its rarity among the candidate sentences (a word every sentence has tells nothing);
- rank: 1 / the passage's rank in search.
Its score is a logistic model over them (WEIGHTS), fitted on the even-numbered covid-qa-dev
questions to predict "this sentence holds the gold answer" and checked on the odd-numbered ones
(`bench/evidence_weights`, docs/benchmarks.md). The score is therefore a probability: the answer
loop abstains when even the best sentence's score is under STRONG. Hand-set weights (-6, 5, 4, 1)
ranked as well (46.2% on the odd half); no weighting tried separates answerable from unanswerable
questions well, because questions about a missing article find on-topic sentences of similar ones.
"""

import math
from dataclasses import dataclass

import numpy as np

from chat.answer.support import split_sentences, stems
from inference.budget import count_tokens
from retrieval.embeddings import embedder
from retrieval.search import Passage

# Fitted by bench/evidence_weights on the even-numbered questions (intercept, dense, lexical, rank): on the
# odd-numbered ones the best sentence holds the gold answer for 44.5% of questions, the sentences kept for 53.8%.
WEIGHTS = (-7.067, 3.238, 3.372, 1.838)
# The largest threshold that abstains on at most 20% of the even-numbered (answerable) questions; on the odd ones
# it abstains on 21% of answerable and 78% of unanswerable questions (asked where their article is missing).
STRONG = 0.12
SENTENCES = 4  # evidence sentences in the prompt at most
TOKEN_BUDGET = 160  # their estimated tokens at most (the prompt's total is what makes the first token slow)
MIN_WORDS = 4
MAX_CHARS = 400


@dataclass(frozen=True)
class Evidence:
    number: int  # the passage's number among the sources
    sentence: str
    position: int  # the sentence's index within its passage
    score: float
    features: dict


def candidates(passages: list[Passage]) -> list[tuple[int, int, str]]:
    """(passage number, position, sentence) for every sentence long enough to say something."""
    found = []
    for number, passage in enumerate(passages, start=1):
        for position, sentence in enumerate(split_sentences(passage.text)):
            if len(sentence.split()) >= MIN_WORDS:
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


def features(question: str, passages: list[Passage]) -> tuple[list[tuple[int, int, str]], np.ndarray]:
    """The candidate sentences and their feature rows (dense, lexical, rank)."""
    found = candidates(passages)
    if not found:
        return found, np.zeros((0, 3))
    sentences = [sentence for _n, _p, sentence in found]
    model = embedder()
    vectors = model.embed([question, *sentences])
    dense = vectors[1:] @ vectors[0]
    lexical = lexical_scores(question, sentences)
    rank = [1.0 / number for number, _p, _s in found]
    return found, np.column_stack([dense, lexical, rank])


def score(rows: np.ndarray, weights=WEIGHTS) -> np.ndarray:
    intercept, *coefficients = weights
    return 1.0 / (1.0 + np.exp(-(rows @ np.asarray(coefficients) + intercept)))


def evidence_select(question: str, passages: list[Passage], most: int | None = None) -> list[Evidence]:
    """The best sentences within the budget (at most `most`, by default SENTENCES), best first."""
    most = most or SENTENCES
    found, rows = features(question, passages)
    if not found:
        return []
    scores = score(rows)
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
                    for name, value in zip(("dense", "lexical", "rank"), rows[index], strict=True)
                },
            )
        )
        tokens += cost
    return chosen


def strong(evidence: list[Evidence]) -> bool:
    return bool(evidence) and evidence[0].score >= STRONG


def quotable(evidence: list[Evidence], at_least: float) -> bool:
    """Evidence this strong is quoted at once: on covid-qa-dev's dev half the bundled model's drafts held the
    gold answer for 8 of 35 questions where the quoted evidence held it for 24."""
    return bool(evidence) and evidence[0].score >= max(at_least, STRONG)


def by_passage(evidence: list[Evidence]) -> dict[int, list[Evidence]]:
    """The evidence grouped by passage number, each group in the passage's own order."""
    grouped: dict[int, list[Evidence]] = {}
    for item in sorted(evidence, key=lambda e: (e.number, e.position)):
        grouped.setdefault(item.number, []).append(item)
    return grouped
