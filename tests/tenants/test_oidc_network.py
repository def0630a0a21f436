"""Company sign-in cannot be turned against the server's own network (issue: SSRF through the sign-in
provider). A tenant admin names the issuer; a provider served from this test on loopback names
endpoints elsewhere, redirects, or answers with text of a service it should never have reached."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network
from urllib.parse import parse_qs, urlsplit

import pytest
from django_tenants.utils import schema_context

from tenants.accounts import oidc_network
from tenants.accounts.models import AuditEvent, IdentityProvider

pytestmark = pytest.mark.django_db

HOST = "tenant-a.localhost"
SECRET_TEXT = "text-only-the-model-server-knows"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, tuple[int, dict, dict]] = {}
        self.connections = 0
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def process_request(self, request, client_address):
        self.connections += 1
        super().process_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    def _answer(self):
        status, body, headers = self.server.routes.get(urlsplit(self.path).path, (404, {"error": SECRET_TEXT}, {}))
        payload = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def _serving():
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def provider(settings):
    """A provider on loopback, allowed as in development; its discovery document names its own endpoints."""
    settings.ENCLAVE_OIDC_ALLOW_LOOPBACK = True
    for server in _serving():
        issuer = server.url
        server.routes["/.well-known/openid-configuration"] = (
            200,
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "jwks_uri": f"{issuer}/jwks",
            },
            {},
        )
        yield server


@pytest.fixture
def model_server():
    """Stands for a service on the server's network (the model server): it must never be reached."""
    for server in _serving():
        server.routes["/v1/completions"] = (200, {"error": SECRET_TEXT}, {})
        yield server


def configure(api, tenant_a, issuer: str):
    body = {"issuer": issuer, "client_id": "enclave", "client_secret": "s3cret", "role_map": {}, "group_map": {}}
    return api("put", "/api/v1/identity-provider/", key=tenant_a.admin_key, host=tenant_a.host, data=body)


def sign_in(client):
    """Start at Enclave and, where it sends the browser to the provider, come back with a code."""
    started = client.get("/login/oidc/", HTTP_HOST=HOST)
    if started.status_code != 302:
        return started
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    return client.get(f"/login/oidc/callback/?code=a-code&state={state}", HTTP_HOST=HOST)


def refusal_reasons(tenant_a) -> str:
    with schema_context(tenant_a.tenant.schema_name):
        return json.dumps([event.detail for event in AuditEvent.objects.filter(action="auth.oidc_refused")])


def test_a_token_endpoint_off_the_issuers_origin_is_never_called(api, client, tenant_a, provider, model_server):
    discovery = provider.routes["/.well-known/openid-configuration"][1]
    discovery["token_endpoint"] = f"{model_server.url}/v1/completions"
    assert configure(api, tenant_a, provider.url).status_code == 200

    response = sign_in(client)

    assert model_server.connections == 0
    assert response.status_code == 502 and b"token_endpoint is not on the issuer" in response.content
    assert SECRET_TEXT not in response.content.decode() and SECRET_TEXT not in refusal_reasons(tenant_a)


def test_a_discovery_document_that_redirects_is_not_followed(api, client, tenant_a, provider, model_server):
    location = {"Location": f"{model_server.url}/v1/completions"}
    provider.routes["/.well-known/openid-configuration"] = (302, {}, location)
    assert configure(api, tenant_a, provider.url).status_code == 200

    response = sign_in(client)

    assert model_server.connections == 0
    assert response.status_code == 502 and b"redirect" in response.content


def test_what_the_provider_answers_is_never_shown_on_the_sign_in_page(api, client, tenant_a, provider):
    provider.routes["/token"] = (400, {"error": "invalid_grant", "error_description": SECRET_TEXT}, {})
    assert configure(api, tenant_a, provider.url).status_code == 200

    response = sign_in(client)

    assert response.status_code == 502 and b"the provider refused the code" in response.content
    assert SECRET_TEXT not in response.content.decode() and SECRET_TEXT not in refusal_reasons(tenant_a)


@pytest.mark.parametrize(
    "issuer",
    [
        "https://127.0.0.1",
        "https://localhost",
        "https://[::1]",
        "https://[::ffff:127.0.0.1]",
        "https://10.0.0.7",
        "https://192.168.1.20:8443",
        "https://169.254.169.254",
        "https://100.100.100.200",
        "https://[fd00:ec2::254]",
        "https://0.0.0.0",
        "http://127.0.0.1:8081",
    ],
)
def test_an_issuer_on_a_private_loopback_link_local_or_metadata_address_is_refused(api, tenant_a, settings, issuer):
    settings.ENCLAVE_OIDC_ALLOW_LOOPBACK = False

    response = configure(api, tenant_a, issuer)

    assert response.status_code == 400, response.content
    assert "issuer" in json.dumps(response.json())
    with schema_context(tenant_a.tenant.schema_name):
        assert not IdentityProvider.objects.exists()


def test_a_name_that_resolves_to_loopback_at_sign_in_is_refused_before_connecting(
    api, client, tenant_a, settings, monkeypatch, model_server
):
    settings.ENCLAVE_OIDC_ALLOW_LOOPBACK = False
    port = urlsplit(model_server.url).port
    real = socket.getaddrinfo
    answers = {"idp.example.com": "93.184.215.14"}  # public when the admin sets the provider up...

    def resolve(host, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    assert configure(api, tenant_a, f"https://idp.example.com:{port}").status_code == 200
    answers["idp.example.com"] = "127.0.0.1"  # ...and loopback once people sign in

    response = sign_in(client)

    assert model_server.connections == 0
    assert response.status_code == 502 and b"does not connect to" in response.content


def test_an_operator_may_allow_an_on_premises_provider_but_never_metadata(api, tenant_a, settings):
    settings.ENCLAVE_OIDC_PRIVATE_NETWORKS = [ip_network("10.0.0.0/8"), ip_network("0.0.0.0/0")]
    settings.ENCLAVE_OIDC_ALLOW_LOOPBACK = False

    assert configure(api, tenant_a, "https://10.20.30.40").status_code == 200
    assert configure(api, tenant_a, "https://169.254.169.254").status_code == 400
    assert configure(api, tenant_a, "http://10.20.30.40").status_code == 400


def test_endpoints_on_another_host_need_the_operators_leave(settings):
    issuer, token_endpoint = "https://accounts.google.com", "https://oauth2.googleapis.com/token"
    with pytest.raises(oidc_network.ProviderUrlRefused, match="issuer's origin"):
        oidc_network.endpoint_checked(token_endpoint, issuer=issuer)
    with pytest.raises(oidc_network.ProviderUrlRefused, match="issuer's origin"):
        oidc_network.endpoint_checked("http://accounts.google.com/token", issuer=issuer)

    settings.ENCLAVE_OIDC_ENDPOINT_HOSTS = ["oauth2.googleapis.com"]

    oidc_network.endpoint_checked(token_endpoint, issuer=issuer)
