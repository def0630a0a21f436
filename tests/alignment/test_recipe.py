"""Recipes are checked whole: every problem at once, nothing unknown let through."""

import pytest

from alignment.recipe import RecipeError, recipe_file, recipe_from


def test_a_full_toml_recipe_reads_with_its_defaults(tmp_path):
    path = tmp_path / "tone.toml"
    path.write_text(
        'name = "tone"\nmethod = "sft+dpo"\nseed = 7\n[data]\nexport = "abc"\n'
        '[lora]\nrank = 4\ntargets = ["q_proj", "k_proj"]\n'
        "[sft]\nmax_steps = 3\nlearning_rate = 1e-3\n[dpo]\nbeta = 0.2\n"
    )
    recipe = recipe_file(path)
    assert recipe.stages == ["sft", "dpo"]
    assert (recipe.seed, recipe.lora.rank, recipe.lora.alpha, recipe.lora.targets) == (7, 4, 16, ("q_proj", "k_proj"))
    assert (recipe.sft.max_steps, recipe.sft.learning_rate, recipe.dpo.beta) == (3, 1e-3, 0.2)
    assert recipe.dpo.learning_rate == 5e-6  # DPO's own default, not SFT's
    assert recipe_from(recipe.as_dict()) == recipe  # what a run stores reads back the same


def test_every_problem_is_reported_at_once():
    given = {
        "method": "rlhf",
        "data": {"export": 3, "shuffle": True},
        "lora": {"rank": 500, "targets": ["attention"]},
        "sft": {"learning_rate": "fast", "batch_size": True},
        "colour": "blue",
    }
    with pytest.raises(RecipeError) as raised:
        recipe_from(given)
    problems = raised.value.detail
    for expected in (
        "a recipe needs a name",
        "method must be one of sft, dpo, sft+dpo",
        "data.export must be a str",
        "unknown setting data.shuffle",
        "lora.rank must be from 1 to 64",
        "lora.targets must be some of",
        "sft.learning_rate must be a float",
        "sft.batch_size must be a int",
        "unknown setting colour",
    ):
        assert any(problem.startswith(expected) for problem in problems), (expected, problems)


def test_dpo_needs_an_export_and_some_data_is_needed():
    with pytest.raises(RecipeError, match="data needs an export, or public rows"):
        recipe_from({"name": "x"})
    with pytest.raises(RecipeError, match="dpo needs preference pairs"):
        recipe_from({"name": "x", "method": "dpo", "data": {"public": "rows.jsonl"}})


def test_an_unreadable_file_is_a_recipe_error(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("name = ")
    with pytest.raises(RecipeError, match=r"broken\.toml"):
        recipe_file(broken)
    with pytest.raises(RecipeError, match=r"missing\.json"):
        recipe_file(tmp_path / "missing.json")
