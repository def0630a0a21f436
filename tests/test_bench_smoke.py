"""Every benchmark script runs end to end in --smoke mode against the test database, so none breaks unseen.

Only that it runs and prints its table is checked: speed is never asserted in tests.
"""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests import processes

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

SCRIPTS = sorted(path.name for path in (settings.BASE_DIR / "bench").iterdir() if path.is_file() and not path.suffix)


@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_script_runs_in_smoke_mode(script, django_db_setup):
    env = {
        **os.environ,
        "DATABASE_URL": processes.test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "ENCLAVE_FILE_STORE": settings.ENCLAVE_FILE_STORE,
        "HF_HUB_OFFLINE": "1",
    }
    done = subprocess.run(
        [sys.executable, f"bench/{script}", "--smoke"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"bench/{script} --smoke exited with {done.returncode}:\n{done.stderr[-3000:]}"
    table_rows = [line for line in done.stdout.splitlines() if line.startswith("|")]
    assert table_rows, f"bench/{script} --smoke printed no table:\n{done.stdout[-3000:]}"
