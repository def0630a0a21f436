"""Intervals and sample sizes for rates: exact enough at the sample sizes an appliance sees."""

import math
from statistics import NormalDist

Z95 = 1.96


def wilson(hits: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of hits/n (95% for the default z): sound near 0 and 1, unlike the normal one."""
    if not n:
        return (math.nan, math.nan)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_cell(hits: int, n: int) -> str:
    """hits/n with its Wilson interval, as the benchmark tables print it: "0.123 [0.100, 0.150]"."""
    low, high = wilson(hits, n)
    return f"{hits / n:.3f} [{low:.3f}, {high:.3f}]"


def difference(hits_b: int, n_b: int, hits_a: int, n_a: int) -> tuple[float | None, float | None, float | None]:
    """b's rate minus a's, with Newcombe's 95% interval (hybrid score, from the two Wilson intervals);
    None when either side has nothing counted."""
    if not (n_a and n_b):
        return (None, None, None)
    p_a, p_b = hits_a / n_a, hits_b / n_b
    low_a, high_a = wilson(hits_a, n_a)
    low_b, high_b = wilson(hits_b, n_b)
    delta = p_b - p_a
    low = delta - math.sqrt((p_b - low_b) ** 2 + (high_a - p_a) ** 2)
    high = delta + math.sqrt((high_b - p_b) ** 2 + (p_a - low_a) ** 2)
    return delta, low, high


def sample_size(baseline: float, effect: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Answers per arm to detect a change of `effect` in a rate near `baseline` with a two-sided test."""
    if effect <= 0:
        raise ValueError("the change to detect must be above zero")
    baseline = min(max(baseline, 0.01), 0.99)
    z_alpha, z_power = NormalDist().inv_cdf(1 - alpha / 2), NormalDist().inv_cdf(power)
    changed = min(max(baseline + effect, 0.0), 1.0)
    spread = baseline * (1 - baseline) + changed * (1 - changed)
    return math.ceil((z_alpha + z_power) ** 2 * spread / effect**2)
