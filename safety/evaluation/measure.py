"""What `manage.py evaluate_safety` measures: refusal, over-refusal, injection success, added latency."""

import csv
import json
import math
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from safety import moderation
from safety.policy import Policy

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Labelled:
    prompt: str
    category: str = ""  # the file's own label for the row (a taxonomy id or the source's), if it has one


@dataclass
class Rate:
    name: str
    hits: int = 0
    total: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    hit_prompts: list[str] = field(default_factory=list)
    outcomes: list[tuple[str, str]] = field(default_factory=list)  # (the row's label, the verdict's category or "")

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.hits, self.total)


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of hits/n (95% for z = 1.96): sound near 0 and 1, unlike the normal one."""
    if not n:
        return (math.nan, math.nan)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def labelled_from(path: Path) -> list[Labelled]:
    """Requests with their category label, where the file has one: a CSV with a prompt or Behavior column
    (HarmBench/AdvBench; contextual rows get their ContextString first) and a category or SemanticCategory
    column, a JSONL file with "prompt" and "category", or a text file with one request per line."""
    if path.suffix == ".csv":
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        found = []
        for row in rows:
            text = (row.get("prompt") or row.get("Behavior") or "").strip()
            if not text:
                continue
            if row.get("ContextString"):
                text = f"{row['ContextString']}\n\n{text}".strip()
            found.append(Labelled(text, (row.get("category") or row.get("SemanticCategory") or "").strip()))
        return found
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [Labelled(row["prompt"], str(row.get("category") or "")) for row in rows]
    return [Labelled(line.strip()) for line in path.read_text().splitlines() if line.strip()]


def prompts_from(path: Path) -> list[str]:
    return [row.prompt for row in labelled_from(path)]


def harmbench_by_kind(path: Path) -> dict[str, list[str]]:
    with path.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("Behavior", "").strip()]
    kinds: dict[str, list[str]] = {}
    for row in rows:
        text = f"{row['ContextString']}\n\n{row['Behavior']}" if row.get("ContextString") else row["Behavior"]
        kinds.setdefault(row.get("FunctionalCategory") or "standard", []).append(text.strip())
    return kinds


def moderation_rate(name: str, rows: list[Labelled] | list[str], *, policy: Policy, counts_as: str) -> Rate:
    """Share of requests whose action is `counts_as` ("refuse"), one classify call each, timed."""
    rate = Rate(name)
    for row in rows:
        row = row if isinstance(row, Labelled) else Labelled(row)
        decision = moderation.moderate(row.prompt, policy=policy)
        rate.total += 1
        rate.latencies_ms.append(decision.latency_ms)
        rate.outcomes.append((row.category, decision.category or ""))
        if decision.action == counts_as:
            rate.hits += 1
            rate.hit_prompts.append(f"[{decision.category}] {row.prompt}")
        else:
            rate.misses.append(row.prompt)
    return rate


def confusion(rate: Rate, *, top: int = 3) -> list[tuple[str, int, float, str]]:
    """Per label of the set's rows: (label, rows, share refused, the verdict's most common categories)."""
    by_label: dict[str, list[str]] = {}
    for label, predicted in rate.outcomes:
        by_label.setdefault(label or "(no label)", []).append(predicted or "none")
    table = []
    for label, predicted in sorted(by_label.items()):
        counts = Counter(predicted).most_common(top)
        share = sum(name != "none" for name in predicted) / len(predicted)
        table.append((label, len(predicted), share, ", ".join(f"{name} {n}" for name, n in counts)))
    return table


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, (time.perf_counter() - started) * 1000
