"""OpenTelemetry tracing (ENCLAVE_OTEL_TRACING=on) from a real web server and a real Celery worker to
an OTLP/HTTP receiver in this test: an upload's request span and the worker's ingestion span share
one trace, and no query string reaches the exported spans."""

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.ingestion.test_worker import _wait
from tests.processes import celery_worker, web_server

pytestmark = [pytest.mark.django_db, pytest.mark.integration]
SECRET_WORDS = "merger-with-northwind"


class Receiver(ThreadingHTTPServer):
    def __init__(self):
        self.raw: list[bytes] = []
        self.spans: list[tuple[str, str, object]] = []  # (service, trace id, span)
        super().__init__(("127.0.0.1", 0), _Handler)

    def named(self, service: str, prefix: str):
        return [
            (trace_id, span) for name, trace_id, span in self.spans if name == service and span.name.startswith(prefix)
        ]


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.raw.append(body)
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            attributes = {item.key: item.value.string_value for item in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    self.server.spans.append((attributes.get("service.name"), span.trace_id.hex(), span))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_an_uploads_request_and_its_ingestion_on_the_worker_are_one_trace(tenant_a, receiver, django_db_blocker):
    queue = f"traced-{uuid.uuid4().hex[:8]}"
    tracing = {
        "ENCLAVE_OTEL_TRACING": "on",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_address[1]}",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "ENCLAVE_INGESTION_QUEUE": queue,
    }
    as_admin = {"Host": "localhost", "Authorization": f"Bearer {tenant_a.admin_key}"}

    with (
        django_db_blocker.unblock(),
        celery_worker(queue=queue, extra_env=tracing),
        web_server(extra_env=tracing) as port,
    ):
        base = f"http://127.0.0.1:{port}"
        uploaded = requests.post(
            f"{base}/api/v1/documents/",
            headers=as_admin,
            files={"files": ("traced.txt", b"A traced memo.")},
            timeout=60,
        )
        assert uploaded.status_code == 201, uploaded.text
        document = uploaded.json()["documents"][0]["id"]
        listed = requests.get(f"{base}/api/v1/documents/?search={SECRET_WORDS}", headers=as_admin, timeout=30)
        assert listed.status_code == 200
        try:
            [(trace_id, _)] = _wait(lambda: receiver.named("enclave-web", "POST"), 120, "the upload's request span")
            run = _wait(
                lambda: [span for tid, span in receiver.named("enclave-worker", "run/") if tid == trace_id],
                120,
                "the worker's ingestion span in the upload's trace",
            )
            _wait(lambda: receiver.named("enclave-web", "GET"), 120, "the listing's request span")
        finally:
            requests.delete(f"{base}/api/v1/documents/{document}/", headers=as_admin, timeout=60)

    assert "ingestion" in run[0].name
    assert not any(SECRET_WORDS.encode() in body for body in receiver.raw)
    [(_, listing)] = receiver.named("enclave-web", "GET")
    assert {"/api/v1/documents/", "api/v1/documents/"} & {
        item.value.string_value for item in listing.attributes if item.key in ("http.target", "http.route", "url.path")
    }
