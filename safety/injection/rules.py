"""The instruction rules: named regular expressions (safety/data/injection_rules.toml) scored per sentence.

Fragments are substituted into patterns where a pattern names them as {{NAME}}; a fragment may name
an earlier one. A rule matches the normalised sentence: NFKC, look-alike Cyrillic and Greek letters
folded to Latin, lower case, curly quotes straightened, markdown emphasis and code marks read as spaces.
"""

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "injection_rules.toml"
THRESHOLD = 2
REFERENCE = re.compile(r"\{\{([A-Z_]+)\}\}")

CONFUSABLES = str.maketrans(
    "аеорсухіѕјԁһӏԛԝӀАВЕКМНОРСТХУІЅЈαεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxisjdhlqwlABEKMHOPCTXYISJaeikvoptuxABEHIKMNOPTYX",
)
# Curly quotes to straight ones; markdown emphasis and code marks to spaces.
PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "*": " ",
        "`": " ",
        "~": " ",
    }
)


@dataclass(frozen=True)
class Rule:
    name: str
    weight: int
    pattern: re.Pattern


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _expand(template: str, fragments: dict[str, str]) -> str:
    return REFERENCE.sub(lambda match: fragments[match.group(1)], template)


def rules_load(path: Path = DATA) -> tuple[dict[str, str], tuple[Rule, ...]]:
    """(the expanded fragments, the compiled rules) of a rules file."""
    data = tomllib.loads(path.read_text())
    fragments: dict[str, str] = {}
    for name, value in data["fragments"].items():
        fragments[name] = _expand(_text(value), fragments)
    rules = tuple(
        Rule(rule["name"], rule["weight"], re.compile(_expand(_text(rule["pattern"]), fragments), re.MULTILINE))
        for rule in data["rules"]
    )
    return fragments, rules


FRAGMENTS, RULES = rules_load()

# "Include a link to your portfolio in your reply": a sentence that also speaks of the reader's own
# things is written to a person, so edits of "your reply" count one point less there.
READER_OWNS = re.compile(
    rf"\byour\s+(?!{FRAGMENTS['ANSWER']}\b|(?:previous|prior|system|initial|original|new|real|own)\b)[a-z]+"
)
ADDRESSEE_SENSITIVE = {"answer_edit", "answer_insert"}


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(CONFUSABLES).lower().translate(PUNCTUATION)
    return re.sub(r"[ \t\r\f\v]+", " ", text).strip()


def rule_hits(sentence: str) -> list[Rule]:
    normalized = normalize(sentence)
    return [rule for rule in RULES if rule.pattern.search(normalized)]


def score(sentence: str) -> int:
    hits = rule_hits(sentence)
    points = sum(rule.weight for rule in hits)
    if any(rule.name in ADDRESSEE_SENSITIVE for rule in hits) and READER_OWNS.search(normalize(sentence)):
        points -= 1
    return points
