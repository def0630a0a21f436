"""Request bodies are capped at the ASGI layer, before Django reads them.

Django's ASGI handler reads a whole body into a spooled temporary file (memory, then disk) before any
middleware or view runs, so a size check in a view comes after the disk has filled. Here a declared
Content-Length over ENCLAVE_REQUEST_MAX_BYTES is answered 413 at once, without reading the body; a
body without one (chunked) is counted as it arrives and answered 413 as soon as it passes the limit.
Per-file and quota limits still apply in the upload view.
"""

import json

from django.conf import settings

from config.api import error_body


class BodyTooLarge(Exception):
    pass


def _too_large_body() -> bytes:
    limit = settings.ENCLAVE_REQUEST_MAX_BYTES
    message = f"the request body is over this appliance's limit of {limit:,} bytes"
    return json.dumps(error_body(code="request_too_large", message=message)).encode()


async def _answer_too_large(send) -> None:
    body = _too_large_body()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _declared_length(scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else -1
    return None


class BodyLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = settings.ENCLAVE_REQUEST_MAX_BYTES
        declared = _declared_length(scope)
        if declared is not None and not 0 <= declared <= limit:
            return await _answer_too_large(send)
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await _answer_too_large(send)  # Django reads the whole body before it starts a response
