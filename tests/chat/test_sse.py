"""The SSE transport: each step runs in the tenant's schema (and only then), heartbeats fill pauses,
and the generator is closed at the end."""

import time

import pytest
from asgiref.sync import async_to_sync
from django.db import connection

from chat.conversations import sse

pytestmark = pytest.mark.django_db


def _collect(tenant, events) -> list[str]:
    async def run():
        return [chunk async for chunk in sse._body(tenant, events, sse.sse_event, "")]

    return async_to_sync(run)()


def test_steps_run_in_the_tenant_schema_with_heartbeats_between_slow_events(tenant_a, monkeypatch):
    monkeypatch.setattr(sse, "HEARTBEAT_SECONDS", 0.05)
    seen, closed = [], []

    def events():
        try:
            seen.append(connection.schema_name)
            yield {"event": "sources", "data": []}
            time.sleep(0.3)
            seen.append(connection.schema_name)
            yield {"event": "message", "data": {"text": "done"}}
        finally:
            closed.append(connection.schema_name)

    chunks = _collect(tenant_a.tenant, events())

    assert seen == ["tenant_a", "tenant_a"] and closed == ["tenant_a"]
    assert chunks[0].startswith("event: sources") and chunks[-1].startswith("event: message")
    assert ": keep-alive\n\n" in chunks
    assert connection.schema_name == "public"
