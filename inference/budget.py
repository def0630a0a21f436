"""Fit a prompt into the served model's context window, and count tokens without a round trip.

The count is a safe over-estimate, checked against the bundled model's own tokenizer on prose,
code, log lines, German, Chinese and emoji (tests/inference/test_embedded_engine.py): a run of
ASCII letters costs one token per 4 letters, every digit, punctuation mark, tab and newline one token,
every other character one token per UTF-8 byte, plus 15%. English prose comes out ~1.5x its real
count; a prompt the estimate admits is never refused by the server for length. Dropping order:
least relevant passages first, then the oldest history turns; the system prompt and the question
always stay.
"""

import math
import re
from dataclasses import dataclass, field

from inference.errors import ContextTooLong

MESSAGE_OVERHEAD = 8  # role markers and separators of a chat template
MARGIN = 1.15
PIECES = re.compile(r"[A-Za-z]+|  +| |[\t\r\f\v]|\n|[\x21-\x7e]|[^\x00-\x7f]")


def _piece_tokens(piece: str) -> int:
    first = piece[0]
    if first.isascii() and first.isalpha():
        return math.ceil(len(piece) / 4)
    if first == " ":
        return 1 if len(piece) > 1 else 0  # a single space joins the next word's token
    if not first.isascii():
        return len(first.encode("utf-8"))
    return 1  # digit, punctuation, tab, newline


def count_tokens(text: str) -> int:
    return math.ceil(sum(_piece_tokens(piece) for piece in PIECES.findall(text)) * MARGIN) + 1


def count_message_tokens(messages: list[dict]) -> int:
    return sum(count_tokens(str(message.get("content") or "")) + MESSAGE_OVERHEAD for message in messages) + 2


def check_fits(messages: list[dict], *, max_tokens: int, context_tokens: int) -> int:
    """The estimated prompt tokens; ContextTooLong when prompt + answer cannot fit."""
    prompt = count_message_tokens(messages)
    if prompt + max_tokens > context_tokens:
        raise ContextTooLong(
            f"the prompt (~{prompt} tokens) and the answer ({max_tokens} tokens) exceed the model's "
            f"context of {context_tokens} tokens"
        )
    return prompt


@dataclass
class Fitted:
    passages: list[str]
    history: list[dict]
    dropped_passages: list[int] = field(default_factory=list)  # indexes into the given passages
    dropped_turns: int = 0
    prompt_tokens: int = 0


def fit(
    *,
    system: str,
    question: str,
    passages: list[str],
    history: list[dict],
    max_tokens: int,
    context_tokens: int,
) -> Fitted:
    """Keep as many passages (given best first) and recent turns as fit beside system + question."""
    fixed = count_message_tokens([{"content": system}, {"content": question}])
    room = context_tokens - max_tokens - fixed
    if room < 0:
        raise ContextTooLong(
            f"the system prompt and the question alone (~{fixed} tokens) leave no room for a "
            f"{max_tokens}-token answer in a {context_tokens}-token context"
        )
    kept, dropped = [], []
    for index, passage in enumerate(passages):
        cost = count_tokens(passage) + 4
        if dropped or cost > room:
            dropped.append(index)  # a prefix is kept, so passage numbers stay those of the search
            continue
        kept.append(passage)
        room -= cost
    turns: list[dict] = []
    for turn in reversed(history):
        cost = count_tokens(str(turn.get("content") or "")) + MESSAGE_OVERHEAD
        if cost > room:
            break
        turns.insert(0, turn)
        room -= cost
    return Fitted(
        passages=kept,
        history=turns,
        dropped_passages=dropped,
        dropped_turns=len(history) - len(turns),
        prompt_tokens=context_tokens - max_tokens - room,
    )
