"""What `manage.py evaluate_safety` measures: refusal, over-refusal, injection success, added latency."""

import csv
import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from safety import moderation
from safety.policy import Policy

HERE = Path(__file__).resolve().parent


@dataclass
class Rate:
    name: str
    hits: int = 0
    total: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    hit_prompts: list[str] = field(default_factory=list)

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else 0.0


def prompts_from(path: Path) -> list[str]:
    """Requests from a CSV with a Behavior column (HarmBench/AdvBench; contextual rows get their
    ContextString first), a JSONL file with "prompt", or a text file with one request per line."""
    if path.suffix == ".csv":
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        return [
            (f"{row['ContextString']}\n\n{row['Behavior']}" if row.get("ContextString") else row["Behavior"]).strip()
            for row in rows
            if row.get("Behavior", "").strip()
        ]
    if path.suffix == ".jsonl":
        return [json.loads(line)["prompt"] for line in path.read_text().splitlines() if line.strip()]
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def harmbench_by_kind(path: Path) -> dict[str, list[str]]:
    with path.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("Behavior", "").strip()]
    kinds: dict[str, list[str]] = {}
    for row in rows:
        text = f"{row['ContextString']}\n\n{row['Behavior']}" if row.get("ContextString") else row["Behavior"]
        kinds.setdefault(row.get("FunctionalCategory") or "standard", []).append(text.strip())
    return kinds


def moderation_rate(name: str, prompts: list[str], *, policy: Policy, counts_as: str) -> Rate:
    """Share of prompts whose action is `counts_as` ("refuse"), one classify call each, timed."""
    rate = Rate(name)
    for prompt in prompts:
        decision = moderation.moderate(prompt, policy=policy)
        rate.total += 1
        rate.latencies_ms.append(decision.latency_ms)
        if decision.action == counts_as:
            rate.hits += 1
            rate.hit_prompts.append(f"[{decision.category}] {prompt}")
        else:
            rate.misses.append(prompt)
    return rate


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
