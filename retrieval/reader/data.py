"""Training examples for the reader, built from an extractive-QA file (corpora/reader-train layout).

Every row is a question, its paragraph and its gold spans (none: the paragraph does not answer). The
paragraph is split into sentences with the answer loop's own splitter, and each example is one
(question, sentence in its context) pair with two labels:
- `holds`: the sentence overlaps a gold span;
- `answers`: the sentence's paragraph answers the question.
Negatives, per answerable question: the paragraph's other sentences that share the most words with the
question (the hard ones) plus one at random; and, for a share of questions, the sentence of ANOTHER
paragraph of the same article (or, without one, of any other paragraph) that shares the most words with
it and holds no gold answer string: the failure where a question about a missing article finds on-topic
sentences of a sibling article. Unanswerable questions give negatives of both labels from their own paragraph.

Rows are split by article (the title, else the paragraph) with a stable hash, so that no article is on two
sides; untitled SQuAD v1.1 paragraphs share articles with titled ones they cannot be linked to, so they
only ever train.
"""

import hashlib
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from retrieval.condense import content_words
from retrieval.sentences import split_sentences

STEM = 6
HARD_NEGATIVES = 2
RANDOM_NEGATIVES = 1
CROSS_SHARE = 0.5  # of answerable questions that also get a sentence of another paragraph as a negative
TWEETS_KEPT = 2000  # TweetQA's one-line paragraphs teach little sentence choice; most are left out
TEST_BUCKET, DEV_BUCKET, BUCKETS = 0, 1, 10


@dataclass(frozen=True)
class Example:
    question: str
    sentence: str
    context: str  # the sentences around it
    holds: int
    answers: int
    group: str  # the article, for grouped splits and question-level metrics
    question_id: str


def stems(text: str) -> set[str]:
    return {word[:STEM] for word in content_words(text)}


def pair_text(sentence: str, context: str) -> str:
    """What the reader reads beside the question: the sentence first (it survives truncation), then its neighbours."""
    return f"{sentence} [SEP] {context}".strip()


def paragraph_key(context: str) -> str:
    return hashlib.sha1(context.encode(), usedforsecurity=False).hexdigest()


def group_of(row: dict) -> str:
    return row["title"] or "p:" + paragraph_key(row["context"])[:16]


def split_of(row: dict) -> str:
    if not row["title"] and row["id"].startswith("squad11-dev:"):
        return "train"
    bucket = int(paragraph_key(group_of(row)), 16) % BUCKETS
    return {TEST_BUCKET: "test", DEV_BUCKET: "dev"}.get(bucket, "train")


def sentence_spans(context: str) -> list[tuple[int, int, str]]:
    spans, cursor = [], 0
    for sentence in split_sentences(context):
        start = context.find(sentence, cursor)
        if start < 0:
            start = cursor
        spans.append((start, start + len(sentence), sentence))
        cursor = start + len(sentence)
    return spans


def gold_positions(row: dict, spans: list[tuple[int, int, str]]) -> set[int]:
    gold = set()
    for answer, start in zip(row["answers"], row["answer_starts"], strict=True):
        end = start + len(answer)
        gold |= {i for i, (s, e, _t) in enumerate(spans) if s < end and start < e}
    return gold


def read_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    tweets = [r for r in rows if r["domain"] == "social-media"]
    dropped = {r["id"] for r in random.Random(7).sample(tweets, max(0, len(tweets) - TWEETS_KEPT))}
    return [r for r in rows if r["id"] not in dropped]


class _SentenceIndex:
    """The sentences of every paragraph of one split, findable by their words, for cross-paragraph negatives."""

    def __init__(self, paragraphs: dict[str, tuple[str, list[tuple[int, int, str]]]]):
        self.entries: list[tuple[str, str, str, str, str]] = []  # paragraph key, group, sentence, before, after
        self.postings: dict[str, list[int]] = defaultdict(list)
        for key, (group, spans) in paragraphs.items():
            for i, (_s, _e, sentence) in enumerate(spans):
                if len(sentence.split()) < 4:
                    continue
                before = spans[i - 1][2] if i else ""
                after = spans[i + 1][2] if i + 1 < len(spans) else ""
                self.postings_add(len(self.entries), sentence)
                self.entries.append((key, group, sentence, before, after))

    def postings_add(self, index: int, sentence: str) -> None:
        for stem in stems(sentence):
            self.postings[stem].append(index)

    def best(self, question: str, paragraph: str, group: str, banned: list[str]) -> tuple[str, str, str, str] | None:
        """The sentence of another paragraph sharing the most rare words, preferring the same article."""
        wanted = sorted(stems(question), key=lambda s: len(self.postings.get(s, ())))[:4]
        votes: dict[int, float] = defaultdict(float)
        for stem in wanted:
            hits = self.postings.get(stem, ())
            if not hits or len(hits) > 4000:
                continue
            for index in hits:
                votes[index] += 1.0 / len(hits) ** 0.5
        ranked = sorted(votes, key=lambda i: (self.entries[i][1] != group, -votes[i]))
        for index in ranked[:50]:
            key, _group, sentence, before, after = self.entries[index]
            lowered = sentence.lower()
            if key != paragraph and not any(answer.lower() in lowered for answer in banned):
                return key, sentence, before, after
        return None


def examples_build(rows: list[dict], *, seed: int, cross: bool = True) -> list[Example]:
    rng = random.Random(seed)
    paragraphs = {}
    for row in rows:
        key = paragraph_key(row["context"])
        if key not in paragraphs:
            paragraphs[key] = (group_of(row), sentence_spans(row["context"]))
    index = _SentenceIndex(paragraphs) if cross else None
    found: list[Example] = []
    for row in rows:
        key = paragraph_key(row["context"])
        group, spans = paragraphs[key]
        if not spans:
            continue
        gold = gold_positions(row, spans)
        answerable = 1 if row["answers"] else 0
        if answerable and not gold:
            continue

        def example(i: int, holds: int, answers: int, *, row=row, spans=spans, group=group) -> Example:
            before = spans[i - 1][2] if i else ""
            after = spans[i + 1][2] if i + 1 < len(spans) else ""
            return Example(row["question"], spans[i][2], f"{before} {after}".strip(), holds, answers, group, row["id"])

        for i in sorted(gold)[:2]:
            found.append(example(i, 1, 1))
        wanted = stems(row["question"])
        others = [i for i in range(len(spans)) if i not in gold and len(spans[i][2].split()) >= 3]
        others.sort(key=lambda i: -len(wanted & stems(spans[i][2])))
        hard = others[: HARD_NEGATIVES + (1 if not answerable else 0)]
        rest = [i for i in others if i not in hard]
        chosen = hard + rng.sample(rest, min(RANDOM_NEGATIVES, len(rest)))
        found.extend(example(i, 0, answerable) for i in chosen)
        if index is not None and answerable and rng.random() < CROSS_SHARE:
            other = index.best(row["question"], key, group, row["answers"])
            if other is not None:
                _key, sentence, before, after = other
                found.append(Example(row["question"], sentence, f"{before} {after}".strip(), 0, 0, group, row["id"]))
    return found


def examples_by_split(path: Path, *, seed: int) -> dict[str, list[Example]]:
    rows = read_rows(path)
    by_split: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_split[split_of(row)].append(row)
    return {name: examples_build(part, seed=seed + n) for n, (name, part) in enumerate(sorted(by_split.items()))}


def beir_examples(folder: Path, question_ids: list[str], *, seed: int) -> list[Example]:
    """Pairs from a BEIR folder with answers.jsonl (covid-qa-dev): each question against its article's sentences,
    the article being the paragraph, and against the best sentence of another article."""
    articles = {}
    with open(folder / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            article = json.loads(line)
            articles[str(article["_id"])] = article["text"]
    questions = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as handle:
        for line in handle:
            query = json.loads(line)
            questions[str(query["_id"])] = query["text"]
    answers = {}
    with open(folder / "answers.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            answers[str(row["query_id"])] = row
    rows = []
    for qid in question_ids:
        answer = answers.get(qid)
        if not answer or answer.get("is_impossible"):
            continue
        rows.append(
            {
                "id": f"beir:{qid}",
                "question": questions[qid],
                "context": articles[str(answer["doc_id"])],
                "answers": answer["answers"],
                "answer_starts": answer["answer_starts"],
                "title": f"beir:{answer['doc_id']}",
            }
        )
    return examples_build(rows, seed=seed)
