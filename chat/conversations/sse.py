"""Serve an event generator as a stream over ASGI, in the tenant's schema, with heartbeats.

The generator runs step by step in a worker thread with the tenant's schema set for that step only
(the request's own tenant context has ended by the time a streamed body is sent). When the client
goes away, the generator is closed, which stops the model and stores the partial answer.
"""

import asyncio
import json
from collections.abc import Callable, Iterator

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import StreamingHttpResponse

HEARTBEAT_SECONDS = 15.0
_END = object()


def _in_tenant(tenant, action: Callable):
    connection.set_tenant(tenant)
    try:
        return action()
    finally:
        connection.set_schema_to_public()


def _next(tenant, events: Iterator):
    return _in_tenant(tenant, lambda: next(events, _END))


def _close(tenant, events: Iterator) -> None:
    _in_tenant(tenant, events.close)


async def _body(tenant, events: Iterator, encode: Callable, closing: str):
    step, close = sync_to_async(_next), sync_to_async(_close)
    pending = None
    try:
        while True:
            pending = pending or asyncio.ensure_future(step(tenant, events))
            done, _ = await asyncio.wait({pending}, timeout=HEARTBEAT_SECONDS)
            if not done:
                yield ": keep-alive\n\n"
                continue
            event, pending = pending.result(), None
            if event is _END:
                break
            if encoded := encode(event):
                yield encoded
        if closing:
            yield closing
    finally:
        if pending is not None:
            await asyncio.wait({pending})
        await close(tenant, events)


def sse_event(event: dict) -> str:
    return f"event: {event['event']}\ndata: {json.dumps(event['data'])}\n\n"


def stream_response(
    tenant, events: Iterator, *, encode: Callable = sse_event, closing: str = ""
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_body(tenant, events, encode, closing), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not hold streamed events back
    return response
