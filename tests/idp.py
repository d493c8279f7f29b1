"""A real OpenID Connect provider for the tests (panva/oidc-provider on Node.js), and a
man-in-the-middle on its token endpoint that can rewrite the ID token, for the refusal tests.

The tests generate the provider's signing key, so they can forge ID tokens that carry a valid
signature but a wrong audience, issuer, nonce or expiry — exactly what the portal must refuse.
"""
from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urljoin

import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

HERE = Path(__file__).resolve().parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "portal", "portal-test-client-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OpenIDProvider:
    """Starts ``tests/oidc/provider.mjs`` and signs people in through its own pages."""

    def __init__(self, accounts: dict[str, dict[str, Any]], redirect_uris: list[str],
                 post_logout_redirect_uris: list[str], mode: str = "default") -> None:
        """``mode``: "default" is oidc-provider as it ships (e-mail claims from UserInfo only);
        "keycloak" puts them in the ID token too, as Keycloak does by default."""
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-signing-key", "use": "sig", "alg": "RS256"},
                                       private=True)
        self.accounts = accounts
        config = {
            "port": self.port, "issuer": self.issuer, "cookieKeys": [base64.b64encode(os.urandom(24)).decode()],
            "jwks": {"keys": [self.key.as_dict(private=True)]},
            "clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": redirect_uris,
                         "post_logout_redirect_uris": post_logout_redirect_uris,
                         "grant_types": ["authorization_code"], "response_types": ["code"]}],
            "accounts": accounts, "mode": mode,
        }
        if not (HERE / "node_modules" / "oidc-provider").exists():
            raise RuntimeError("tests/oidc/node_modules is missing: `make test` installs it (npm ci)")
        self.process = subprocess.Popen(["node", str(HERE / "provider.mjs")], env={**os.environ, "OIDC_CONFIG":
                                        json.dumps(config)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(self.issuer + "/.well-known/openid-configuration", timeout=1).raise_for_status()
                return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the OpenID provider did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def authorize(self, authorize_url: str, login: str | None, consent: bool = True,
                  browser: requests.Session | None = None) -> str:
        """Play the person at the provider: sign in as ``login``, then consent (or cancel).

        Returns the URL the provider sends the browser back to (the portal's callback).
        """
        session = browser or requests.Session()
        url = authorize_url
        for _ in range(12):
            response = session.get(url, allow_redirects=False, timeout=10)
            if response.status_code in (302, 303):
                url = urljoin(url, response.headers["Location"])
                if not url.startswith(self.issuer):
                    return url
                continue
            response.raise_for_status()
            page = response.text
            action = re.search(r'<form[^>]*action="([^"]+)"', page)
            assert action, page[:500]
            if not consent and 'name="prompt" value="consent"' in page:
                url = re.search(r'href="([^"]+/abort)"', page).group(1)  # type: ignore[union-attr]
                continue
            fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
            if 'name="login"' in page:
                assert login is not None, "the provider asked for a sign-in"
                fields.update(login=login, password="any password")
            response = session.post(urljoin(url, action.group(1)), data=fields, allow_redirects=False, timeout=10)
            url = urljoin(url, response.headers["Location"])
            if not url.startswith(self.issuer):
                return url
        raise AssertionError("the provider never sent the browser back")

    # --- forging, for the refusal tests ------------------------------------------------------

    def claims_of(self, id_token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        token = jwt.decode(id_token, self.key)
        return dict(token.header), dict(token.claims)

    def sign(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": header.get("alg", "RS256"), "kid": header.get("kid", "test-signing-key")},
                          claims, self.key)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class TokenTamperProxy:
    """Forwards the portal's token and UserInfo requests to the real provider and can rewrite the
    ID token (``rewrite``) and the UserInfo answer (``rewrite_userinfo``); ``seen`` keeps every ID
    token that passed, as the provider issued it, and ``sent`` what the portal was given instead."""

    def __init__(self, token_endpoint: str, userinfo_endpoint: str = "") -> None:
        self.token_endpoint, self.userinfo_endpoint = token_endpoint, userinfo_endpoint
        self.rewrite: Callable[[str], str] = lambda id_token: id_token
        self.rewrite_userinfo: Callable[[dict[str, Any]], dict[str, Any]] = lambda answer: answer
        self.seen: list[str] = []
        self.sent: list[str] = []
        self.userinfo_calls = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                proxy.userinfo_calls += 1
                upstream = requests.get(proxy.userinfo_endpoint, timeout=10,
                                        headers={"Authorization": self.headers.get("Authorization", "")})
                data = json.dumps(proxy.rewrite_userinfo(upstream.json())).encode()
                self.send_response(upstream.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                upstream = requests.post(proxy.token_endpoint, data=body, headers=headers, timeout=10)
                payload = upstream.json()
                if "id_token" in payload:
                    proxy.seen.append(payload["id_token"])
                    payload["id_token"] = proxy.rewrite(payload["id_token"])
                    proxy.sent.append(payload["id_token"])
                data = json.dumps(payload).encode()
                self.send_response(upstream.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/token"
        self.userinfo_url = f"http://127.0.0.1:{self.server.server_port}/userinfo"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
