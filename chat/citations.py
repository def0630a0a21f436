"""Check an answer's [n] citations against the passages they point at.

A citation stays only when its passage supports its sentence: 60% of the sentence's content words
(by stem) occur in the passage. A sentence left without a citation gets the passage that supports
it best, when that support is strong. Numbers outside the passages shown cannot survive, and the
passages shown are the caller's own search results, so an answer cannot cite what its reader may
not read.
"""

import re
from dataclasses import dataclass, field

from retrieval.condense import content_words

CITE = re.compile(r"\s?\[(\d{1,3})\]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
STEM = 6
KEEP_SUPPORT = 0.6
ATTRIBUTE_SUPPORT = 0.8
MIN_CLAIM_WORDS = 3


@dataclass
class KeptCitation:
    number: int
    support: float
    quote: str
    attributed: bool = False


@dataclass
class Verified:
    text: str
    citations: dict[int, KeptCitation] = field(default_factory=dict)
    dropped: list[dict] = field(default_factory=list)
    supported_sentences: int = 0
    sentences: int = 0


def _stems(text: str) -> set[str]:
    return {word[:STEM] for word in content_words(text)}


def support(claim: str, passage: str) -> float:
    wanted = _stems(claim)
    if not wanted:
        return 0.0
    return len(wanted & _stems(passage)) / len(wanted)


def _quote(claim: str, passage: str) -> str:
    sentences = [s for s in SENTENCE_END.split(passage) if s.strip()] or [passage]
    return max(sentences, key=lambda sentence: support(claim, sentence)).strip()[:500]


def _sentences(text: str) -> list[str]:
    parts, position = [], 0
    for match in SENTENCE_END.finditer(text):
        parts.append(text[position : match.end()])
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return parts


def _with_marks(sentence: str, numbers: list[int]) -> str:
    """The sentence without its old citations, the kept ones before its final punctuation."""
    trailing = sentence[len(sentence.rstrip()) :]
    body = CITE.sub("", sentence).rstrip()
    end = body[-1] if body and body[-1] in ".!?" else ""
    marks = "".join(f" [{number}]" for number in numbers)
    return body[: len(body) - len(end)] + marks + end + trailing


def verify(answer: str, passages: list[str]) -> Verified:
    verified = Verified(text="")
    out = []
    for sentence in _sentences(answer):
        claim = CITE.sub("", sentence).strip()
        numbers = [int(n) for n in CITE.findall(sentence)]
        kept_here = []
        for number in dict.fromkeys(numbers):
            if not 1 <= number <= len(passages):
                verified.dropped.append({"number": number, "reason": "no such passage", "sentence": claim[:200]})
                continue
            score = support(claim, passages[number - 1])
            if score >= KEEP_SUPPORT:
                kept_here.append(number)
                verified.citations.setdefault(
                    number,
                    KeptCitation(number=number, support=round(score, 3), quote=_quote(claim, passages[number - 1])),
                )
            else:
                verified.dropped.append({"number": number, "reason": "unsupported", "support": round(score, 3)})
        if not kept_here and len(content_words(claim)) >= MIN_CLAIM_WORDS and passages:
            scores = [support(claim, passage) for passage in passages]
            best = max(range(len(passages)), key=lambda i: scores[i])
            if scores[best] >= ATTRIBUTE_SUPPORT:
                number = best + 1
                kept_here.append(number)
                verified.citations.setdefault(
                    number,
                    KeptCitation(
                        number=number,
                        support=round(scores[best], 3),
                        quote=_quote(claim, passages[best]),
                        attributed=True,
                    ),
                )
        if claim:
            verified.sentences += 1
            verified.supported_sentences += bool(kept_here)
        out.append(_with_marks(sentence, kept_here) if claim else sentence)
    verified.text = "".join(out).strip()
    return verified


class SentenceChecker:
    """Check the draft's sentences as they complete during streaming, so a reader sees early which
    citations hold; the check after the stream (`verify`) stays the one that is stored."""

    def __init__(self, passages: list[str]):
        self.passages, self.pending, self.index = passages, "", 0

    def feed(self, delta: str) -> list[dict]:
        self.pending += delta
        checked = []
        while (match := SENTENCE_END.search(self.pending)) is not None:
            sentence, self.pending = self.pending[: match.start()], self.pending[match.end() :]
            if sentence.strip():
                checked.append(self._check(sentence))
        return checked

    def _check(self, sentence: str) -> dict:
        result = verify(sentence, self.passages)
        self.index += 1
        return {
            "sentence": self.index,
            "kept": sorted(result.citations),
            "dropped": [item["number"] for item in result.dropped],
        }
