"""A self-contained HTML report of one or more runs (one per variant): the metrics side by side, a metric
over every recorded run of the same kind, per-category bars and latency distributions. Plots are
matplotlib SVG inlined in the page, text kept as text, so the file needs nothing else to open."""

import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt

from evaluation.models import EvaluationRun, Metric

plt.rcParams["svg.fonttype"] = "none"  # labels stay <text>, readable and searchable
COLOURS = ["#1a56c4", "#c0392b", "#2e7d4f", "#8e44ad", "#c98a00", "#17808a", "#6b7383", "#a0141e"]


def _svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _label(metric: Metric) -> str:
    return f"{metric.name} · {metric.category}" if metric.category else metric.name


def _value(metric: Metric) -> str:
    if metric.low is None:
        return f"{metric.value:.1f}"
    return f"{metric.value:.1%} [{metric.low:.1%}, {metric.high:.1%}]"


def metrics_table(runs: list[EvaluationRun]) -> str:
    by_run = [{_label(m): m for m in run.metrics.all()} for run in runs]
    labels = list(dict.fromkeys(label for metrics in by_run for label in metrics))
    head = "".join(f"<th scope='col'>{html.escape(run.variant)}</th>" for run in runs)
    rows = []
    for label in labels:
        cells = "".join(f"<td>{_value(m[label]) if label in m else '-'}</td>" for m in by_run)
        n = max((m[label].n for m in by_run if label in m), default=0)
        rows.append(f"<tr><th scope='row'>{html.escape(label)}</th>{cells}<td>{n}</td></tr>")
    return (
        f"<table id='metrics'><tr><th scope='col'>metric</th>{head}<th scope='col'>n</th></tr>{''.join(rows)}</table>"
    )


def history_plot(runs: list[EvaluationRun], names: list[str]) -> str:
    """Each named metric over every run of this kind and dataset, one line per variant (and category)."""
    kind, dataset = runs[0].kind, runs[0].dataset
    past = EvaluationRun.objects.filter(kind=kind, dataset=dataset).order_by("finished_at", "id")
    values = list(Metric.objects.filter(run__in=past, name__in=names).select_related("run"))
    figure, axes = plt.subplots(figsize=(8, 3.2))
    lines = sorted({(m.run.variant, m.name, m.category) for m in values})
    for index, (variant, name, category) in enumerate(lines):
        points = sorted(
            (m.run.finished_at, m.value)
            for m in values
            if (m.run.variant, m.name, m.category) == (variant, name, category)
        )
        label = f"{variant}: {name}" + (f" ({category})" if category else "")
        axes.plot(
            [p[0] for p in points], [p[1] for p in points], marker="o", label=label, color=COLOURS[index % len(COLOURS)]
        )
    axes.set_title(f"{', '.join(names)} over runs" if lines else f"{', '.join(names)}: not measured yet")
    if lines:
        axes.legend(fontsize=8)
    figure.autofmt_xdate()
    return _svg(figure)


def category_plot(runs: list[EvaluationRun], name: str) -> str:
    """`name` per category (a set, an answer kind, a diagnosis), one bar per variant."""
    per_run = [{m.category: m.value for m in run.metrics.all() if m.name == name and m.category} for run in runs]
    categories = sorted({category for values in per_run for category in values})
    figure, axes = plt.subplots(figsize=(8, 0.45 * len(categories) + 1.2))
    height = 0.8 / max(1, len(runs))
    for index, (run, values) in enumerate(zip(runs, per_run, strict=True)):
        positions = [row + index * height for row in range(len(categories))]
        axes.barh(
            positions,
            [values.get(c, 0) for c in categories],
            height=height,
            label=run.variant,
            color=COLOURS[index % len(COLOURS)],
        )
    axes.set_yticks([row + height * (len(runs) - 1) / 2 for row in range(len(categories))], categories, fontsize=8)
    axes.set_xlim(0, 1)
    axes.set_title(f"{name} by category")
    axes.legend(fontsize=8)
    return _svg(figure)


def latency_plot(samples: dict[str, dict[str, list[float]]]) -> str:
    """Distributions of each timing, one box per variant."""
    timings = sorted({label for by_label in samples.values() for label in by_label})
    figure, panels = plt.subplots(1, len(timings), figsize=(4 * len(timings), 3.2), squeeze=False)
    for panel, timing in zip(panels[0], timings, strict=True):
        variants = [v for v in samples if samples[v].get(timing)]
        panel.boxplot([samples[v][timing] for v in variants], tick_labels=variants)
        panel.set_title(f"{timing} (ms)")
    return _svg(figure)


def report_write(
    path: Path,
    runs: list[EvaluationRun],
    *,
    history: list[str] = (),
    by_category: list[str] = (),
    samples: dict[str, dict[str, list[float]]] | None = None,
) -> Path:
    first = runs[0]
    sections = [f"<h2>Metrics</h2>{metrics_table(runs)}"]
    if history:
        sections.append(f"<h2>Over runs</h2><figure id='history'>{history_plot(runs, list(history))}</figure>")
    for name in by_category:
        if any(m.name == name and m.category for run in runs for m in run.metrics.all()):
            plot = category_plot(runs, name)
            sections.append(f"<h2>{html.escape(name)} by category</h2><figure class='categories'>{plot}</figure>")
    if samples and any(samples.values()):
        sections.append(f"<h2>Latency</h2><figure id='latency'>{latency_plot(samples)}</figure>")
    variants = "".join(
        f"<li><strong>{html.escape(run.variant)}</strong> "
        f"<code>{html.escape(str(run.variant_settings or 'defaults'))}</code> (run {run.public_id})</li>"
        for run in runs
    )
    about = f"{first.machine}; commit {first.commit or 'unknown'}; finished {first.finished_at:%Y-%m-%d %H:%M} UTC."
    style = (
        "body{font-family:sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccd;padding:.25rem .5rem;text-align:left}figure{margin:0}"
        "svg{max-width:100%;height:auto}"
    )
    title = f"{html.escape(first.kind)} evaluation: {html.escape(first.dataset)}"
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Enclave {title}</title>'
        f"<style>{style}</style></head><body><h1>{title}</h1><p>{html.escape(about)}</p>"
        f'<ul id="variants">{variants}</ul>{"".join(sections)}</body></html>'
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path
