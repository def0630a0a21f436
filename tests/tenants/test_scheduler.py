"""One beat scheduler however many are started (issue #16): `manage.py scheduler` runs beat only while
it holds a PostgreSQL advisory lock; a second one stands by and takes over when the first dies. The
scheduled messages on the broker show which process sent them."""

import json
import sys
import time

import pytest
import redis
from django.conf import settings

from tests.processes import _running

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

BROKER_DB = 13  # a Redis database of this test's own, so the queue holds only the schedulers' messages


def _wait_for(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _senders(queue: redis.Redis) -> list[str]:
    """The process ids that sent the scheduled retention messages, oldest first."""
    senders = []
    for raw in reversed(queue.lrange("celery", 0, -1)):
        message = json.loads(raw)
        if message["headers"]["task"] == "tenants.retention_dispatch":
            senders.append(message["headers"]["origin"].split("@")[0].removeprefix("gen"))
    return senders


@pytest.fixture
def broker():
    assert settings.CELERY_BROKER_URL.startswith("redis://"), (
        "the scheduler test needs the Redis broker: install redis-server (scripts/test starts one)"
    )
    url = settings.CELERY_BROKER_URL.rsplit("/", 1)[0] + f"/{BROKER_DB}"
    queue = redis.Redis.from_url(url)
    queue.flushdb()
    yield url, queue
    queue.flushdb()


def test_two_schedulers_one_sends_and_the_other_takes_over_when_it_dies(world, django_db_blocker, tmp_path, broker):
    url, queue = broker
    env = {"CELERY_BROKER_URL": url, "ENCLAVE_RETENTION_INTERVAL_SECONDS": "1"}

    def scheduler(name: str):
        command = [sys.executable, "manage.py", "scheduler", "--standby-poll", "0.3"]
        return _running([*command, "--schedule", str(tmp_path / name)], quiet=True, extra_env=env)

    with django_db_blocker.unblock(), scheduler("first") as first:
        _wait_for(lambda: len(_senders(queue)) >= 2, "the first scheduler's messages")
        with scheduler("second") as second:
            time.sleep(3)  # three intervals in which a second scheduler without the lock would also send
            before = len(_senders(queue))
            assert set(_senders(queue)) == {str(first.pid)}
            first.terminate()
            first.wait(timeout=20)
            _wait_for(lambda: str(second.pid) in _senders(queue), "the second scheduler taking over")
            assert set(_senders(queue)[:before]) == {str(first.pid)}
            assert second.poll() is None
