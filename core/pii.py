"""PII redaction for training exports, logs and traces shown to admins.

Regular expressions plus a few checksums (Luhn for cards, mod-97 for IBANs); no models, no network.
The patterns are conservative on purpose: a missed phone number is a small leak, but numbers, dates
and versions turned into placeholders ruin the text we train on. Kinds run in a fixed order so an
earlier, more specific kind is not half-eaten by a later one (emails, IBANs, cards, SSNs, phones,
then names); placeholders contain no digits or capitalised words, so later passes skip them.
"""

import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_WORD_LISTS = tomllib.loads((Path(__file__).parent / "data" / "given_names.toml").read_text())
GIVEN_NAMES = frozenset(_WORD_LISTS["given_names"].split())
AMBIGUOUS_GIVEN_NAMES = frozenset(_WORD_LISTS["ambiguous_given_names"].split())
COMMON_WORDS = _WORD_LISTS["common_words"].split()

PLACEHOLDERS = {kind: f"[{kind.upper()}]" for kind in ("email", "iban", "card", "ssn", "phone", "name")}


@dataclass(frozen=True)
class Redaction:
    """Redacted text and how many items of each kind were replaced (kinds with zero are left out)."""

    text: str
    counts: dict[str, int]


def _trie(words: Iterable[str]) -> str:
    """A regex matching any of `words`, longest first, built as a trie: a plain alternation of a
    thousand names is about twenty times slower to search."""
    root: dict = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict) -> str:
        branches = [(r"\s+" if char == " " else re.escape(char)) + emit(child) for char, child in node.items() if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if "" in node else body

    return emit(root)


# --- numbers -------------------------------------------------------------------------------------

EMAIL = re.compile(r"(?<![\w.+-])[\w.%+-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
# Contiguous 13-19 digits, 4-4-4-x groups, or Amex-style 4-6-5; issuers start with 2-6.
CARD = re.compile(
    r"(?<![\w.,-])(?=[2-6])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5})"
    r"(?![\w-]|[.,]\d)"
)
SSN = re.compile(r"(?<![\w.,/-])(?!000|666|9)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-]|[.,/]\d)")
# Three shapes only, and never a piece of a longer run of digits, dots or dashes.
PHONE = re.compile(
    r"(?<![\w+.,/-])(?<!\d )(?:"
    r"\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){1,6}"  # +44 20 7946 0958, +1-202-555-0143
    r"|(?:1[ .-])?(?:\(\d{3}\) ?\d{3}[.-]|\d{3}([.-])\d{3}\1)\d{4}"  # (202) 555-0143, 202.555.0143
    r"|(?:\(0\d{2,4}\) ?|0\d{2,4}[ -])\d{3,4}[ -]?\d{3,4}"  # 020 7946 0958, 07700 900123
    r")(?![\w-]|[.,/ ]\d)"
)
# "Phone: 555 0143", "Tel. no. 5550143": a label makes shorter, oddly grouped numbers safe to take.
PHONE_LABELLED = re.compile(
    r"(?i:\b(?:tel|telephone|phone|mobile|cell|fax)\b(?:\.?[ \t]*(?:number|no\.?|\#)[ \t]*:?|\.[ \t]*:?|[ \t]*:))"
    r"[ \t]*(\+?\(?\d[\d ().-]{5,18}\d)(?![\w-]|[.,/]\d)"
)
# A label is not enough for "Mobile: 2024-2025" or "Phone: 2024-05-01".
DATE_OR_YEARS = re.compile(r"(?:19|20)\d\d[-/. ]+(?:(?:19|20)\d\d|\d\d?[-/. ]\d\d?)")

# --- names ---------------------------------------------------------------------------------------

_UPPER = "A-ZÀ-ÖØ-Þ"
DETERMINERS = {"a", "an", "the", "this", "that", "our", "your", "their", "my", "his", "her", "its", "each", "every"}
# One capitalised word that is not a common word: Smith, O'Brien, McDonald, Smith-Jones (not "Smith's").
NAME_WORD = rf"(?!(?i:{_trie(COMMON_WORDS)})\b)[{_UPPER}]['\u2019]?[^\W\d_]+(?:[-'\u2019](?!s\b)[^\W\d_]+)*(?!\w)"
INITIAL = rf"[{_UPPER}]\."
# The words of one name are joined by single spaces; wider gaps are table columns ("Max    Mean").
NAME_RUN = rf"(?:{INITIAL} ?){{0,3}}{NAME_WORD}(?: (?:{INITIAL} )?{NAME_WORD}){{0,2}}"

HONORIFIC = re.compile(rf"\b(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Dame|Mme|Mlle|Herr|Frau)\.?[ \t]+({NAME_RUN})")
INTRODUCTION = re.compile(
    r"(?:(?i:\bmy[ \t]+name[ \t]+is|\bmy[ \t]+name's|\bI[ \t]+am|\bI['\u2019]m)"
    r"|(?im:^[ \t]*(?:full[ \t]+|first[ \t]+|last[ \t]+|contact[ \t]+|customer[ \t]+|employee[ \t]+)?name[ \t]*:))"
    rf"[ \t]+({NAME_RUN})"
)
SIGNATURE = re.compile(
    r"(?:^|(?<=[.!?] ))[ \t]*(?:(?:Best|Kind|Warm|Warmest)[ \t]+[Rr]egards|Regards|Best(?:[ \t]+wishes)?"
    r"|Many[ \t]+thanks|Thanks|Thank[ \t]+you|Cheers|Sincerely|Yours(?:[ \t]+(?:sincerely|truly|faithfully))?"
    r"|Respectfully)"
    rf"(?:[ \t]*,[ \t]*\n?|[ \t]*\n)[ \t]*({NAME_RUN})",
    re.MULTILINE,
)
FIRST_LAST = re.compile(
    rf"(?<![\w'\u2019-])(?:{_trie(GIVEN_NAMES)})(?: {INITIAL})?(?: {NAME_WORD}){{1,2}}"
    r"(?![\w-]|['\u2019](?!s\b)\w)"
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _iban_ok(compact: str) -> bool:
    if not 15 <= len(compact) <= 34:
        return False
    rotated = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rotated)) % 97 == 1


# Each judge gets a match and returns the span to replace, or None to leave the match alone.
Judge = Callable[[re.Match], tuple[int, int] | None]


def _whole(match: re.Match) -> tuple[int, int] | None:
    return match.span()


def _first_group(match: re.Match) -> tuple[int, int] | None:
    return match.span(1)


def _card(match: re.Match) -> tuple[int, int] | None:
    digits = re.sub(r"\D", "", match.group())
    return match.span() if 13 <= len(digits) <= 19 and _luhn_ok(digits) else None


def _iban(match: re.Match) -> tuple[int, int] | None:
    # The pattern may run into a following word ("... 00 EUR"); drop trailing groups until it checks out.
    groups = match.group().split(" ")
    for size in range(len(groups), 0, -1):
        candidate = " ".join(groups[:size])
        if _iban_ok(candidate.replace(" ", "")):
            return match.start(), match.start() + len(candidate)
    return None


def _phone(match: re.Match) -> tuple[int, int] | None:
    group = match.re.groups if match.re is PHONE_LABELLED else 0
    digits = sum(char.isdigit() for char in match.group(group))
    if not 7 <= digits <= 15 or DATE_OR_YEARS.fullmatch(match.group(group)):
        return None
    return match.span(group)


def _first_last(match: re.Match) -> tuple[int, int] | None:
    # "Will Microsoft ship?", "the Grace Period", "a Bill Payment": words, not names.
    if match.group().split()[0] not in AMBIGUOUS_GIVEN_NAMES:
        return match.span()
    before = match.string[: match.start()].rstrip(" \t\"'(\u201c\u2018")
    words = before.split()
    if not words or before[-1] in ".!?:\n\r" or words[-1].lower() in DETERMINERS:
        return None
    return match.span()


NUMBER_RULES: list[tuple[str, re.Pattern, Judge]] = [
    ("email", EMAIL, _whole),
    ("iban", IBAN, _iban),
    ("card", CARD, _card),
    ("ssn", SSN, _whole),
    ("phone", PHONE, _phone),
    ("phone", PHONE_LABELLED, _phone),
]
NAME_RULES: list[tuple[str, re.Pattern, Judge]] = [
    ("name", HONORIFIC, _first_group),
    ("name", INTRODUCTION, _first_group),
    ("name", SIGNATURE, _first_group),
    ("name", FIRST_LAST, _first_last),
]


ORDINARY_WORDS = set(COMMON_WORDS) | {name.lower() for name in AMBIGUOUS_GIVEN_NAMES}


def _names_pattern(names: Iterable[str]) -> re.Pattern | None:
    """Known names, and the parts of full names, as one case-insensitive pattern (full names win)."""
    variants = set()
    for name in names:
        parts = (name or "").lower().split()
        if len(parts) > 1:
            variants.add(" ".join(parts))
        # A user called Will Turner must not turn every "will" into [NAME].
        variants.update(part for part in parts if len(part) >= 3 and part not in ORDINARY_WORDS)
    if not variants:
        return None
    return re.compile(rf"(?<![\w\[])(?:{_trie(variants)})(?![\w\]])", re.IGNORECASE)


def _substitute(text: str, kind: str, pattern: re.Pattern, judge: Judge, counts: Counter) -> str:
    def replace(match: re.Match) -> str:
        span = judge(match)
        if span is None:
            return match.group()
        counts[kind] += 1
        start, end = span[0] - match.start(), span[1] - match.start()
        return match.group()[:start] + PLACEHOLDERS[kind] + match.group()[end:]

    return pattern.sub(replace, text)


def _redact(text: str, known: re.Pattern | None, counts: Counter) -> str:
    # Known names run last: run first, a known "Jane" would leave "Dr Jane Doe" as "Dr [NAME] Doe".
    known_rules = [("name", known, _whole)] if known else []
    for kind, pattern, judge in [*NUMBER_RULES, *NAME_RULES, *known_rules]:
        text = _substitute(text, kind, pattern, judge, counts)
    return text


def redact(text: str, *, names: Iterable[str] = ()) -> Redaction:
    """Replace emails, IBANs, cards, SSNs, phone numbers and detectable names with placeholders.

    `names` are people known to be in the text (a tenant's users: full names, first and last names,
    usernames); they are matched case-insensitively on word boundaries, parts under 3 characters skipped.
    """
    counts: Counter = Counter()
    redacted = _redact(text, _names_pattern(names), counts)
    return Redaction(text=redacted, counts=dict(counts))


def redact_value(value: Any, *, names: Iterable[str] = ()) -> tuple[Any, dict[str, int]]:
    """Redact every string inside a JSON-like value (dict values, list and tuple items); keys are kept."""
    known = _names_pattern(names)
    counts: Counter = Counter()

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return _redact(item, known, counts)
        if isinstance(item, dict):
            return {key: walk(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [walk(inner) for inner in item]
        if isinstance(item, tuple):
            return tuple(walk(inner) for inner in item)
        return item

    return walk(value), dict(counts)
