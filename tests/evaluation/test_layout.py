"""The evaluation code lives in evaluation/ alone, imported at module level (no import inside a function
to dodge a cycle)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_evaluation_module_is_left_in_the_apps_it_measures():
    found = [path for app in ("retrieval", "chat", "safety") for path in (ROOT / app).rglob("*evaluat*")]
    left = [path for path in found if "__pycache__" not in path.parts]
    assert left == []


def test_evaluation_and_experiment_modules_import_only_at_module_level():
    modules = [
        *(ROOT / "evaluation").rglob("*.py"),
        ROOT / "chat" / "answer" / "arms.py",
        ROOT / "chat" / "answer" / "variants.py",
    ]
    nested = []
    for path in modules:
        tree = ast.parse(path.read_text())
        for function in (node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)):
            nested += [
                f"{path.relative_to(ROOT)}:{n.lineno}"
                for n in ast.walk(function)
                if isinstance(n, ast.Import | ast.ImportFrom)
            ]
    assert nested == []


def test_nothing_imports_evaluation_code_from_where_it_used_to_live():
    old = (
        "retrieval.evaluation",
        "retrieval import evaluation",
        "safety.evaluation",
        "chat.evaluation",
        "chat import evaluation",
    )
    sources = [
        p for p in ROOT.glob("*/**/*") if p.is_file() and (p.suffix == ".py" or p.parent.name in ("bench", "scripts"))
    ]
    skipped = {".venv", "var", "node_modules"}
    stale = [
        str(path.relative_to(ROOT))
        for path in sources
        if path != Path(__file__).resolve()
        and not skipped & set(path.relative_to(ROOT).parts)
        and any(o in path.read_text(errors="ignore") for o in old)
    ]
    assert stale == []
