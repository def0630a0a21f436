"""Reads of recorded runs (public schema)."""

from evaluation.models import EvaluationRun

HEADLINE = {
    "answers": ("correct", "supported_sentences", "citation_precision", "abstention_unanswerable"),
    "safety": ("refusal", "over_refusal", "injection_success"),
}


def latest_run(kind: str, fingerprint: str) -> EvaluationRun | None:
    runs = EvaluationRun.objects.filter(kind=kind, variant_fingerprint=fingerprint)
    return runs.order_by("-finished_at", "-id").prefetch_related("metrics").first()


def offline_summary(fingerprint: str) -> dict:
    """The latest answers and safety run of a variant: when, on what, and its headline numbers."""
    found = {}
    for kind, names in HEADLINE.items():
        run = latest_run(kind, fingerprint)
        if run is None:
            continue
        metrics = [
            {"name": m.name, "category": m.category, "value": m.value, "low": m.low, "high": m.high, "n": m.n}
            for m in run.metrics.all()
            if m.name in names
        ]
        found[kind] = {
            "run": str(run.public_id),
            "dataset": run.dataset,
            "finished_at": run.finished_at.isoformat(),
            "metrics": metrics,
        }
    return found
