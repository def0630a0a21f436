"""Real processes for integration tests: a Celery worker, the ASGI server, the llama.cpp server.

Each runs against the database pytest-django created, so it sees the committed session tenants.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from inference.embedded import server_command, wait_until_ready


def test_database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"]) + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else ":")
    if db["HOST"].startswith("/"):
        return f"postgresql://{credentials}@/{quote(db['NAME'])}?host={quote(db['HOST'])}"
    return f"postgresql://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{quote(db['NAME'])}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not start within {timeout:.0f} s")


@contextlib.contextmanager
def _running(command: list[str], *, quiet: bool = False, extra_env: dict | None = None, output=None):
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "ENCLAVE_FILE_STORE": settings.ENCLAVE_FILE_STORE,
        **(extra_env or {}),
    }
    if output is None:
        output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, stdout=output, stderr=output)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def celery_worker(*, queue: str | None = None, extra_env: dict | None = None):
    """`celery worker` on a queue of its own (or `queue`); yields the process, with `.queue`."""
    queue = queue or f"tests-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-Q", queue]
    command += ["--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "WARNING"]
    with _running(command, extra_env={"ENCLAVE_INGESTION_QUEUE": queue, **(extra_env or {})}) as process:
        process.queue = queue
        yield process


@contextlib.contextmanager
def web_server(timeout: float = 60, extra_env: dict | None = None):
    """The ASGI server (uvicorn) on a free port; yields the port."""
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port)]
    with _running([*command, "--log-level", "warning"], extra_env=extra_env) as process:
        _wait_for_port(port, process, "uvicorn", timeout)
        yield port


@contextlib.contextmanager
def llama_server_process(timeout: float = 60, log=None, parallel: int | None = None):
    """The embedded llama.cpp server on a free port; yields (OpenAI-compatible base URL, process).
    With `log` (a path) its output goes to that file."""
    port = _free_port()
    command = server_command(host="127.0.0.1", port=port, threads=2, parallel=parallel)
    with (
        open(log, "wb") if log else contextlib.nullcontext(subprocess.DEVNULL) as output,
        _running(command, output=output) as process,
    ):
        wait_until_ready(port, process, timeout=timeout)
        yield f"http://127.0.0.1:{port}/v1", process


@contextlib.contextmanager
def llama_server(timeout: float = 60):
    """The embedded llama.cpp server on a free port; yields its OpenAI-compatible base URL."""
    with llama_server_process(timeout) as (base_url, _process):
        yield base_url


def in_own_connection(function):
    """Run on another thread, hence another connection in autocommit: other processes (workers, the
    web server) see what it writes; the test's own connection is inside a transaction rolled back."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def run():
        try:
            return function()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@contextlib.contextmanager
def oidc_provider(*, users_file, client_id: str, client_secret: str, redirect_uris: list[str], timeout: float = 30):
    """The test OpenID Connect provider (tests/oidc_provider.py) on a free port; yields its issuer URL."""
    port = _free_port()
    command = [sys.executable, "-m", "tests.oidc_provider", "--port", str(port), "--users", str(users_file)]
    command += ["--client-id", client_id, "--client-secret", client_secret]
    for uri in redirect_uris:
        command += ["--redirect-uri", uri]
    with _running(command, quiet=True) as process:
        _wait_for_port(port, process, "OIDC provider", timeout)
        yield f"http://127.0.0.1:{port}"
