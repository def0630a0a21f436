"""Every regular expression of the project runs in linear time on hostile text (issue #15).

The patterns are found by importing every module (compiled patterns held by a module, a class or a
table of them) and by reading every `re.<function>("literal", ...)` call in the source. Each is run
with `search` (the worst case: a failed search retries at every position) on texts of 2,000 and 8,000
characters repeating one hostile unit: whitespace, digits and operators, punctuation, the words of the
pattern itself. A pattern fails when its cost relative to a linear scan of the same text grows with
the length (a linear pattern's cost stays flat, a quadratic one's quadruples) while it is also far
above that scan. Both times are measured here, in the same run, so a slow machine moves both.
"""

import ast
import dataclasses
import importlib
import pkgutil
import re
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["core", "config", "tenants", "ingestion", "retrieval", "chat", "inference", "safety"]
RE_FUNCTIONS = {"compile", "search", "match", "fullmatch", "sub", "subn", "findall", "finditer", "split"}
UNITS = [
    " ", "\n", "\t", "a", "ab ", "1", "1.", "1+", "1,", "5% of ", ".", "a1 .", "(", "[", "<", '"', "*", "-", "/",
    ":", "#", "|", "a@", "a.b@c ", "http://a", "x ",
]  # fmt: skip
LINEAR_SCAN = re.compile(r"[^\x00]\x00|\x00\x00")  # looks at every character once
SIZES = (2_000, 8_000)
GROWTH = 2.5  # cost at 8,000 over cost at 2,000: ~1 when linear, ~4 when quadratic
FAR_ABOVE = 50  # times the linear scan: below this a pattern is cheap whatever its growth
CONFIRMATIONS = 2  # a pattern found slow is measured again this many times, and must be slow each time
ROUNDS = 5  # each size is searched once per round, the rounds interleaved
SCAN_REPEATS = 50  # the scan takes microseconds: one slow run among a few would halve a pattern's measured cost


def _held(value, where: str, found: dict, depth: int = 0) -> None:
    if isinstance(value, re.Pattern):
        found.setdefault((value.pattern, value.flags), (value, where))
    elif depth < 3 and isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            _held(item, f"{where}[{index}]", found, depth + 1)
    elif depth < 3 and isinstance(value, dict):
        for key, item in value.items():
            _held(item, f"{where}[{key!r}]", found, depth + 1)
    elif depth < 3 and dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            _held(getattr(value, field.name), f"{where}.{field.name}", found, depth + 1)


def _literal_calls(path: Path, found: dict) -> None:
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and node.func.attr in RE_FUNCTIONS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            pattern = re.compile(node.args[0].value)
            found.setdefault((pattern.pattern, pattern.flags), (pattern, f"{path.relative_to(ROOT)}:{node.lineno}"))


def project_patterns() -> dict:
    found: dict = {}
    for package in PACKAGES:
        for module_info in pkgutil.walk_packages(importlib.import_module(package).__path__, f"{package}."):
            if ".migrations" in module_info.name:
                continue
            module = importlib.import_module(module_info.name)
            for name, value in vars(module).items():
                _held(value, f"{module_info.name}.{name}", found)
                if isinstance(value, type) and value.__module__ == module_info.name:
                    for attribute, held in vars(value).items():
                        _held(held, f"{module_info.name}.{name}.{attribute}", found)
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                _literal_calls(path, found)
    return found


def _fastest(pattern: re.Pattern, text: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        pattern.search(text)
        best = min(best, time.perf_counter() - started)
    return max(best, 1e-7)


def _text(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _cost(pattern: re.Pattern, unit: str, size: int) -> float:
    text = _text(unit, size)
    return _fastest(pattern, text) / _fastest(LINEAR_SCAN, text, repeats=SCAN_REPEATS)


def _costs(pattern: re.Pattern, unit: str) -> tuple[float, ...]:
    """The cost at each of SIZES, measured in interleaved rounds: a stretch of load that slows one round
    slows every size alike, instead of only the size measured while it lasted."""
    texts = [_text(unit, size) for size in SIZES]
    best = [[float("inf"), float("inf")] for _ in texts]
    for _ in range(ROUNDS):
        for index, text in enumerate(texts):
            best[index][0] = min(best[index][0], _fastest(pattern, text, repeats=1))
            best[index][1] = min(best[index][1], _fastest(LINEAR_SCAN, text, repeats=SCAN_REPEATS // ROUNDS))
    return tuple(searched / scanned for searched, scanned in best)


def _units(pattern: str) -> list[str]:
    words = sorted(set(re.findall(r"[a-z]{3,}", pattern)))
    return UNITS + [f"{word} " for word in words[:: max(1, len(words) // 8)]]


def test_the_search_finds_the_patterns_of_every_layer():
    where = {place.split(".")[0].split("/")[0] for _pattern, place in project_patterns().values()}
    assert {"chat", "safety", "ingestion", "retrieval"} <= where and len(project_patterns()) > 100


EXPONENTIAL_SIZES = (8, 12, 16, 20, 24)
EXPONENTIAL_GROWTH = 40  # cost at 24 over cost at 12 characters: ~200 for Fibonacci growth, <10 for cubic
HOPELESS = 100_000  # times a linear scan on a text this short: stop before a longer one hangs the test


def _exponential(pattern: re.Pattern, unit: str) -> str | None:
    costs = {}
    for size in EXPONENTIAL_SIZES:
        costs[size] = _cost(pattern, unit, size)
        if costs[size] > HOPELESS:
            return f"exponential: {costs[size]:.0f}x a linear scan on {size} characters"
    growth = costs[24] / min(costs[8], costs[12])
    if costs[24] > FAR_ABOVE and growth > EXPONENTIAL_GROWTH:
        return f"exponential: {growth:.0f}x costlier from 12 to 24 characters"
    return None


def superlinear(pattern: re.Pattern, unit: str) -> str | None:
    """Why `pattern` is not linear on text repeating `unit`, or None. Exponential patterns are caught on
    short texts, growing a few characters at a time, before a long text could hang the test."""
    reason = _exponential(pattern, unit)
    if reason:
        return reason
    short, long = _costs(pattern, unit)
    if long > FAR_ABOVE and long / short > GROWTH:
        return f"{short:.0f}x -> {long:.0f}x a linear scan from {SIZES[0]:,} to {SIZES[1]:,} characters"
    return None


def test_every_pattern_runs_in_linear_time_on_hostile_text():
    slow = []
    for pattern, where in project_patterns().values():
        for unit in _units(pattern.pattern):
            reason = superlinear(pattern, unit)
            # A busy machine can slow one measurement; a superlinear pattern is slow every time.
            if reason and all(superlinear(pattern, unit) for _ in range(CONFIRMATIONS)):
                slow.append((where, repr(unit), reason))
                break
    assert slow == []


@pytest.mark.parametrize(
    ("pattern", "unit"),
    [
        (re.compile(r"\s*(?:please\s+)?remember"), " "),
        (re.compile(r"^\s*x", re.MULTILINE), "\n"),
        (re.compile(r"(?:a|aa)+b"), "a"),
        (re.compile(r"(a+)+b"), "a"),
    ],
    ids=["leading-whitespace", "multiline-start", "overlapping-alternatives", "nested"],
)
def test_the_check_catches_superlinear_patterns(pattern, unit):
    assert superlinear(pattern, unit) is not None
