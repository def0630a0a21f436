"""Public grounded-answer examples from the reader corpus (corpora/reader-train: SQuAD, NQ, …), in the
answer loop's own prompt (chat/answer/prompt.py): numbered evidence from the question's paragraph and from another
article's paragraph, in random order; the answer copies the sentence that holds the gold span and cites its
number. A question its paragraph does not answer gets the loop's refusal to guess.

Preference pairs prefer that answer over citing the other article's on-topic sentence (the sibling-article
mistake) and over the same sentence without its citation.

Only the reader's training split is used (retrieval/reader/data.split_of), so its held-out articles stay held out.
"""

import random
from pathlib import Path

from chat.answer import prompt
from retrieval.reader.data import gold_positions, read_rows, sentence_spans, split_of

NOT_IN_DOCUMENTS = "The documents do not say."
MAX_SENTENCES = 4  # of each paragraph around what matters


def _window(spans: list, centre: int) -> list[str]:
    start = max(0, min(centre - 1, len(spans) - MAX_SENTENCES))
    return [text for _s, _e, text in spans[start : start + MAX_SENTENCES]]


def _cited(sentence: str, number: int) -> str:
    return f"{sentence.rstrip().rstrip('.')} [{number}]."


def _example(row: dict, other: dict, rng: random.Random):
    spans, other_spans = sentence_spans(row["context"]), sentence_spans(other["context"])
    if not spans or not other_spans:
        return None
    gold = sorted(gold_positions(row, spans)) if row["answers"] else []
    own = _window(spans, gold[0] if gold else rng.randrange(len(spans)))
    foreign = _window(other_spans, rng.randrange(len(other_spans)))
    numbers = [1, 2] if rng.random() < 0.5 else [2, 1]
    grouped = dict(sorted({numbers[0]: own, numbers[1]: foreign}.items()))
    messages = prompt.messages(system=prompt.SYSTEM, question=row["question"], evidence=prompt.evidence_block(grouped))
    if not gold:
        return messages, NOT_IN_DOCUMENTS, None
    sentence = spans[gold[0]][2]
    wrong = [_cited(rng.choice(foreign), numbers[1]), sentence.rstrip()]
    return messages, _cited(sentence, numbers[0]), wrong


def grounded_rows(qa: Path, *, sft: int, pairs: int, seed: int = 2026) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    rows = [row for row in read_rows(qa) if split_of(row) == "train" and len(row["context"]) < 3000]
    rng.shuffle(rows)
    sft_rows, preference_rows = [], []
    for index, row in enumerate(rows):
        if len(sft_rows) >= sft and len(preference_rows) >= pairs:
            break
        other = rows[(index + 1 + rng.randrange(len(rows) - 1)) % len(rows)]
        if other["title"] == row["title"]:
            continue
        built = _example(row, other, rng)
        if built is None:
            continue
        messages, answer, wrong = built
        if len(sft_rows) < sft:
            sft_rows.append({"messages": [*messages, {"role": "assistant", "content": answer}]})
        elif wrong and len(preference_rows) < pairs:
            chosen = [{"role": "assistant", "content": answer}]
            rejected = [{"role": "assistant", "content": rng.choice(wrong)}]
            preference_rows.append({"prompt": messages, "chosen": chosen, "rejected": rejected})
    return sft_rows, preference_rows
