"""Request bodies over ENCLAVE_REQUEST_MAX_BYTES are refused by the ASGI application before Django reads
them: a declared Content-Length at once, a chunked body as soon as it passes the limit."""

import asyncio
import json

import pytest

from config.asgi import application

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def anyio_backend():
    return "asyncio"


class Client:
    """One ASGI request: the body is offered in chunks, and the chunks the application read are counted."""

    def __init__(self, chunks: list[bytes], headers: list[tuple[bytes, bytes]]):
        self.chunks, self.headers, self.read, self.sent = list(chunks), headers, 0, []

    async def receive(self):
        if not self.chunks:
            await asyncio.Future()  # the client stays connected while the answer is made
        chunk = self.chunks.pop(0)
        self.read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}

    async def send(self, message):
        self.sent.append(message)

    async def post(self, path: str):
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"localhost"), *self.headers],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
        }
        await application(scope, self.receive, self.send)
        start = next(m for m in self.sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")
        return start["status"], body


async def test_a_declared_length_over_the_limit_is_refused_before_any_byte_is_read(settings):
    settings.ENCLAVE_REQUEST_MAX_BYTES = 1_000
    client = Client([b"x" * 500] * 100, [(b"content-length", b"50000"), (b"content-type", b"text/plain")])

    status, body = await client.post("/api/v1/documents/")

    assert status == 413 and json.loads(body)["error"]["code"] == "request_too_large"
    assert client.read == 0


async def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(settings):
    settings.ENCLAVE_REQUEST_MAX_BYTES = 1_000
    client = Client([b"x" * 500] * 100, [(b"content-type", b"text/plain")])

    status, body = await client.post("/api/v1/documents/")

    assert status == 413 and json.loads(body)["error"]["code"] == "request_too_large"
    assert client.read <= 1_500  # three chunks of 500 at most, not the 50,000 offered


async def test_a_body_under_the_limit_reaches_django(settings):
    settings.ENCLAVE_REQUEST_MAX_BYTES = 100_000
    client = Client([b"x" * 500] * 2, [(b"content-length", b"1000"), (b"content-type", b"text/plain")])

    status, _body = await client.post("/api/v1/documents/")

    assert status != 413 and client.read == 1_000
