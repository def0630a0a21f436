"""The harm model's training rows and the measurements its card records.

Rows: corpora/safety-train with the project's fixed family split (safety/training/data.py). Weights: the
harmful rows together weigh as much as the benign ones, and a benign-but-sensitive row SENSITIVE_WEIGHT
ordinary ones (`row_weights`). A CONTEXT_SHARE of the training rows is also given, as a second row,
after a paragraph of real benign text (`contexts`), so that a request after a pasted document is judged by
the request.

Contexts: real benign documents, never requests of the safety data: the clean carriers of
corpora/injection-train (e-mails, tool outputs, command-line documentation and manuals) of 200-1,500
characters. They are split by source and category (sha256 bucket: 0-1 test, 2-3 dev, the rest train), so
the long-input measurement uses documents no training row was given.

Long inputs (`long_inputs`) are built by one transparent rule from real rows: each test request (harmful
and benign-but-sensitive) after the test context at (its index mod the number of test contexts), once as a
separate paragraph (blank line between) and once in the same paragraph (a space between).
"""

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from safety.training import data
from safety.training.finetune import Labelled

SENSITIVE_WEIGHT = 2.0
CONTEXT_SHARE = 0.3
CONTEXT_KINDS = ("carrier:email", "carrier:tool-response", "carrier:document", "imperative:how-to", "imperative:manual")
CONTEXT_CHARACTERS = (200, 1500)
FPR_TARGETS = {"sensitive": 0.05, "ordinary": 0.01}  # the threshold is the lowest that keeps both on dev


def contexts_file() -> Path:
    return Path(settings.ENCLAVE_CORPORA_DIR) / "injection-train" / "clean.jsonl"


def context_split(source: str, category: str) -> str:
    bucket = int(hashlib.sha256(f"{data.SEED}:{source}|{category}".encode()).hexdigest(), 16) % 10
    return "test" if bucket < 2 else "dev" if bucket < 4 else "train"


def contexts(split: str) -> list[str]:
    found = []
    for line in contexts_file().read_text().splitlines():
        row = json.loads(line)
        low, high = CONTEXT_CHARACTERS
        wanted = row["category"].split("/")[0] in CONTEXT_KINDS and low <= len(row["text"]) <= high
        if wanted and context_split(row["source"], row["category"]) == split:
            found.append(row["text"].strip())
    return found


def with_context(context: str, request: str, *, same_paragraph: bool) -> str:
    return f"{context}{' ' if same_paragraph else chr(10) * 2}{request}"


def labelled(
    rows: list[data.Row], *, context_from: list[str] | None = None, seed: int = data.SEED, family_power: float = 0.0
) -> Labelled:
    """The rows as training examples; with `context_from`, a CONTEXT_SHARE of them again after a context.
    With `family_power` p > 0 a row of a family of n rows weighs n^-p within its kind (`family_factors`)."""
    texts, kinds, families = [r.text for r in rows], [r.kind for r in rows], [family_of(r) for r in rows]
    if context_from:
        rng = random.Random(seed)
        for row in rng.sample(rows, int(len(rows) * CONTEXT_SHARE)):
            texts.append(with_context(rng.choice(context_from), row.text, same_paragraph=rng.random() < 0.5))
            kinds.append(row.kind)
            families.append(family_of(row))
    kinds_array = np.asarray(kinds)
    weights = row_weights(kinds_array, sensitive_weight=SENSITIVE_WEIGHT)
    if family_power:
        weights = weights * family_factors(families, kinds_array, family_power)
    return Labelled(
        texts=texts,
        labels=(kinds_array == "harmful").astype(np.float32),
        weights=weights.astype(np.float32),
    )


EXEMPLAR_TOPICS = ("out", "benign")


def exemplar_rows(topics: str = "out") -> list[data.Row]:
    """The hand-written exemplars (safety/data/exemplars.json) as training rows, for `train_harm_model
    --exemplars`: harmful where their category is refused by default. A policy topic (specialised advice,
    regulated goods, political persuasion) is not refused by default: left out, or with topics="benign" a
    benign ordinary row, so that the model leaves those requests to the category head. Never in dev, test or a
    held-out fold."""
    from safety import exemplars
    from safety.classifiers.embedded import REFUSED_BY_DEFAULT

    rows = []
    for e in exemplars.exemplar_list():
        kind = e.kind
        if kind == "harmful" and e.label not in REFUSED_BY_DEFAULT:
            if topics != "benign":
                continue
            kind = "ordinary"
        rows.append(
            data.Row(text=e.text, kind=kind, source="enclave/exemplars", category=e.label, split="train", group=e.group)
        )
    return rows


def family_factors(families: list[str], kinds: np.ndarray, power: float) -> np.ndarray:
    """Per row, (rows of its family)^-power, rescaled so that each kind keeps its total weight: a large
    templated family (AART, HarmfulQA) weighs less per row, a small hand-written one more."""
    sizes: dict[str, int] = {}
    for family in families:
        sizes[family] = sizes.get(family, 0) + 1
    factors = np.asarray([sizes[family] ** -power for family in families], dtype=np.float64)
    for kind in set(kinds.tolist()):
        here = kinds == kind
        factors[here] *= here.sum() / factors[here].sum()
    return factors


def row_weights(kinds: np.ndarray, *, sensitive_weight: float) -> np.ndarray:
    """kinds: harmful | sensitive | ordinary per row. Mean weight 1, harmful and benign halves equal."""
    weights = np.where(kinds == "sensitive", float(sensitive_weight), 1.0)
    harmful = kinds == "harmful"
    if harmful.any() and (~harmful).any():
        weights[harmful] *= weights[~harmful].sum() / weights[harmful].sum()
    return weights * len(weights) / weights.sum()


def threshold_choose(scores: np.ndarray, kinds: np.ndarray) -> float:
    """The lowest threshold (0.01 steps) at which every benign kind stays within its FPR target."""
    for threshold in np.round(np.arange(0.05, 1.0, 0.01), 2):
        if all(
            not np.any(kinds == kind) or np.mean(scores[kinds == kind] >= threshold) <= target
            for kind, target in FPR_TARGETS.items()
        ):
            return float(threshold)
    return 0.99


def recall_at_operating_point(scores: np.ndarray, kinds: np.ndarray) -> float:
    """Early stopping's measure: harmful recall at the threshold `threshold_choose` would pick."""
    threshold = threshold_choose(scores, kinds)
    return float(np.mean(scores[kinds == "harmful"] >= threshold))


def rates(flagged: np.ndarray, kinds: np.ndarray) -> dict:
    return {
        kind: {"rows": int(np.sum(kinds == kind)), "flagged": round(float(np.mean(flagged[kinds == kind])), 4)}
        for kind in data.FILES
        if np.any(kinds == kind)
    }


@dataclass(frozen=True)
class LongInputs:
    texts: list[str]
    kinds: np.ndarray
    bare: np.ndarray  # index of the same request without context
    layout: np.ndarray  # "paragraph" | "same paragraph" | "request first"


LAYOUTS = ("paragraph", "same paragraph")  # the card's; "request first" (the request, then a blank line and the
# context) is measured by bench/safety_classifier: what a classifier that reads only a text's end misses


def long_inputs(requests: list[data.Row], context_pool: list[str], layouts: tuple[str, ...] = LAYOUTS) -> LongInputs:
    texts, kinds, bare, layout = [], [], [], []
    for index, row in enumerate(requests):
        if row.kind == "ordinary":
            continue
        context = context_pool[index % len(context_pool)]
        for name in layouts:
            if name == "request first":
                texts.append(f"{row.text}\n\n{context}")
            else:
                texts.append(with_context(context, row.text, same_paragraph=name == "same paragraph"))
            kinds.append(row.kind)
            bare.append(index)
            layout.append(name)
    return LongInputs(texts, np.asarray(kinds), np.asarray(bare), np.asarray(layout))


def long_input_rates(flagged_long: np.ndarray, flagged_bare: np.ndarray, cases: LongInputs) -> dict:
    """Per layout: harmful recall and benign-but-sensitive flags with context, and of the same requests bare."""
    found = {}
    for layout in dict.fromkeys(cases.layout.tolist()):
        here = cases.layout == layout
        found[layout] = {
            kind: {
                "rows": int(np.sum(here & (cases.kinds == kind))),
                "flagged_with_context": round(float(np.mean(flagged_long[here & (cases.kinds == kind)])), 4),
                "flagged_bare": round(float(np.mean(flagged_bare[cases.bare[here & (cases.kinds == kind)]])), 4),
            }
            for kind in ("harmful", "sensitive")
        }
    return found


# --- leave source out ------------------------------------------------------------------------------------------

LOSO_FOLDS = 5


def family_of(row: data.Row) -> str:
    """A source family: one repository's rows of one kind (CoCoNot gives harmful, sensitive and ordinary rows)."""
    return f"{row.source}:{row.kind}"


def loso_folds(rows: list[data.Row], folds: int = LOSO_FOLDS) -> list[list[str]]:
    """Families dealt round-robin into `folds` groups, kind by kind and largest first, so that each fold holds
    out some harmful, some benign-but-sensitive and some ordinary families."""
    sizes: dict[str, int] = {}
    for row in rows:
        sizes[family_of(row)] = sizes.get(family_of(row), 0) + 1
    kind_order = {kind: n for n, kind in enumerate(data.FILES)}
    ordered = sorted(sizes, key=lambda family: (kind_order[family.rsplit(":", 1)[1]], -sizes[family], family))
    dealt: list[list[str]] = [[] for _ in range(folds)]
    for index, family in enumerate(ordered):
        dealt[index % folds].append(family)
    return dealt


def loso_summary(per_family: dict[str, dict]) -> dict:
    """Unweighted means over families: harmful recall, and the flag rate of each benign kind."""
    summary = {}
    for kind in data.FILES:
        values = [found["flagged"] for family, found in per_family.items() if family.endswith(f":{kind}")]
        if values:
            summary[kind] = {"families": len(values), "mean_flagged": round(float(np.mean(values)), 4)}
    return summary


def category_rates(categories: list[str | None], kinds: np.ndarray) -> dict:
    """Per kind of row, the share whose verdict names each category ("none": passed)."""
    found = {}
    for kind in data.FILES:
        here = [c or "none" for c, k in zip(categories, kinds, strict=True) if k == kind]
        if here:
            shares = {c: round(here.count(c) / len(here), 4) for c in sorted(set(here))}
            found[kind] = {"rows": len(here), "shares": shares}
    return found


# A flagged request keeps a policy-topic name only when the head gives that topic at least topic_keep: the
# lowest of these whose share of dev's flagged harmful requests named a policy topic is at most
# TOPIC_DOWNGRADE_TARGET: no more than the classifier shipped before the rule, measured by topic_keep_choose
# (4 of 865, 0.46%, rounded up). 0.0 is the rule before it; 1.0 names every flagged request among the refused
# categories.
TOPIC_KEEP_GRID = (0.0, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)
TOPIC_DOWNGRADE_TARGET = 0.005


def whole_classifier(model):
    """The whole classifier (rules, `model`, the category head built from the exemplars over `model`'s layers),
    reading every window whatever ENCLAVE_MODERATION_READS says, as the card's measurements do."""
    from safety.classifiers.detector import Features
    from safety.classifiers.embedded import EmbeddedClassifier
    from safety.training import build

    features = Features(model)
    return EmbeddedClassifier(embedder=features, artifact=build.artifact_build(features), harm=model, reads="whole")


def topic_keep_choose(classifier, rows: list[data.Row]) -> dict:
    """topic_keep for a whole_classifier, chosen on `rows` (dev): of the harmful requests its harm model flags
    (not a rule), the share each candidate would name a policy topic."""
    from safety.classifiers import rules
    from safety.classifiers.embedded import topic_kept

    texts = [r.text for r in rows if r.kind == "harmful" and not rules.match(r.text)]
    scored = classifier.windows_scored(texts)
    flagged = [head[[harm.argmax()]] for harm, head in scored if harm.max() >= classifier.harm.threshold]
    head = classifier.artifact.head
    named_topic = {
        keep: float(np.mean([topic_kept(head, row, keep) for row in flagged])) if flagged else 0.0
        for keep in TOPIC_KEEP_GRID
    }
    chosen = next((keep for keep in TOPIC_KEEP_GRID if named_topic[keep] <= TOPIC_DOWNGRADE_TARGET), 1.0)
    return {
        "topic_keep": chosen,
        "target": TOPIC_DOWNGRADE_TARGET,
        "dev_flagged_harmful": len(flagged),
        "dev_named_a_topic": {str(keep): round(share, 4) for keep, share in named_topic.items()},
    }


def categories_measured(classifier, rows: list[data.Row]) -> dict:
    """A whole_classifier on `rows`: which category each row is named in, per kind, so the safety page can say
    what a policy refuses."""
    from safety.exemplars import fingerprint

    verdicts = classifier.classify_many([r.text for r in rows])
    return {
        "exemplars_sha256": fingerprint(),
        "head_reads": classifier.embedder.name,
        "topic_keep": classifier.topic_keep,
        "kinds": category_rates([v.category for v in verdicts], np.asarray([r.kind for r in rows])),
    }


def category_head_measured(model, dev: list[data.Row], test: list[data.Row]) -> tuple[dict, dict]:
    """(the card's category_head, its metrics.test_by_category): topic_keep chosen on `dev`, then `test` named
    with it. The head is built once for both."""
    classifier = whole_classifier(model)
    category_head = topic_keep_choose(classifier, dev)
    classifier.topic_keep = category_head["topic_keep"]
    return category_head, categories_measured(classifier, test)
