"""The seam with a tenant's OpenID Connect provider: discovery, the authorization URL (code flow with
PKCE S256 and a nonce), the code exchange and the ID token check (signature from the provider's JWKS,
issuer, audience, nonce, expiry). Authlib speaks OAuth 2; joserfc checks the token."""

import secrets
from dataclasses import dataclass

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import is_secure_transport
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

TIMEOUT_SECONDS = 10
CLOCK_LEEWAY_SECONDS = 60


class OidcError(Exception):
    """The provider could not be reached, refused, or sent something that does not check out."""


@dataclass(frozen=True)
class Client:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    redirect_uri: str


@dataclass(frozen=True)
class Authorization:
    url: str
    state: str
    nonce: str
    code_verifier: str


def _get_json(url: str) -> dict:
    if not is_secure_transport(url):
        raise OidcError(f"{url} is neither https nor on this machine's loopback")
    try:
        response = requests.get(url, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        raise OidcError(f"could not read {url}: {exc}") from exc


def discover(issuer: str) -> dict:
    metadata = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    if metadata.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
        raise OidcError("the provider's discovery document names another issuer")
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not metadata.get(field):
            raise OidcError(f"the provider's discovery document has no {field}")
    return metadata


def _session(client: Client, **extra) -> OAuth2Session:
    return OAuth2Session(
        client.client_id,
        client.client_secret,
        scope=client.scopes,
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
        **extra,
    )


def authorization_start(client: Client) -> Authorization:
    metadata = discover(client.issuer)
    nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    url, state = _session(client).create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    return Authorization(url=url, state=state, nonce=nonce, code_verifier=verifier)


def claims_from_code(client: Client, *, code: str, code_verifier: str, nonce: str) -> dict:
    """Exchange the code for tokens and return the ID token's claims, once they check out."""
    metadata = discover(client.issuer)
    try:
        token = _session(client).fetch_token(
            metadata["token_endpoint"],
            grant_type="authorization_code",
            code=code,
            code_verifier=code_verifier,
            timeout=TIMEOUT_SECONDS,
        )
    except (AuthlibBaseError, requests.RequestException, ValueError) as exc:
        raise OidcError(f"the provider refused the code: {exc}") from exc
    if "id_token" not in token:
        raise OidcError("the provider sent no ID token")
    keys = KeySet.import_key_set(_get_json(metadata["jwks_uri"]))
    try:
        decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256", "ES256", "PS256"])
        jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": metadata["issuer"]},
            aud={"essential": True, "value": client.client_id},
            nonce={"essential": True, "value": nonce},
            sub={"essential": True},
            exp={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise OidcError(f"the ID token does not check out: {exc}") from exc
    return decoded.claims
