"""Does a passage support a sentence?

A sentence is supported by a passage when one stretch of the passage (a sentence, or two adjacent
ones) holds most of the sentence's content words (by stem) and every *checkable fact* it states:
- each number (digits or a number word up to twenty; "three" matches "3", "1,000" matches "1000"),
- each name (a capitalised word inside the sentence, an acronym, a word with digits such as IFITM3),
- its polarity: each negation it makes must be in the stretch, and a negation in the stretch must not
  deny any of its words.
A stretch that fails a fact cannot support the sentence, however many words it shares. The
coverage threshold was chosen on labelled pairs from covid-qa-dev (even-numbered questions) and
checked on the odd-numbered ones (`bench/support_check`, docs/benchmarks.md).
"""

import functools
import itertools
import re
from dataclasses import dataclass

from retrieval.condense import content_words
from retrieval.sentences import SENTENCE_END, split_sentences  # noqa: F401 (used by the stages)

STEM = 6
MIN_COVERAGE = 0.80  # chosen on the dev pairs: docs/benchmarks.md, "Support check"
CITE = re.compile(r"\s?\[(\d{1,3})\]")
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])|(?<=[A-Za-z]-)\d+(?![\w])")
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-'/]*")
SMALL_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty"
)
NUMBER_WORDS = {word: str(value) for value, word in enumerate(SMALL_NUMBERS.split())} | {
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "hundred": "100",
    "thousand": "1000",
    "once": "1",
    "twice": "2",
}
NEGATION_WORDS = (
    "not no never none neither nor without cannot unable fail fails failed lack lacks lacking absent nothing nobody"
)
NEGATIONS = frozenset(NEGATION_WORDS.split())
# Capitalised words that start many sentences or name nothing checkable.
COMMON_CAPITALISED = (
    "the a an this that these those it its in on at of for to by with from as and or but however "
    "i we you they he she there here yes no according based"
)
NOT_NAMES = frozenset(COMMON_CAPITALISED.split())


@dataclass(frozen=True)
class Support:
    score: float  # content-word coverage of the best stretch that keeps every fact; 0 when none does
    quote: str  # that stretch
    reason: str  # "" when supported enough, else why not

    @property
    def ok(self) -> bool:
        return not self.reason


def claim_text(sentence: str) -> str:
    return CITE.sub("", sentence).strip()


SUFFIXES = ("ing", "ed", "es", "s", "ly")


def stem(word: str) -> str:
    """A light stem: a common inflection off, then the first STEM letters ("booked", "books" -> "book")."""
    for suffix in SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word[:STEM]


def stems(text: str) -> set[str]:
    return {stem(word) for word in content_words(text)}


def numbers(text: str) -> set[str]:
    found = {match.replace(",", "") for match in NUMBER.findall(text)}
    found |= {NUMBER_WORDS[word] for word in re.findall(r"[a-z]+", text.lower()) if word in NUMBER_WORDS}
    return found


def names(text: str) -> set[str]:
    """Words that name something: capitalised inside the sentence, all capitals, or letters with digits."""
    found = set()
    for index, token in enumerate(TOKEN.findall(text)):
        word = token.strip("-'/")
        lower = word.lower()
        if not word or lower in NOT_NAMES or lower in NUMBER_WORDS:
            continue
        mixed = any(c.isdigit() for c in word) and any(c.isalpha() for c in word)
        capitals = sum(c.isupper() for c in word) >= 2
        inner_capital = index > 0 and word[0].isupper()
        if mixed or capitals or inner_capital:
            found.add(lower)
    return found


NEGATION_REACH = 4  # words after a negation that it is taken to deny


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+(?:n't)?", text.lower())


def _is_negation(word: str) -> bool:
    return word in NEGATIONS or word.endswith("n't")


def negations(text: str) -> list[str]:
    return sorted(word for word in _words(text) if _is_negation(word))


def _denied(words, index: int) -> set[str]:
    return {stem(w) for w in words[index + 1 : index + 1 + NEGATION_REACH]}


def polarity_differs(claim: str, stretch: "Stretch") -> bool:
    """Each negation of the claim must be in the stretch, denying one of the same words; a negation in the
    stretch that the claim lacks counts when it denies one of the claim's words ("does not inhibit X")."""
    claim_words = _words(claim)
    held = [(index, word) for index, word in enumerate(stretch.words) if _is_negation(word)]
    for index, word in enumerate(claim_words):
        if not _is_negation(word):
            continue
        denied = _denied(claim_words, index)
        if not any(w == word and (not denied or denied & _denied(stretch.words, j)) for j, w in held):
            return True
    claimed, wanted = set(negations(claim)), stems(claim)
    return any(word not in claimed and _denied(stretch.words, j) & wanted for j, word in held)


@dataclass(frozen=True)
class Stretch:
    text: str
    stems: frozenset[str]
    numbers: frozenset[str]
    lower: str
    words: tuple[str, ...]


@functools.lru_cache(maxsize=256)
def stretches(passage: str) -> tuple[Stretch, ...]:
    """The passage's sentences and each pair of adjacent ones (a claim may join two), with their facts."""
    sentences = split_sentences(passage) or [passage]
    texts = sentences + [f"{a} {b}" for a, b in itertools.pairwise(sentences)]
    return tuple(
        Stretch(text, frozenset(stems(text)), frozenset(numbers(text)), text.lower(), tuple(_words(text)))
        for text in texts
    )


def _missing_fact(claim: str, stretch: Stretch) -> str:
    missing_numbers = numbers(claim) - stretch.numbers
    if missing_numbers:
        return f"number {sorted(missing_numbers)[0]} is not in the passage"
    for name in sorted(names(claim)):
        if name not in stretch.lower:
            return f"name {name!r} is not in the passage"
    if polarity_differs(claim, stretch):
        return "its negation differs from the passage"
    return ""


def support(sentence: str, passage: str, *, threshold: float = MIN_COVERAGE) -> Support:
    claim = claim_text(sentence)
    wanted = stems(claim)
    if not wanted:
        return Support(0.0, "", "it states nothing the passage could support")
    best_score, best_quote = 0.0, ""
    closest, closest_failure = -1.0, ""  # the stretch sharing the most words, whatever its facts
    for stretch in stretches(passage):
        coverage = len(wanted & stretch.stems) / len(wanted)
        failure = _missing_fact(claim, stretch)
        if coverage > closest:
            closest, closest_failure = coverage, failure
        if not failure and coverage > best_score:
            best_score, best_quote = coverage, stretch.text
    if best_score >= threshold:
        return Support(round(best_score, 3), best_quote[:500], "")
    return Support(round(best_score, 3), best_quote[:500], closest_failure or "too few of its words are in the passage")
