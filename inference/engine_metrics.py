"""The model engine's own metrics (llama.cpp's or vLLM's `/metrics`), read at scrape time and served again
under `enclave_engine_*` on the appliance's /metrics, and summed up for the operator's /system/ page.

Engines prefix their series (`llamacpp:requests_processing`, `vllm:num_requests_running`): the prefix is
dropped, the rest kept with its type. Histograms and summaries are left to a direct scrape of the engine.
"""

from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from inference import transport
from inference.errors import LlmError

PREFIX = "enclave_engine_"


def engine_series(text: str) -> dict[str, tuple[str, str, float]]:
    """{name without the engine's prefix: (type, help, value)} for the engine's unlabelled gauges and counters."""
    series = {}
    for family in text_string_to_metric_families(text):
        if family.type not in ("gauge", "counter") or len(family.samples) != 1:
            continue
        sample = family.samples[0]  # a counter's sample keeps the `_total` its family name drops
        series[sample.name.rpartition(":")[2]] = (family.type, family.documentation, float(sample.value))
    return series


def engine_read(*, base_url: str | None = None) -> dict[str, tuple[str, str, float]] | None:
    """The engine's series now, or None when it cannot be reached or answers no metrics."""
    try:
        return engine_series(transport.engine_metrics_text(base_url=base_url))
    except (LlmError, ValueError):
        return None


class EngineCollector:
    """Registered on the appliance's registry (inference/apps.py); one GET to the engine per scrape."""

    def describe(self):  # registering must not call the engine
        return ()

    def collect(self):
        series = engine_read()
        up = GaugeMetricFamily(f"{PREFIX}up", "1 when the model engine answered its /metrics at this scrape")
        up.add_metric([], 0 if series is None else 1)
        yield up
        for name, (kind, help_text, value) in (series or {}).items():
            family = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            yield family(PREFIX + name.removesuffix("_total"), help_text or name, value=value)


@dataclass(frozen=True)
class EngineSummary:
    """What /system/ shows of the engine; None where the engine does not report it."""

    reachable: bool
    slots_busy: float | None = None
    queued: float | None = None
    prompt_tokens_per_second: float | None = None
    generation_tokens_per_second: float | None = None
    cached_prompt_share: float | None = None


def engine_summary(*, base_url: str | None = None) -> EngineSummary:
    series = engine_read(base_url=base_url)
    if series is None:
        return EngineSummary(reachable=False)

    def value(name: str) -> float | None:
        return series[name][2] if name in series else None

    read, cached = value("prompt_tokens_total"), value("prompt_tokens_cached_total")
    return EngineSummary(
        reachable=True,
        slots_busy=value("requests_processing"),
        queued=value("requests_deferred"),
        prompt_tokens_per_second=value("prompt_tokens_seconds"),
        generation_tokens_per_second=value("predicted_tokens_seconds"),
        cached_prompt_share=cached / (read + cached)
        if read is not None and cached is not None and read + cached
        else None,
    )
