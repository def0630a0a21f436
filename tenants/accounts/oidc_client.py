"""The seam with a tenant's OpenID Connect provider: discovery, the authorization URL (code flow with
PKCE S256 and a nonce), the code exchange and the ID token check (signature from the provider's JWKS,
issuer, audience, nonce, expiry). Authlib speaks OAuth 2; joserfc checks the token. Every request goes
through `oidc_network` (which addresses, no redirects). The provider may be anything a tenant admin
points at, so an error says what failed in our words and never carries the provider's answer."""

import logging
import secrets
from dataclasses import dataclass

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tenants.accounts import oidc_network

TIMEOUT_SECONDS = 10
CLOCK_LEEWAY_SECONDS = 60
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")

logger = logging.getLogger(__name__)


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


def _get_json(url: str, what: str) -> dict:
    try:
        with oidc_network.guarded(requests.Session()) as session:
            response = session.get(url, timeout=TIMEOUT_SECONDS, allow_redirects=False)
        response.raise_for_status()
        data = response.json()
    except oidc_network.ProviderUrlRefused as exc:
        raise OidcError(f"the provider's {what} {exc}") from exc
    except requests.HTTPError as exc:
        raise OidcError(f"the provider's {what} answered HTTP {exc.response.status_code}") from exc
    except (requests.RequestException, ValueError) as exc:
        logger.warning("oidc: could not read %s: %.300s", url, exc)
        raise OidcError(f"could not read the provider's {what}") from exc
    if not isinstance(data, dict):
        raise OidcError(f"the provider's {what} is not a JSON object")
    return data


def discover(issuer: str) -> dict:
    metadata = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery document")
    if str(metadata.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise OidcError("the provider's discovery document names another issuer")
    for field in ENDPOINTS:
        if not isinstance(metadata.get(field), str) or not metadata[field]:
            raise OidcError(f"the provider's discovery document has no {field}")
        try:
            oidc_network.endpoint_checked(metadata[field], issuer=issuer)
            oidc_network.address_checked(metadata[field])
        except oidc_network.ProviderUrlRefused as exc:
            raise OidcError(f"the provider's {field} {exc}") from exc
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


def _key_set(data: dict) -> KeySet:
    try:
        return KeySet.import_key_set(data)
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        logger.warning("oidc: unusable key set: %.300s", exc)
        raise OidcError("the provider's jwks_uri holds no usable keys") from exc


def claims_from_code(client: Client, *, code: str, code_verifier: str, nonce: str) -> dict:
    """Exchange the code for tokens and return the ID token's claims, once they check out."""
    metadata = discover(client.issuer)
    try:
        with oidc_network.guarded(_session(client)) as session:
            token = session.fetch_token(
                metadata["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
            )
    except oidc_network.ProviderUrlRefused as exc:
        raise OidcError(f"the provider's token_endpoint {exc}") from exc
    except (AuthlibBaseError, requests.RequestException, ValueError) as exc:
        logger.warning("oidc: the token endpoint of %s refused the code: %.300s", client.issuer, exc)
        raise OidcError("the provider refused the code") from exc
    if not isinstance(token.get("id_token"), str):
        raise OidcError("the provider sent no ID token")
    keys = _key_set(_get_json(metadata["jwks_uri"], "jwks_uri"))
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
    except JoseError as exc:
        raise OidcError(f"the ID token does not check out: {exc}") from exc
    except ValueError as exc:
        raise OidcError("the ID token is malformed") from exc
    return decoded.claims
