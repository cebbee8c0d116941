"""A minimal OpenID Connect provider for tests: the clinic's identity provider, on a free
loopback port in a thread, so that the dashboard's sign-in (Streamlit's `st.login`, Authlib)
runs its real authorization-code flow against it (tests/test_e2e_sign_in.py).

It serves what a real provider does and checks what a real provider checks:

- `/.well-known/openid-configuration`: discovery (issuer, the endpoints, RS256, PKCE S256);
- `/authorize`: the client id and the registered redirect URI are checked, `state` is handed
  back and `nonce` and the PKCE challenge kept with the code. There is no login form: it signs in
  whoever the test has chosen (`provider.user = "someone@clinic.example"`), or, when a
  `login_hint` is given, that account;
- `/token`: the client authenticates (HTTP Basic, as Authlib does by default), the code is
  single-use and bound to its redirect URI and PKCE verifier; the answer holds an access token
  and an ID token signed RS256 with a key made for this provider (iss, sub, aud = client id,
  exp, iat, nonce, at_hash, email, email_verified);
- `/jwks`: the public key; `/userinfo`: the claims, for the access token;
- `/logout`: RP-initiated logout (end_session_endpoint), back to the registered redirect URI.

Every request is recorded in `provider.requests` (path and query) for the test to inspect.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey


@dataclass
class Grant:
    email: str
    nonce: str | None
    redirect_uri: str
    code_challenge: str | None


@dataclass
class Provider:
    client_id: str
    client_secret: str
    redirect_uri: str
    user: str | None = None  # who /authorize signs in, unless the request has a login_hint
    port: int = 0
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"}))
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> e-mail
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified", "name"],
        }

    def claims(self, email: str) -> dict:
        return {"sub": hashlib.sha256(email.encode()).hexdigest()[:24], "email": email, "email_verified": True,
                "name": email.split("@")[0]}

    def id_token(self, email: str, nonce: str | None, access_token: str) -> str:
        now = int(time.time())
        digest = hashlib.sha256(access_token.encode()).digest()
        claims = {**self.claims(email), "iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 600,
                  "auth_time": now, "at_hash": base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()}
        if nonce is not None:
            claims["nonce"] = nonce
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)

    def requested(self, path: str) -> list[dict[str, str]]:
        """The queries of the requests made to `path`, oldest first."""
        return [query for seen, query in self.requests if seen == path]


class _Handler(BaseHTTPRequestHandler):
    provider: Provider  # set on the subclass made for each server

    def log_message(self, format, *args):  # noqa: A002  (quiet: the test reports what matters)
        pass

    def _send(self, status: int, body: dict | str = "", headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if isinstance(body, dict) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if isinstance(body, dict) else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _redirect(self, location: str) -> None:
        self._send(302, "", {"Location": location})

    def _query(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        with self.provider.lock:
            self.provider.requests.append((parts.path, query))
        return parts.path, query

    def do_GET(self) -> None:  # noqa: N802
        provider = self.provider
        path, query = self._query()
        if path == "/.well-known/openid-configuration":
            self._send(200, provider.metadata())
        elif path == "/jwks":
            self._send(200, {"keys": [provider.key.as_dict(private=False)]})
        elif path == "/authorize":
            self._authorize(query)
        elif path == "/userinfo":
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            email = provider.tokens.get(token)
            self._send(200, provider.claims(email)) if email else self._send(401, {"error": "invalid_token"})
        elif path == "/logout":
            target = query.get("post_logout_redirect_uri")
            if target is None:
                self._send(200, "Signed out.")
            elif target == provider.redirect_uri:
                self._redirect(target + ("?" + urlencode({"state": query["state"]}) if "state" in query else ""))
            else:
                self._send(400, {"error": "invalid_request",
                                 "error_description": "unregistered post_logout_redirect_uri"})
        else:
            self._send(404, {"error": "not_found"})

    def _authorize(self, query: dict[str, str]) -> None:
        provider = self.provider
        if query.get("client_id") != provider.client_id or query.get("redirect_uri") != provider.redirect_uri:
            # never redirect to an unregistered URI: show the error here
            self._send(400, {"error": "invalid_request", "error_description": "unknown client or redirect_uri"})
            return
        back = provider.redirect_uri + "?"
        state = {"state": query["state"]} if "state" in query else {}
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            self._redirect(back + urlencode({"error": "unsupported_response_type", **state}))
            return
        email = query.get("login_hint") or provider.user
        if not email:
            self._redirect(back + urlencode({"error": "login_required", **state}))
            return
        if query.get("code_challenge") and query.get("code_challenge_method") != "S256":
            self._redirect(back + urlencode({"error": "invalid_request", **state}))
            return
        code = secrets.token_urlsafe(24)
        with provider.lock:
            provider.grants[code] = Grant(email, query.get("nonce"), query["redirect_uri"], query.get("code_challenge"))
        self._redirect(back + urlencode({"code": code, **state}))

    def do_POST(self) -> None:  # noqa: N802
        provider = self.provider
        path, _ = self._query()
        length = int(self.headers.get("Content-Length") or 0)
        form = {name: values[-1] for name, values in parse_qs(self.rfile.read(length).decode()).items()}
        if path != "/token":
            self._send(404, {"error": "not_found"})
            return
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = self.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        if client_id != provider.client_id or client_secret != provider.client_secret:
            self._send(401, {"error": "invalid_client"})
            return
        with provider.lock:
            grant = provider.grants.pop(form.get("code", ""), None)  # a code is used once
        if form.get("grant_type") != "authorization_code" or grant is None:
            self._send(400, {"error": "invalid_grant"})
            return
        if form.get("redirect_uri") != grant.redirect_uri:
            self._send(400, {"error": "invalid_grant", "error_description": "redirect_uri differs"})
            return
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if challenge != grant.code_challenge:
                self._send(400, {"error": "invalid_grant", "error_description": "PKCE verifier does not match"})
                return
        access_token = secrets.token_urlsafe(24)
        with provider.lock:
            provider.tokens[access_token] = grant.email
        self._send(200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 600,
                         "scope": "openid email profile",
                         "id_token": provider.id_token(grant.email, grant.nonce, access_token)})


def serve(client_id: str, client_secret: str, redirect_uri: str) -> tuple[Provider, ThreadingHTTPServer]:
    """Start a provider on a free port of 127.0.0.1, in a daemon thread; `server.shutdown()` stops it."""
    provider = Provider(client_id, client_secret, redirect_uri)
    handler = type("Handler", (_Handler,), {"provider": provider})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    provider.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True, name="oidc-provider").start()
    return provider, server
