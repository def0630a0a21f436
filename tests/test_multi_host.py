"""Several hosts on one PostgreSQL and one Redis (issue #16): two web servers and two Celery workers,
each with its own ENCLAVE_VAR_DIR (no shared files: not the originals, not the tenant secrets, not
the Django secret), sharing only the database, the broker, the KEK and DJANGO_SECRET_KEY from the
environment and the built safety classifier, as an image would ship it.

A tenant created through web A is usable through web B; a document uploaded through A is ingested by
one of the workers and found through B's search; the tenant is deleted through B. A worker killed
mid-document leaves it to the other, still running, worker (the scheduler's stale sweep)."""

import json
import sys
import time
import uuid

import pytest
import requests
from django.conf import settings
from django_tenants.utils import schema_context

from ingestion.models import IngestionStatus
from retrieval.models import Chunk
from safety.training.build import artifact_path
from tenants import keyring
from tenants.accounts import services as accounts
from tests.ingestion.test_worker import COVID, _version, _wait, committed  # noqa: F401  (fixture)
from tests.processes import _running, celery_worker, in_own_connection, web_server

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

MEMO = b"Project Kingfisher moves the Tromso data centre to Bodo in April."


def _host_env(tmp_path, name: str, queue: str) -> dict:
    var = tmp_path / name
    var.mkdir()
    return {
        "ENCLAVE_VAR_DIR": str(var),
        "ENCLAVE_FILE_STORE": str(var / "files"),
        "ENCLAVE_KEK_FILE": str(var / "secrets" / "kek.json"),  # absent: the KEK comes from the environment
        "ENCLAVE_KEK": keyring._encode(keyring.load().current),
        "DJANGO_SECRET_KEY": "shared-by-every-host-" + "x" * 40,
        "ENCLAVE_SAFETY_ARTIFACT_DIR": str(artifact_path_dir()),
        "ENCLAVE_INGESTION_QUEUE": queue,
    }


def artifact_path_dir():
    from retrieval.embeddings import embedder

    return artifact_path(embedder().name).parent


def _admin_key(schema: str) -> str:
    from tenants.accounts.models import User

    def make():
        with schema_context(schema):
            admin = User.objects.get(username="root")
            return accounts.api_key_create(user=admin, name="multi-host", actor=admin)[1]

    return in_own_connection(make)


def test_a_tenant_made_on_one_host_uploads_on_it_and_is_searched_and_deleted_on_the_other(
    world, django_db_blocker, tmp_path
):
    operator = world["operator"]
    queue = f"multi-{uuid.uuid4().hex[:8]}"
    schema = f"multi_{uuid.uuid4().hex[:6]}"
    hosts = {name: _host_env(tmp_path, name, queue) for name in ("web_a", "web_b", "worker_1", "worker_2")}
    ops = {"Host": "localhost", "Authorization": f"Bearer {operator.key}"}

    with (
        django_db_blocker.unblock(),
        celery_worker(queue=queue, extra_env=hosts["worker_1"]),
        celery_worker(queue=queue, extra_env=hosts["worker_2"]),
        web_server(extra_env=hosts["web_a"]) as port_a,
        web_server(extra_env=hosts["web_b"]) as port_b,
    ):
        a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
        created = requests.post(
            f"{a}/api/v1/operator/tenants/",
            headers=ops,
            json={"name": "Multi host", "schema_name": schema, "admin_username": "root"},
            timeout=120,
        )
        assert created.status_code == 201, created.text
        tenant = created.json()
        key = _admin_key(schema)
        host = tenant["domains"][0]
        as_admin = {"Host": host, "Authorization": f"Bearer {key}"}

        assert requests.get(f"{b}/api/v1/me/", headers=as_admin, timeout=30).json()["tenant"]["schema"] == schema
        uploaded = requests.post(
            f"{a}/api/v1/documents/", headers=as_admin, files={"files": ("kingfisher.txt", MEMO)}, timeout=60
        )
        assert uploaded.status_code == 201, uploaded.text
        document = uploaded.json()["documents"][0]["id"]
        deadline = time.monotonic() + 180
        while (status := requests.get(f"{b}/api/v1/documents/{document}/", headers=as_admin, timeout=30).json())[
            "status"
        ] not in ("indexed", "failed"):
            assert time.monotonic() < deadline, f"no worker ingested the upload: {status}"
            time.sleep(0.5)
        assert status["status"] == "indexed", status

        found = requests.post(
            f"{b}/api/v1/search/",
            headers=as_admin,
            json={"query": "Where does the Tromso data centre move?"},
            timeout=60,
        )
        assert found.status_code == 200, found.text
        assert any("Kingfisher" in result["text"] for result in found.json()["results"])

        deleted = requests.delete(f"{b}/api/v1/operator/tenants/{tenant['id']}/", headers=ops, timeout=120)
        assert deleted.status_code in (200, 204), deleted.text
        assert requests.get(f"{a}/api/v1/me/", headers=as_admin, timeout=30).status_code in (401, 404)

    for host_env in hosts.values():  # no host kept an original or a tenant secret in its own files
        var = tmp_path / host_env["ENCLAVE_VAR_DIR"]
        assert not any((var / "files").rglob("*")) and not list(var.rglob("tenant-secrets.json"))
    assert settings.ENCLAVE_ORIGINALS_STORE == "database" and settings.ENCLAVE_TENANT_SECRETS == "database"


def test_a_worker_killed_mid_document_leaves_it_to_the_running_other_worker(committed, tmp_path):
    """Both workers run throughout; the scheduler's sweep hands the dead worker's document to the other,
    with no restart, and every chunk is there once."""
    articles = [json.loads(line) for line in COVID.open().readlines()[:3]]
    text = "\n\n".join(f"# {a['title'] or 'Article'}\n\n{a['text']}" for a in articles)
    document = committed("a", "long.md", text.encode())
    fast = {"ENCLAVE_INGESTION_STALE_SECONDS": "10"}  # well above the gap between two heartbeats of a live worker
    one, two = (_host_env(tmp_path, name, committed.queue) | fast for name in ("worker_1", "worker_2"))
    scheduler = [sys.executable, "manage.py", "scheduler", "--schedule", str(tmp_path / "beat")]

    with (
        celery_worker(queue=committed.queue, extra_env=one) as first,
        celery_worker(queue=committed.queue, extra_env=two) as second,
        _running(scheduler, quiet=True, extra_env=fast | {"ENCLAVE_INGESTION_QUEUE": committed.queue}),
    ):
        working = _wait(
            lambda: (
                (v := _version("tenant_a", document)).status == IngestionStatus.EMBEDDING and v.progress >= 40 and v
            ),
            240,
            "embedding to be under way",
        )
        victim, survivor = (first, second) if working.claimed_by.endswith(f":{first.pid}") else (second, first)
        assert working.claimed_by.endswith(f":{victim.pid}")
        victim.kill()
        victim.wait()
        done = _wait(
            lambda: (v := _version("tenant_a", document)).status == IngestionStatus.INDEXED and v,
            240,
            "the other worker to finish the document",
        )
        assert survivor.poll() is None

    assert done.claimed_by.endswith(f":{survivor.pid}") and done.attempts == 2
    with schema_context("tenant_a"):
        ordinals = list(Chunk.objects.filter(document_id=document.public_id).values_list("ordinal", flat=True))
    assert sorted(ordinals) == list(range(done.chunk_count)) and done.chunk_count > 50
