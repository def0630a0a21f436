"""Request bodies are refused by the ASGI application before Django reads them: over ENCLAVE_REQUEST_MAX_BYTES
on every route, and over ENCLAVE_UPLOAD_REQUEST_MAX_BYTES on an upload route once the caller's API key or
session is checked; a declared Content-Length at once, a chunked body as soon as it passes the limit.

The application is driven from this thread (async_to_sync), so its database reads run here, inside the
test's transaction."""

import asyncio
import json
import uuid

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django_tenants.utils import schema_context

from config.asgi import application

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _connection_kept_open():
    """Django's test client does the same: a request must not close the test's connection mid-transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


class Client:
    """One ASGI request: the body is offered in chunks, and the chunks the application read are counted."""

    def __init__(self, chunks: list[bytes], headers: list[tuple[bytes, bytes]], host: str = "localhost"):
        self.chunks, self.headers, self.host, self.read, self.sent = list(chunks), headers, host, 0, []

    async def receive(self):
        if not self.chunks:
            await asyncio.Future()  # the client stays connected while the answer is made
        chunk = self.chunks.pop(0)
        self.read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}

    async def send(self, message):
        self.sent.append(message)

    async def _post(self, path: str):
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
            "headers": [(b"host", self.host.encode()), *self.headers],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
        }
        await application(scope, self.receive, self.send)
        start = next(m for m in self.sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")
        return start["status"], body

    def post(self, path: str):
        return async_to_sync(self._post)(path)


def _upload_headers(length: int, *extra: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    form = b"multipart/form-data; boundary=x"
    return [(b"content-length", str(length).encode()), (b"content-type", form), *extra]


def _bearer(key: str) -> tuple[bytes, bytes]:
    return (b"authorization", f"Bearer {key}".encode())


def _session_cookie(client, tenant, user) -> tuple[bytes, bytes]:
    with schema_context(tenant.schema_name):
        client.force_login(user)
    return (b"cookie", f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode())


@pytest.fixture
def limits(settings):
    settings.ENCLAVE_REQUEST_MAX_BYTES = 1_000
    settings.ENCLAVE_UPLOAD_REQUEST_MAX_BYTES = 100_000
    return settings


def test_a_declared_length_over_the_limit_is_refused_before_any_byte_is_read(limits):
    client = Client([b"x" * 500] * 100, [(b"content-length", b"50000"), (b"content-type", b"text/plain")])

    status, body = client.post("/api/v1/documents/")

    assert status == 413 and json.loads(body)["error"]["code"] == "request_too_large"
    assert client.read == 0


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(limits):
    client = Client([b"x" * 500] * 100, [(b"content-type", b"text/plain")])

    status, body = client.post("/api/v1/documents/")

    assert status == 413 and json.loads(body)["error"]["code"] == "request_too_large"
    assert client.read <= 1_500  # three chunks of 500 at most, not the 50,000 offered


def test_a_body_under_the_limit_reaches_django(limits):
    client = Client([b"x" * 500] * 2, [(b"content-length", b"1000"), (b"content-type", b"text/plain")])

    status, _body = client.post("/api/v1/documents/")

    assert status != 413 and client.read == 1_000


def test_the_sign_in_page_refuses_a_two_megabyte_body_unread_by_default():
    form = (b"content-type", b"application/x-www-form-urlencoded")
    client = Client([b"x" * 65_536] * 32, [(b"content-length", str(2 * 1024 * 1024).encode()), form])

    status, body = client.post("/login/")

    assert status == 413 and json.loads(body)["error"]["code"] == "request_too_large"
    assert client.read == 0


def test_an_upload_with_a_valid_key_may_be_larger_than_the_default_cap(limits, tenant_a):
    client = Client([b"x" * 5_000] * 10, _upload_headers(50_000, _bearer(tenant_a.finance_key)))

    status, _body = client.post("/api/v1/documents/")

    assert status != 413 and client.read == 50_000


def test_a_chunked_upload_with_a_valid_key_is_cut_off_at_the_upload_cap(limits, tenant_a):
    form = (b"content-type", b"multipart/form-data; boundary=x")
    client = Client([b"x" * 5_000] * 100, [form, _bearer(tenant_a.finance_key)])

    status, _body = client.post("/api/v1/documents/")

    assert status == 413 and 100_000 < client.read <= 105_000


@pytest.mark.parametrize("key", ["ek_nope_nope", "not-a-key"])
def test_an_upload_with_a_bogus_key_is_held_to_the_default_cap_unread(limits, key):
    client = Client([b"x" * 5_000] * 10, _upload_headers(50_000, _bearer(key)))

    status, body = client.post("/api/v1/documents/")

    assert status == 413 and "API key" in json.loads(body)["error"]["message"]
    assert client.read == 0


def test_an_upload_with_another_tenants_key_on_this_tenants_host_is_held_to_the_default_cap(limits, tenant_a, tenant_b):
    client = Client([b"x" * 5_000] * 10, _upload_headers(50_000, _bearer(tenant_b.admin_key)), host=tenant_a.host)

    status, _body = client.post("/api/v1/documents/")

    assert status == 413 and client.read == 0


def test_a_large_body_on_a_route_that_is_not_an_upload_is_refused_even_with_a_valid_key(limits, tenant_a):
    client = Client([b"x" * 5_000] * 10, _upload_headers(50_000, _bearer(tenant_a.finance_key)))

    status, _body = client.post("/api/v1/search/")

    assert status == 413 and client.read == 0


def test_a_signed_in_member_may_upload_a_version_from_the_document_page(limits, client, tenant_a):
    cookie = _session_cookie(client, tenant_a.tenant, tenant_a.finance)
    request = Client([b"x" * 5_000] * 10, _upload_headers(50_000, cookie), host=tenant_a.host)

    status, _body = request.post(f"/documents/{uuid.uuid4()}/versions/")

    assert status != 413 and request.read == 50_000


def test_a_session_of_another_tenant_is_held_to_the_default_cap(limits, client, tenant_a, tenant_b):
    cookie = _session_cookie(client, tenant_b.tenant, tenant_b.admin)
    request = Client([b"x" * 5_000] * 10, _upload_headers(50_000, cookie), host=tenant_a.host)

    status, _body = request.post(f"/documents/{uuid.uuid4()}/versions/")

    assert status == 413 and request.read == 0


def test_an_anonymous_upload_is_held_to_the_default_cap_unread(limits, tenant_a):
    request = Client([b"x" * 5_000] * 10, _upload_headers(50_000), host=tenant_a.host)

    status, body = request.post("/api/v1/documents/")

    assert status == 413 and request.read == 0
    assert "sign in" in json.loads(body)["error"]["message"]
