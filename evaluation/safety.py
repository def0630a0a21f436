"""What `manage.py evaluate_safety` measures for a variant: refusal, over-refusal, injection success, added
latency; recorded as a run."""

import csv
import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from chat.answer.variants import Variant
from evaluation.runs import Measured, run_record
from evaluation.runs import rate as rate_of
from evaluation.stats import wilson
from safety import moderation
from safety.policy import Policy, policy_candidate

DATASETS = Path(__file__).resolve().parent / "datasets"


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


def sets_load(safety_dev: Path, harmful: list[Path] = (), benign: list[Path] = (), only_files: bool = False):
    """The harmful sets (refusal) and benign-but-sensitive sets (over-refusal), by name: AdvBench and
    HarmBench validation from corpora/safety-dev, the held-out sets here, and any files given."""
    harmful_sets, benign_sets = {}, {}
    if not only_files:
        if (safety_dev / "advbench_behaviors.csv").exists():
            harmful_sets["AdvBench"] = labelled_from(safety_dev / "advbench_behaviors.csv")
        if (safety_dev / "harmbench_behaviors_text_val.csv").exists():
            for kind, prompts in harmbench_by_kind(safety_dev / "harmbench_behaviors_text_val.csv").items():
                harmful_sets[f"HarmBench val, {kind}"] = prompts
        harmful = [DATASETS / "harmful_heldout.jsonl", *harmful]
        benign = [DATASETS / "benign_sensitive.jsonl", *benign]
    for paths, sets in ((harmful, harmful_sets), (benign, benign_sets)):
        for path in paths:
            if not path.exists():
                raise FileNotFoundError(f"{path} does not exist")
            sets[path.name] = labelled_from(path)
    return harmful_sets, benign_sets


def variant_policy(variant: Variant) -> Policy:
    return policy_candidate(variant.settings.safety_policy or {})


def variant_rates(variant: Variant, harmful_sets: dict, benign_sets: dict) -> tuple[list[Rate], list[Rate]]:
    policy = variant_policy(variant)
    refusals = [moderation_rate(name, rows, policy=policy, counts_as="refuse") for name, rows in harmful_sets.items()]
    over = [moderation_rate(name, rows, policy=policy, counts_as="refuse") for name, rows in benign_sets.items()]
    return refusals, over


def measured(refusals: list[Rate], over: list[Rate], injection=None) -> list[Measured]:
    found = [rate_of("refusal", r.hits, r.total, r.name) for r in refusals]
    found += [rate_of("over_refusal", r.hits, r.total, r.name) for r in over]
    if injection is not None and injection.cases:
        found.append(rate_of("injection_success", injection.followed_defended, injection.cases, "injection-dev"))
        found.append(rate_of("injection_success_raw", injection.followed_baseline, injection.cases, "injection-dev"))
    latencies = [ms for rate in refusals + over for ms in rate.latencies_ms]
    if latencies:
        found.append(Measured("moderation_ms_p50", median(latencies), n=len(latencies)))
        found.append(Measured("moderation_ms_p95", percentile(latencies, 0.95), n=len(latencies)))
    return found


def variant_safety_run(variant: Variant, harmful_sets: dict, benign_sets: dict, *, injection=None, started_at=None):
    """Measure `variant` on the sets and record the run; returns (run, refusals, over)."""
    refusals, over = variant_rates(variant, harmful_sets, benign_sets)
    names = ", ".join([*harmful_sets, *benign_sets])
    run = run_record(
        kind="safety",
        dataset=names[:200],
        variant=variant,
        started_at=started_at,
        metrics=measured(refusals, over, injection),
    )
    return run, refusals, over
