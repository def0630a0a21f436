"""Write the command-line flags of `vllm serve` as defined in a vLLM wheel's own source, without
installing it (no GPU, no torch): the `"--flag"` literals of the engine arguments and the fields of
the OpenAI-compatible frontend's argument dataclasses (each field `name_x` is `--name-x`).

    pip download vllm==<pinned> --no-deps -d /tmp/wheel
    python inference/vllm/flags_from_wheel.py /tmp/wheel/vllm-<pinned>-*.whl > inference/vllm/serve-flags.txt

tests/inference/test_vllm_kit.py checks every flag launch.sh can pass against that file.
"""

import ast
import hashlib
import re
import sys
import zipfile
from pathlib import Path

ENGINE_ARGS = "vllm/engine/arg_utils.py"
FRONTEND_ARGS = ("vllm/entrypoints/common/cli_args.py", "vllm/entrypoints/openai/cli_args.py")
FLAG_LITERAL = re.compile(r"""["'](--[a-z0-9][a-z0-9-]*)["']""")


def _frontend_fields(source: str) -> set[str]:
    flags = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name.endswith("FrontendArgs"):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    flags.add("--" + item.target.id.replace("_", "-"))
    return flags


def serve_flags(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        flags = set(FLAG_LITERAL.findall(archive.read(ENGINE_ARGS).decode()))
        for path in FRONTEND_ARGS:
            if path in names:
                flags |= _frontend_fields(archive.read(path).decode())
    return flags


def main() -> None:
    wheel = Path(sys.argv[1])
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    print(f"# vllm serve flags read from {wheel.name} (sha256 {digest}) by inference/vllm/flags_from_wheel.py")
    for flag in sorted(serve_flags(wheel)):
        print(flag)


if __name__ == "__main__":
    main()
