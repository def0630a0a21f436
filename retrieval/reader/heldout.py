"""The reader's quality on paragraphs it never saw: every sentence of each question's paragraph is scored.

- top-1 sentence: for answerable questions, the best-scored sentence of the paragraph overlaps a gold span;
- answerability AUC: a question with its own paragraph (answerable) against the same kind of question with
  a paragraph that does not answer it: the source's unanswerable questions, and answerable questions asked
  of the other paragraph (same article first) whose sentence shares the most words with them.
The paragraph's score is its best sentence's, for each head and for their product; the card records all three.
"""

import random
from collections import defaultdict

import numpy as np

from retrieval.reader.data import _SentenceIndex, gold_positions, group_of, pair_text, paragraph_key, sentence_spans

MAX_SENTENCES = 40


def auc(positives: list[float], negatives: list[float]) -> float:
    if not positives or not negatives:
        return float("nan")
    scores = np.concatenate([positives, negatives])
    ranks = scores.argsort().argsort() + 1.0
    positive_ranks = ranks[: len(positives)].sum()
    return float((positive_ranks - len(positives) * (len(positives) + 1) / 2) / (len(positives) * len(negatives)))


def cases(rows: list[dict], *, answerable_limit: int, cross_limit: int, seed: int) -> list[dict]:
    """One case per (question, paragraph): its sentences, the gold positions, whether the paragraph answers."""
    rng = random.Random(seed)
    paragraphs = {}
    for row in rows:
        key = paragraph_key(row["context"])
        paragraphs.setdefault(key, (group_of(row), sentence_spans(row["context"])))
    answerable = [r for r in rows if r["answers"]]
    answerable = rng.sample(answerable, min(answerable_limit, len(answerable)))
    found = []
    for row in answerable + [r for r in rows if not r["answers"]]:
        spans = paragraphs[paragraph_key(row["context"])][1][:MAX_SENTENCES]
        gold = gold_positions(row, spans) if row["answers"] else set()
        if row["answers"] and not gold:
            continue
        found.append(_case(row, spans, gold, "own" if row["answers"] else "unanswerable"))
    index = _SentenceIndex(paragraphs)
    for row in answerable[:cross_limit]:
        key = paragraph_key(row["context"])
        other = index.best(row["question"], key, group_of(row), row["answers"])
        if other is None:
            continue
        spans = paragraphs[other[0]][1][:MAX_SENTENCES]
        text = " ".join(s for _s, _e, s in spans).lower()
        if not any(answer.lower() in text for answer in row["answers"]):
            found.append(_case(row, spans, set(), "other paragraph"))
    return found


def _case(row: dict, spans: list, gold: set[int], kind: str) -> dict:
    pairs = []
    for i, (_s, _e, sentence) in enumerate(spans):
        before = spans[i - 1][2] if i else ""
        after = spans[i + 1][2] if i + 1 < len(spans) else ""
        pairs.append(pair_text(sentence, f"{before} {after}".strip()))
    return {"question": row["question"], "pairs": pairs, "gold": gold, "kind": kind, "source": row["id"].split(":")[0]}


def measure(cases_: list[dict], score_pairs) -> dict:
    """score_pairs(questions, pairs) -> probabilities (n, 2); returns the metrics the card records."""
    questions = [c["question"] for c in cases_ for _p in c["pairs"]]
    pairs = [p for c in cases_ for p in c["pairs"]]
    probabilities = score_pairs(questions, pairs)
    top1, by_source = [], defaultdict(list)
    paragraph = {"holds": defaultdict(list), "answers": defaultdict(list), "product": defaultdict(list)}
    cursor = 0
    for case in cases_:
        rows = probabilities[cursor : cursor + len(case["pairs"])]
        cursor += len(case["pairs"])
        if case["kind"] == "own":
            hit = int(np.argmax(rows[:, 0])) in case["gold"]
            top1.append(hit)
            by_source[case["source"]].append(hit)
        paragraph["holds"][case["kind"]].append(float(rows[:, 0].max()))
        paragraph["answers"][case["kind"]].append(float(rows[:, 1].max()))
        paragraph["product"][case["kind"]].append(float((rows[:, 0] * rows[:, 1]).max()))
    metrics = {
        "questions_answerable": len(top1),
        "top1_sentence": round(float(np.mean(top1)), 4) if top1 else None,
        "top1_by_source": {s: round(float(np.mean(v)), 4) for s, v in sorted(by_source.items())},
        "negatives": {k: len(v) for k, v in paragraph["holds"].items() if k != "own"},
    }
    for name, scores in paragraph.items():
        negatives = scores["unanswerable"] + scores["other paragraph"]
        metrics[f"answerability_auc_{name}"] = round(auc(scores["own"], negatives), 4)
        metrics[f"answerability_auc_{name}_unanswerable"] = round(auc(scores["own"], scores["unanswerable"]), 4)
        metrics[f"answerability_auc_{name}_other_paragraph"] = round(auc(scores["own"], scores["other paragraph"]), 4)
    return metrics
