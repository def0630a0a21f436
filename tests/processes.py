"""Real processes for integration tests: a Celery worker and the embedded llama.cpp server."""

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

from inference.embedded import server_command


def test_database_url() -> str:
    """The URL of the database pytest-django created, for processes started by the tests."""
    db = connection.settings_dict
    credentials = quote(db["USER"]) + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else ":")
    if db["HOST"].startswith("/"):
        return f"postgresql://{credentials}@/{quote(db['NAME'])}?host={quote(db['HOST'])}"
    return f"postgresql://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{quote(db['NAME'])}"


@contextlib.contextmanager
def celery_worker():
    """Start `celery worker` on a queue of its own; yields the queue name."""
    queue = f"tests-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": test_database_url(), "CELERY_BROKER_URL": settings.CELERY_BROKER_URL}
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool",
        "solo",
        "-Q",
        queue,
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "WARNING",
    ]
    process = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)
    try:
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
def web_server(timeout: float = 60):
    """Start the ASGI server (uvicorn) on the test database; yields its port."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": test_database_url(), "CELERY_BROKER_URL": settings.CELERY_BROKER_URL}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "config.asgi:application",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)
    try:
        _wait_for_port(port, process, "uvicorn", timeout)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def llama_server(timeout: float = 60):
    """Start the embedded llama.cpp server on a free port; yields its OpenAI-compatible base URL."""
    port = _free_port()
    process = subprocess.Popen(
        server_command(host="127.0.0.1", port=port, threads=2),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process, "llama.cpp server", timeout)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=20)
