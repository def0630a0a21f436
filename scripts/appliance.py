"""Supervise the appliance on one machine: PostgreSQL, broker, LLM server, Celery worker, web server.

Started by scripts/run. Ctrl-C (or SIGTERM) stops every process it started, in reverse order.
When any process dies, the others are stopped too and the exit code says so.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from config import embedded  # noqa: E402
from core import env  # noqa: E402

PYTHON = sys.executable
ADAPTER_CHECK_SECONDS = 10.0


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, *, process: subprocess.Popen, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with code {process.returncode} while starting")
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"{name} did not open port {port} within {timeout:.0f} s")


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, check=True)


class Supervisor:
    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.started_postgres = False
        self.engine_adapters: set[str] = set()
        self.engine_restart = None

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        process = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
        self.children.append((name, process))
        return process

    def start_database(self) -> None:
        if env.get("DATABASE_URL"):
            say("using the PostgreSQL server in DATABASE_URL")
            return
        say(f"starting embedded PostgreSQL + pgvector (data in {embedded.postgres_data_dir()})")
        os.environ["DATABASE_URL"] = embedded.postgres_uri()
        self.started_postgres = True

    def start_broker(self) -> None:
        if env.get("CELERY_BROKER_URL") or env.get("REDIS_URL"):
            say("using the broker in CELERY_BROKER_URL / REDIS_URL")
            return
        redis_server = shutil.which("redis-server")
        if redis_server is None:
            say("no redis-server installed: Celery uses the filesystem broker in var/broker (single machine)")
            return
        data_dir = env.var_dir() / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        say(f"starting redis-server on 127.0.0.1:{port} (data in {data_dir})")
        process = self.start(
            "redis",
            [
                redis_server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--dir",
                str(data_dir),
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
        )
        wait_for_port(port, process=process, name="redis-server")
        os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"

    def start_llm(self) -> None:
        if env.get("LLM_BASE_URL"):
            say("using the LLM server in LLM_BASE_URL")
            return
        from inference.embedded import server_command, wait_until_ready

        port = int(env.get("ENCLAVE_LLM_PORT", "8081"))
        threads = int(env.get("ENCLAVE_LLM_THREADS", "0")) or None
        say(f"starting the embedded llama.cpp server (SmolLM2-135M-Instruct Q4) on 127.0.0.1:{port}")
        self.engine_adapters = trained_adapters()
        process = self.start("llm", server_command(host="127.0.0.1", port=port, threads=threads))
        wait_until_ready(port, process)
        self.engine_restart = lambda: self._llm_restart(port, threads)

    def _llm_restart(self, port: int, threads: int | None) -> None:
        """The engine loads tenants' adapters when it starts: a new or retired adapter restarts it."""
        from inference.embedded import server_command, wait_until_ready

        index, (_name, old) = next((i, child) for i, child in enumerate(self.children) if child[0] == "llm")
        say("the tenants' adapters changed: restarting the embedded llama.cpp server to load them")
        old.send_signal(signal.SIGTERM)
        old.wait(timeout=15)
        self.engine_adapters = trained_adapters()
        process = subprocess.Popen(
            server_command(host="127.0.0.1", port=port, threads=threads), cwd=ROOT, start_new_session=True
        )
        self.children[index] = ("llm", process)
        wait_until_ready(port, process)

    def start_app(self) -> None:
        concurrency = env.get("ENCLAVE_WORKER_CONCURRENCY", "2")
        say(f"starting the Celery worker ({concurrency} processes) and the scheduler")
        queues = f"celery,{env.get('ENCLAVE_INGESTION_QUEUE', 'ingestion')}"
        command = [PYTHON, "-m", "celery", "-A", "config", "worker", "-l", "INFO", "-c", concurrency, "-Q", queues]
        self.start("worker", command)
        # Alignment runs take an hour on CPU: one at a time, in a worker of their own, so answers never wait.
        alignment = env.get("ENCLAVE_ALIGNMENT_QUEUE", "alignment")
        self.start(
            "alignment worker",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-l",
                "INFO",
                "-c",
                "1",
                "-Q",
                alignment,
                "-n",
                "align@%h",
            ],
        )
        # The beat scheduler (config/celery.py: retention) runs only while it holds a database lock, so
        # schedulers started on several hosts never both send (tenants/management/commands/scheduler.py).
        schedule = env.var_dir() / "celerybeat-schedule"
        schedule.parent.mkdir(parents=True, exist_ok=True)
        self.start("scheduler", [PYTHON, "manage.py", "scheduler", "--schedule", str(schedule)])
        host, port = env.get("ENCLAVE_HOST", "127.0.0.1"), int(env.get("ENCLAVE_PORT", "8000"))
        say(f"starting the web server (uvicorn, ASGI) on {host}:{port}")
        web = self.start(
            "web", [PYTHON, "-m", "uvicorn", "config.asgi:application", "--host", host, "--port", str(port)]
        )
        wait_for_port(port, process=web, name="web server")

    def watch(self) -> int:
        checked = time.monotonic()
        while True:
            for name, process in self.children:
                if process.poll() is not None:
                    say(f"{name} exited with code {process.returncode}; stopping everything")
                    return 1
            if self.engine_restart and time.monotonic() - checked > ADAPTER_CHECK_SECONDS:
                checked = time.monotonic()
                if trained_adapters() != self.engine_adapters:
                    self.engine_restart()
            time.sleep(0.5)

    def stop(self) -> None:
        for name, process in reversed(self.children):
            if process.poll() is None:
                say(f"stopping {name}")
                process.send_signal(signal.SIGTERM)
        for _name, process in reversed(self.children):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.started_postgres:
            say("stopping embedded PostgreSQL")
            embedded.postgres_stop()


def trained_adapters() -> set[str]:
    from inference.embedded import TRAINED_ADAPTERS, tenant_file_store

    return {str(path) for path in tenant_file_store().glob(TRAINED_ADAPTERS)}


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    supervisor = Supervisor()
    signal.signal(signal.SIGTERM, _interrupt)
    code = 0
    try:
        supervisor.start_database()
        manage("keys_init")
        say("applying migrations")
        manage("migrate_schemas", "--executor", "standard")
        say("preparing the safety classifier (trained on its exemplars once, then loaded from var/)")
        manage("safety_train")
        supervisor.start_broker()
        supervisor.start_llm()
        supervisor.start_app()
        manage("demo_setup")
        say("press Ctrl-C to stop")
        code = supervisor.watch()
    except KeyboardInterrupt:
        print()
    except (SystemExit, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    finally:
        supervisor.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
