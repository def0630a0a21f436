"""Request bodies are capped at the ASGI layer, before Django reads them.

Django's ASGI handler reads a whole body into a spooled temporary file (memory, then disk) before any
middleware or view runs, so a size check in a view comes after the disk has filled. Here every body is
held to ENCLAVE_REQUEST_MAX_BYTES (small: forms and JSON). A route marked `large_body` (an upload) takes up
to ENCLAVE_UPLOAD_REQUEST_MAX_BYTES, but only once `caller_is_known` has checked the request's API key or
session from its headers: nobody can spool a large body without signing in first. A declared
Content-Length over the limit is answered 413 at once, without reading the body; a body without one
(chunked) is counted as it arrives and answered 413 as soon as it passes the limit. Per-file and quota
limits still apply in the upload view.
"""

import io
import json
from collections.abc import Callable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest
from django.urls import Resolver404, resolve

from core.api import error_body


def large_body(view):
    """Mark a URL's view as an upload: a known caller may send it up to ENCLAVE_UPLOAD_REQUEST_MAX_BYTES."""
    view.large_body = True
    return view


class BodyTooLarge(Exception):
    pass


@dataclass(frozen=True)
class Allowance:
    limit: int
    hint: str = ""


def _large_body_route(path: str) -> bool:
    """Upload routes exist only on tenant hosts (an API key on the public host is served from them too)."""
    try:
        match = resolve(path, urlconf=settings.ROOT_URLCONF)
    except Resolver404:
        return False
    return getattr(match.func, "large_body", False)


def _allowance(request: HttpRequest, caller_is_known: Callable[[HttpRequest], bool]) -> Allowance:
    small = Allowance(limit=settings.ENCLAVE_REQUEST_MAX_BYTES)
    if not _large_body_route(request.path_info):
        return small
    if caller_is_known(request):
        return Allowance(limit=settings.ENCLAVE_UPLOAD_REQUEST_MAX_BYTES)
    large = settings.ENCLAVE_UPLOAD_REQUEST_MAX_BYTES
    return Allowance(limit=small.limit, hint=f"; uploads up to {large:,} bytes need a valid API key or to sign in")


def _too_large_body(allowance: Allowance) -> bytes:
    message = f"the request body is over this appliance's limit of {allowance.limit:,} bytes{allowance.hint}"
    return json.dumps(error_body(code="request_too_large", message=message)).encode()


async def _answer_too_large(send, allowance: Allowance) -> None:
    body = _too_large_body(allowance)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _declared_length(scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else -1
    return None


class BodyLimit:
    def __init__(self, app, *, caller_is_known: Callable[[HttpRequest], bool]):
        self.app = app
        self.caller_is_known = caller_is_known

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        allowance = Allowance(limit=settings.ENCLAVE_REQUEST_MAX_BYTES)
        declared = _declared_length(scope)
        may_upload = scope.get("method") not in ("GET", "HEAD", "OPTIONS")  # uploads are POSTs: reads skip the check
        if may_upload and (declared is None or declared > allowance.limit):
            request = ASGIRequest(scope, io.BytesIO())  # headers only: the body is not read here
            allowance = await sync_to_async(_allowance)(request, self.caller_is_known)
        if declared is not None and not 0 <= declared <= allowance.limit:
            return await _answer_too_large(send, allowance)
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > allowance.limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await _answer_too_large(send, allowance)  # Django reads the whole body before it starts a response
