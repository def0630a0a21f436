"""The labelled safety data (corpora/safety-train) and its fixed train / dev / test split.

Rows are grouped by source and category, so a templated family (one AART crime, one HarmfulQA
subtopic, the PAIR rewrites of one JailbreakBench goal) stays on one side. A category holding more
than MAX_FAMILY rows is a coarse label over independently written prompts (CoCoNot's "dangerous or
sensitive topics", NQ's trigger-word questions, GSM8K): its rows are split one by one. Within each
kind (harmful, benign-but-sensitive, ordinary benign) the groups, in the order of a seeded hash, go
to whichever split is furthest below its share of rows.
Thresholds and model choices are made on dev; test is only reported.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

SEED = 2026
SHARES = {"train": 0.6, "dev": 0.2, "test": 0.2}
MAX_FAMILY = 100
FILES = {"harmful": "harmful.jsonl", "sensitive": "benign_sensitive.jsonl", "ordinary": "benign_ordinary.jsonl"}


@dataclass(frozen=True)
class Row:
    text: str
    kind: str  # harmful | sensitive | ordinary
    source: str  # owner/repo, without the commit
    category: str  # the source's own category, not the taxonomy's
    split: str
    group: str = ""  # the family kept on one side of the split (source|category, or the row alone)

    @property
    def harmful(self) -> bool:
        return self.kind == "harmful"


def folder() -> Path:
    return Path(settings.ENCLAVE_CORPORA_DIR) / "safety-train"


def group_of(source: str, category: str) -> str:
    return f"{source}|{category.strip().lower()}"


def _order(group: str) -> str:
    return hashlib.sha256(f"{SEED}:{group}".encode()).hexdigest()


def split_groups(sizes: dict[str, int]) -> dict[str, str]:
    """group -> split, filling each split towards its share of the rows."""
    total = sum(sizes.values()) or 1
    filled = dict.fromkeys(SHARES, 0)
    chosen = {}
    for group in sorted(sizes, key=_order):
        split = min(SHARES, key=lambda name: filled[name] / total - SHARES[name])
        chosen[group] = split
        filled[split] += sizes[group]
    return chosen


def rows(base: Path | None = None) -> list[Row]:
    """Every row with its split, in file order."""
    base = base or folder()
    found = []
    for kind, name in FILES.items():
        raw = [json.loads(line) for line in (base / name).read_text().split("\n") if line.strip()]
        keyed = [(r["prompt"], r["source"].split("@")[0], r.get("category") or "") for r in raw]
        families: dict[str, int] = {}
        for _text, source, category in keyed:
            families[group_of(source, category)] = families.get(group_of(source, category), 0) + 1
        groups = [
            group_of(source, category) if families[group_of(source, category)] <= MAX_FAMILY else f"row|{text}"
            for text, source, category in keyed
        ]
        sizes: dict[str, int] = {}
        for group in groups:
            sizes[group] = sizes.get(group, 0) + 1
        splits = split_groups(sizes)
        found += [
            Row(text, kind, source, category, splits[group], group)
            for (text, source, category), group in zip(keyed, groups, strict=True)
        ]
    return found


def fingerprint(base: Path | None = None) -> dict[str, str]:
    """SHA-256 of each data file: the artifact's manifest records them."""
    base = base or folder()
    return {name: hashlib.sha256((base / name).read_bytes()).hexdigest() for name in FILES.values()}


def rows_fingerprint(rows: list[Row]) -> str:
    return hashlib.sha256(json.dumps([[r.text, r.kind, r.split] for r in rows]).encode()).hexdigest()
