"""Training exemplars of the category head: what each taxonomy category looks like, and what it must
not be confused with. The text lives in safety/data/exemplars.json; this module composes it.

Written for this project, in English, in many registers (questions and imperatives, blunt and
polite, short and long). Each harmful category also has a few stretches of a harmful *answer*, so
the same model can moderate an answer as it streams. "benign_sensitive" holds requests that touch the
same subjects and must be answered (killing a process, dangerous chemical mixtures to avoid, how
phishing works for staff training, the history of the Holocaust); "benign_ordinary" holds everyday
enterprise requests, many in the same imperative shapes the harmful ones use ("write a tutorial",
"develop a strategy"), plus harmless answer stretches and refusals. The other tables are items
("*_templates" aside) that a template turns into a request: PER_ITEM variants each.

Keep the public benchmark sets (AdvBench, HarmBench) and evaluation/datasets/ out of here: they
measure this list, so nothing may be copied or paraphrased from them. Changing any text changes
the fingerprint, and `manage.py safety_train` must build a new artifact.
"""

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "exemplars.json"
BENIGN = "benign"
HARMFUL_KIND, SENSITIVE_KIND, ORDINARY_KIND = "harmful", "sensitive", "ordinary"
PROSE_KIND = "prose"  # benign document prose, learnt by the answer head only (safety/training/prose.py)
PER_ITEM = 2

# (table of items per category, template table, group name); the category is the table's key
HARMFUL_COMPOSED = (
    ("howto", "howto_templates", "howto"),
    ("generic", "howto_templates", "generic"),
    ("artifacts", "artifact_templates", "artifact"),
    ("that", "that_templates", "that"),
    ("claims", "persuade_templates", "claim"),
    ("procedures", "procedure_templates", "procedure"),
    ("code", "code_templates", "code"),
)
# (table of items, template table, label, kind, group name)
FLAT_COMPOSED = (
    ("copies", "copy_templates", "copyright", HARMFUL_KIND, "copy"),
    ("should", "should_templates", "specialized_advice", HARMFUL_KIND, "should"),
)
BENIGN_COMPOSED = (
    ("benign_sensitive_howto", "howto_templates", SENSITIVE_KIND, "howto-sensitive"),
    ("benign_generic_howto", "howto_templates", SENSITIVE_KIND, "generic-sensitive"),
    ("benign_ordinary_howto", "howto_templates", ORDINARY_KIND, "howto-ordinary"),
    ("benign_sensitive_that", "that_templates", SENSITIVE_KIND, "that-sensitive"),
    ("benign_ordinary_that", "that_templates", ORDINARY_KIND, "that-ordinary"),
    ("benign_claims", "persuade_templates", SENSITIVE_KIND, "claim-benign"),
    ("benign_procedures", "procedure_templates", SENSITIVE_KIND, "procedure-benign"),
    ("benign_code", "code_templates", SENSITIVE_KIND, "code-benign"),
    ("benign_sensitive_artifacts", "artifact_templates", SENSITIVE_KIND, "artifact-sensitive"),
    ("benign_ordinary_artifacts", "artifact_templates", ORDINARY_KIND, "artifact-ordinary"),
)


@dataclass(frozen=True)
class Exemplar:
    text: str
    label: str  # a taxonomy id or BENIGN
    group: str  # the variants of one composed item share a group (kept in one cross-validation fold)
    kind: str  # harmful | sensitive | ordinary


@cache
def tables() -> dict:
    return json.loads(DATA.read_text())


def _composed(items: list[str], templates: list[str], label: str, kind: str, name: str):
    for index, item in enumerate(items):
        for variant in range(PER_ITEM):
            template = templates[(index * 7 + variant * 5) % len(templates)]
            yield Exemplar(template.format(x=item), label, f"{name}:{label}:{index}", kind)


def exemplar_list() -> list[Exemplar]:
    """Every exemplar, written and composed, in a fixed order."""
    data = tables()
    found: list[Exemplar] = []
    for category, texts in data["harmful"].items():
        found += [Exemplar(text, category, f"written:{category}:{i}", HARMFUL_KIND) for i, text in enumerate(texts)]
    for table, templates, name in HARMFUL_COMPOSED:
        for category, items in data[table].items():
            found += _composed(items, data[templates], category, HARMFUL_KIND, name)
    for table, templates, label, kind, name in FLAT_COMPOSED:
        found += _composed(data[table], data[templates], label, kind, name)
    for kind in (SENSITIVE_KIND, ORDINARY_KIND):
        found += [Exemplar(t, BENIGN, f"written:{kind}:{i}", kind) for i, t in enumerate(data[f"benign_{kind}"])]
    for table, templates, kind, name in BENIGN_COMPOSED:
        found += _composed(data[table], data[templates], BENIGN, kind, name)
    return found


def exemplars() -> list[tuple[str, str]]:
    """(text, label) pairs; the label is a taxonomy id or BENIGN."""
    return [(exemplar.text, exemplar.label) for exemplar in exemplar_list()]


def fingerprint() -> str:
    """A hash of every exemplar and label: the classifier's artifact is keyed by it."""
    return hashlib.sha256(json.dumps(exemplars(), ensure_ascii=False).encode()).hexdigest()
