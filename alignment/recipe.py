"""A recipe: what to train, on what, how. TOML or JSON; every key checked, every problem reported at once.

name = "support-tone"
method = "sft+dpo"            # "sft", "dpo" or "sft+dpo"
base = "bundled"              # the embedded engine's model (SmolLM2-135M-Instruct), dequantized
seed = 2026
[data]
export = "<training export id>"   # one export of this tenant (made by its admin, consent in force)
public = "path/to/rows.jsonl"     # optional: public SFT rows {"messages": [...]}, e.g. manage.py grounded_rows
max_rows = 0                      # 0: all
[lora]
rank = 8
alpha = 16
dropout = 0.05
targets = ["q_proj", "v_proj"]
[sft]                             # and [dpo]: epochs, max_steps (0: by epochs), learning_rate, batch_size,
learning_rate = 2e-4              # max_length; [dpo] also beta
"""

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from core.api import ServiceError

METHODS = ("sft", "dpo", "sft+dpo")
BASES = ("bundled",)
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class RecipeError(ServiceError):
    status_code = 400
    code = "invalid_recipe"


@dataclass(frozen=True)
class Data:
    export: str = ""
    public: str = ""
    public_preferences: str = ""
    max_rows: int = 0


@dataclass(frozen=True)
class Lora:
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    targets: tuple[str, ...] = ("q_proj", "v_proj")


@dataclass(frozen=True)
class Stage:
    epochs: float = 1.0
    max_steps: int = 0
    learning_rate: float = 2e-4
    batch_size: int = 4
    max_length: int = 512
    beta: float = 0.1  # DPO only


@dataclass(frozen=True)
class Recipe:
    name: str
    method: str = "sft"
    base: str = "bundled"
    seed: int = 2026
    data: Data = Data()
    lora: Lora = Lora()
    sft: Stage = Stage()
    dpo: Stage = field(default_factory=lambda: Stage(learning_rate=5e-6))

    @property
    def stages(self) -> list[str]:
        return self.method.split("+")

    def as_dict(self) -> dict:
        return asdict(self) | {"lora": asdict(self.lora) | {"targets": list(self.lora.targets)}}


def _section(cls, given, where: str, problems: list[str], defaults=None):
    if not isinstance(given, dict):
        problems.append(f"{where} must be a table")
        return defaults or cls()
    known = {f.name: f for f in fields(cls)}
    values = asdict(defaults or cls())
    for key, value in given.items():
        if key not in known:
            problems.append(f"unknown setting {where}.{key}")
            continue
        expected = type(values[key])
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is tuple and isinstance(value, list):
            value = tuple(value)
        if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            problems.append(f"{where}.{key} must be a {expected.__name__}")
            continue
        values[key] = value
    return cls(**values)


def _check_ranges(recipe: Recipe, problems: list[str]) -> None:
    if recipe.method not in METHODS:
        problems.append(f"method must be one of {', '.join(METHODS)}")
    if recipe.base not in BASES:
        problems.append(f"base must be one of {', '.join(BASES)}")
    if not recipe.data.export and not recipe.data.public:
        problems.append("data needs an export, or public rows")
    if "dpo" in recipe.stages and not (recipe.data.export or recipe.data.public_preferences):
        problems.append("dpo needs preference pairs: an export's, or public ones")
    if not 1 <= recipe.lora.rank <= 64:
        problems.append("lora.rank must be from 1 to 64")
    if not 0 <= recipe.lora.dropout < 1:
        problems.append("lora.dropout must be from 0 to below 1")
    unknown = [target for target in recipe.lora.targets if target not in TARGETS]
    if unknown or not recipe.lora.targets:
        problems.append(f"lora.targets must be some of {', '.join(TARGETS)}")
    for where, stage in (("sft", recipe.sft), ("dpo", recipe.dpo)):
        if not (0 < stage.learning_rate < 1 and 0 < stage.epochs <= 20 and stage.max_steps >= 0):
            problems.append(f"{where}: learning_rate in (0, 1), epochs in (0, 20], max_steps ≥ 0")
        if not (1 <= stage.batch_size <= 64 and 32 <= stage.max_length <= 4096):
            problems.append(f"{where}: batch_size from 1 to 64, max_length from 32 to 4096")


def recipe_from(given: dict) -> Recipe:
    problems: list[str] = []
    top = {"name", "method", "base", "seed", "data", "lora", "sft", "dpo"}
    problems += [f"unknown setting {key}" for key in given if key not in top]
    name = str(given.get("name") or "").strip()
    if not name:
        problems.append("a recipe needs a name")
    seed = given.get("seed", 2026)
    if not isinstance(seed, int) or isinstance(seed, bool):
        problems.append("seed must be a whole number")
        seed = 2026
    recipe = Recipe(
        name=name[:100],
        method=str(given.get("method", "sft")),
        base=str(given.get("base", "bundled")),
        seed=seed,
        data=_section(Data, given.get("data", {}), "data", problems),
        lora=_section(Lora, given.get("lora", {}), "lora", problems),
        sft=_section(Stage, given.get("sft", {}), "sft", problems),
        dpo=_section(Stage, given.get("dpo", {}), "dpo", problems, defaults=Stage(learning_rate=5e-6)),
    )
    _check_ranges(recipe, problems)
    if problems:
        raise RecipeError("; ".join(problems), detail=problems)
    return recipe


def recipe_file(path: Path) -> Recipe:
    try:
        text = path.read_text()
        given = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as error:
        raise RecipeError(f"{path}: {error}") from error
    return recipe_from(given)
