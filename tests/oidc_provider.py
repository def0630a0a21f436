"""A small OpenID Connect provider for the sign-in tests, built on Authlib's authorization server:
authorization code with PKCE, RS256 ID tokens, discovery and JWKS, a password form. The people, their
role and their groups are read from a JSON file at every sign-in, so a test can change them between
two sign-ins as an identity team would.

    python -m tests.oidc_provider --port N --users people.json --client-id ID --client-secret S
        --redirect-uri URI [--redirect-uri URI ...]
"""

import argparse
import hmac
import html
import json
import secrets
import time
from pathlib import Path

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, request
from joserfc.jwk import RSAKey

SCOPES = {"openid", "profile", "email", "groups"}
SIGNING_KEY = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})


class Client(ClientMixin):
    def __init__(self, client_id: str, secret: str, redirect_uris: list[str]):
        self.client_id, self.secret, self.redirect_uris = client_id, secret, redirect_uris

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope):
        return " ".join(part for part in (scope or "").split() if part in SCOPES)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return hmac.compare_digest(client_secret, self.secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


class Person:
    def __init__(self, username: str, record: dict):
        self.id, self.record = record.get("sub", username), record
        self.username = username


class Code:
    def __init__(self, code: str, request_, user: Person):
        data = request_.payload.data
        self.code, self.user, self.client_id = code, user, request_.client.client_id
        self.redirect_uri, self.scope = request_.payload.redirect_uri, request_.scope
        self.nonce, self.auth_time = data.get("nonce"), int(time.time())
        self.code_challenge, self.code_challenge_method = data.get("code_challenge"), data.get("code_challenge_method")

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return ["pwd"]


def build_app(*, issuer: str, users_file: Path, client: Client) -> Flask:
    app = Flask(__name__)
    codes: dict[str, Code] = {}

    def people() -> dict:
        return json.loads(users_file.read_text())

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def save_authorization_code(self, code, request_):
            codes[code] = Code(code, request_, request_.user)

        def query_authorization_code(self, code, client_):
            found = codes.get(code)
            return found if found and found.client_id == client_.client_id else None

        def delete_authorization_code(self, authorization_code):
            codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code):
            return authorization_code.user

    class IdToken(OpenIDCode):
        def exists_nonce(self, nonce, request_):
            return any(code.nonce == nonce for code in codes.values())

        def resolve_client_private_key(self, client_):
            return SIGNING_KEY

        def get_client_algorithm(self, client_):
            return "RS256"

        def get_client_claims(self, client_):
            return {"iss": issuer, "aud": [client_.client_id], "exp": int(time.time()) + 300}

        def get_encode_header(self, client_):
            return {"alg": "RS256", "kid": SIGNING_KEY.kid}

        def generate_user_info(self, user, scope):
            record = people()[user.username]
            claims = {"sub": user.id, "preferred_username": user.username, "email": record.get("email", "")}
            claims["groups"] = record.get("groups", [])
            if "role" in record:
                claims["role"] = record["role"]
            return claims

    server = AuthorizationServer(
        app,
        query_client=lambda client_id: client if client_id == client.client_id else None,
        save_token=lambda token, request_: None,
    )
    server.register_grant(CodeGrant, [CodeChallenge(required=True), IdToken(require_nonce=True)])

    @app.get("/.well-known/openid-configuration")
    def discovery():
        return jsonify(
            issuer=issuer,
            authorization_endpoint=f"{issuer}/authorize",
            token_endpoint=f"{issuer}/token",
            jwks_uri=f"{issuer}/jwks",
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            code_challenge_methods_supported=["S256"],
            scopes_supported=sorted(SCOPES),
        )

    @app.get("/jwks")
    def jwks():
        return jsonify(keys=[SIGNING_KEY.as_dict(private=False)])

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize():
        if request.method == "GET":
            server.get_consent_grant(end_user=None)  # validates the client, redirect URI and PKCE first
            return _form(error="")
        username, password = request.form.get("username", ""), request.form.get("password", "")
        record = people().get(username)
        if record is None or not hmac.compare_digest(record["password"], password):
            return _form(error="Wrong user name or password."), 401
        return server.create_authorization_response(grant_user=Person(username, record))

    @app.post("/token")
    def token():
        return server.create_token_response()

    return app


def _form(error: str) -> str:
    alert = f'<p role="alert">{html.escape(error)}</p>' if error else ""
    return (
        "<!doctype html><title>Test identity provider</title><h1>Test identity provider</h1>"
        f'{alert}<form method="post"><label>User <input name="username"></label>'
        '<label>Password <input name="password" type="password"></label>'
        '<button type="submit">Continue</button></form>'
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users", type=Path, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", action="append", required=True)
    args = parser.parse_args()
    issuer = f"http://127.0.0.1:{args.port}"
    client = Client(args.client_id, args.client_secret, args.redirect_uri)
    app = build_app(issuer=issuer, users_file=args.users, client=client)
    app.secret_key = secrets.token_hex(16)
    app.run(host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
