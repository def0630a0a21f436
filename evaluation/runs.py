"""Recording a run: its metrics as rows, with the machine and commit that produced them."""

import json
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from chat.answer.variants import Variant, VariantError, variant_from
from evaluation.models import EvaluationRun, Metric
from evaluation.stats import wilson

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Measured:
    name: str
    value: float
    low: float | None = None
    high: float | None = None
    n: int = 0
    category: str = ""


def rate(name: str, hits: int, n: int, category: str = "") -> Measured:
    low, high = wilson(hits, n)
    return Measured(name, hits / n if n else float("nan"), low if n else None, high if n else None, n, category)


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    python = platform.python_version()
    return f"{platform.node()}: {os.cpu_count()} cores, {memory:.0f} GiB, {platform.machine()}, Python {python}"


def commit() -> str:
    try:
        git = shutil.which("git")
        if git is None:
            return ""
        found = subprocess.run([git, "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return ""
    return found.stdout.strip()[:40] if found.returncode == 0 else ""


@transaction.atomic
def run_record(*, kind: str, dataset: str, variant: Variant, started_at, metrics: list[Measured]) -> EvaluationRun:
    run = EvaluationRun.objects.create(
        kind=kind,
        dataset=dataset,
        variant=variant.name,
        variant_fingerprint=variant.settings.fingerprint(),
        variant_settings=variant.settings.given(),
        machine=machine(),
        commit=commit(),
        started_at=started_at or timezone.now(),
    )
    Metric.objects.bulk_create(
        Metric(run=run, name=m.name, category=m.category, value=m.value, low=m.low, high=m.high, n=m.n)
        for m in metrics
        if m.value == m.value  # NaN: nothing was measured
    )
    return run


def variant_file(path: Path) -> Variant:
    """A variant from a JSON file {"name": ..., "settings": {...}}, for the evaluate_* commands."""
    try:
        return variant_from(json.loads(path.read_text()))
    except (OSError, ValueError, VariantError) as error:
        raise CommandError(f"{path}: {error}") from error


def report_path(kind: str) -> Path:
    return Path(settings.VAR_DIR) / "reports" / f"{kind}-{timezone.now():%Y%m%d-%H%M%S}.html"


def variant_arguments(parser, kind: str) -> None:
    """--variant (repeatable) and --report, as every evaluate_* command that compares variants takes them."""
    parser.add_argument(
        "--variant",
        type=Path,
        action="append",
        default=[],
        help='a JSON file {"name": ..., "settings": {...}}; repeat to compare (default: the appliance defaults)',
    )
    parser.add_argument("--report", type=Path, help=f"the HTML report (default: var/reports/{kind}-<time>.html)")
