"""Issue 13, class 7 (weaker holes), the items of branch sec-api: a chunked body and the API's size
limit, error pages with their own translated titles, and webhook addresses (non-public addresses
hidden inside IPv6 ones; DNS rebinding)."""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
from flask import abort
from sqlalchemy import func, select
from werkzeug.serving import make_server

from portal.bulletins.models import Bulletin
from portal.config import install, settings
from portal.extensions import db
from portal.notifications import webhooks
from tests.conftest import bearer, sign_in
from tests.mail import HttpReceiver

BULLETIN = {"title": "Methamphetamine in frozen fish", "summary": "Check reefer weights.",
            "body_html": "<p>Seal numbers altered.</p>", "classification": "IN-CONFIDENCE", "tlp": "GREEN",
            "audience": {"orgs": ["harbour-bank"]}, "typologies": ["drug-importation"]}
LIMIT = 1024 * 1024  # Settings.api_body_max_bytes: json_max_bytes in config/defaults.toml


@pytest.fixture
def author(world):
    world.org("harbour-bank", "private", "banking")
    customs = world.org("nz-customs", "government", "customs")
    return world.user("aroha@customs.example", customs, ("publisher",), clearance="RESTRICTED")


def _bulletins() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Bulletin))


# --- A chunked body and the API's size limit ------------------------------------------------------

def _oversized() -> bytes:
    return json.dumps({**BULLETIN, "padding": "x" * (LIMIT + 10)}).encode()


def test_class_chunked_body_bypasses_size_limit_413_without_content_length(client, author):
    """A server that removes the chunked framing passes the body with no Content-Length."""
    headers = bearer(author)
    for body, status in ((_oversized(), 413), (json.dumps(BULLETIN).encode(), 201)):
        response = client.post("/api/v1/bulletins", headers={**headers, "Content-Type": "application/json",
                                                               "Transfer-Encoding": "chunked"},
                               environ_overrides={"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True})
        assert response.status_code == status, response.get_data(as_text=True)[:300]
        assert "CONTENT_LENGTH" not in response.request.environ
    assert response.get_json()["title"] == BULLETIN["title"]  # a small chunked body is read whole
    assert _bulletins() == 1


def _chunked_post(port: int, token: str, body: bytes) -> int:
    """POST ``body`` as real HTTP/1.1 chunks over a socket; the status the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(b"POST /api/v1/bulletins HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer " + token.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for start in range(0, len(body), 65536):
                part = body[start:start + 65536]
                conn.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            conn.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed before the whole body was sent
        answer = b""
        while b"\r\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def test_class_chunked_body_bypasses_size_limit_413_through_a_real_server(app, author):
    token = bearer(author)["Authorization"].split(" ", 1)[1]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert _chunked_post(server.server_port, token, _oversized()) == 413
        assert _chunked_post(server.server_port, token, json.dumps(BULLETIN).encode()) == 201
    finally:
        server.shutdown()
    assert _bulletins() == 1


# --- Error pages ----------------------------------------------------------------------------------

CODES = (400, 403, 404, 405, 413, 415, 429, 500)
TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def _raise(code: int):
    if code == 500:
        raise RuntimeError("boom")
    abort(code)


def test_class_error_pages_each_has_its_own_translated_title_and_text(app, client, world):
    app.add_url_rule("/test-errors/<int:code>", "test_errors", _raise)
    org = world.org("harbour-bank")
    english = world.user("en@harbour.example", org, locale="en")
    french = world.user("fr@harbour.example", org, locale="fr")
    pages: dict[str, dict[int, tuple[str, str]]] = {}
    for user in (english, french):
        browser = app.test_client()
        sign_in(browser, user)
        pages[user.locale] = {}
        for code in CODES:
            response = browser.get(f"/test-errors/{code}")
            assert response.status_code == code
            html = response.get_data(as_text=True)
            title = TITLE.search(html).group(1).strip()
            heading = re.search(r"<h1>(.*?)</h1>", html, re.S).group(1).strip()
            assert "Internal Server Error" not in title and str(code) in title, title
            pages[user.locale][code] = (title, heading)
    for locale in ("en", "fr"):
        titles = [pages[locale][code][0] for code in CODES]
        assert len(set(titles)) == len(CODES), titles  # each status its own title
        headings = [pages[locale][code][1] for code in CODES]
        assert len(set(headings)) == len(CODES), headings
    for code in CODES:
        assert pages["fr"][code][0] != pages["en"][code][0], code  # translated
    assert pages["fr"][404][1] == "Introuvable"
    # Real ones, not only raised ones.
    sign_in(client, english)
    assert "Method not allowed" in TITLE.search(client.put("/bulletins").get_data(as_text=True)).group(1)
    assert "Not found" in TITLE.search(client.get("/bulletins/999999").get_data(as_text=True)).group(1)


def test_class_error_pages_keep_their_own_title_when_the_layout_fails(app, world, monkeypatch):
    """The layout reads the database; when that fails too, the page still says what happened."""
    from portal.notifications import views as notification_views

    app.add_url_rule("/test-errors/<int:code>", "test_errors", _raise)
    user = world.user("fr@harbour.example", world.org("harbour-bank"), locale="fr")
    browser = app.test_client()
    sign_in(browser, user)

    def database_down(*args: Any) -> int:
        raise RuntimeError("the database is down")

    monkeypatch.setattr(notification_views, "unread_count", database_down)
    for code, title in ((404, "Introuvable (404)"), (405, None), (500, None), (413, None)):
        response = browser.get(f"/test-errors/{code}")
        assert response.status_code == code
        page_title = TITLE.search(response.get_data(as_text=True)).group(1).strip()
        assert "Internal Server Error" not in page_title and f"({code})" in page_title, page_title
        if title:
            assert page_title == title


# --- Webhook addresses ----------------------------------------------------------------------------

NOT_PUBLIC = (
    "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "255.255.255.255", "224.0.0.1", "239.255.255.250", "192.0.0.1", "192.0.0.170", "192.0.2.1", "198.18.0.1",
    "198.51.100.1", "203.0.113.1", "240.0.0.1", "192.88.99.1",
    "::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1", "2001:db8::1",
    "100::1", "3fff::1", "::7f00:1", "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo, whatever public client it carries
    # IPv4 inside IPv6: mapped, NAT64 (well-known and local-use), 6to4.
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:7f00:1",
    "64:ff9b::7f00:1", "64:ff9b::127.0.0.1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::c0a8:101",
    "64:ff9b:1::8.8.8.8", "2002:7f00:1::", "2002:a00:1::1", "2002:c0a8:101::1", "2002:a9fe:a9fe::",
    "not an address", "",
)
PUBLIC = ("8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "2001:4860:4860::8888",
          "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1")


def test_class_webhook_address_check_refuses_every_non_public_address_in_the_corpus():
    wrongly_public = [a for a in NOT_PUBLIC if webhooks.is_public_address(a)]
    assert not wrongly_public
    wrongly_refused = [a for a in PUBLIC if not webhooks.is_public_address(a)]
    assert not wrongly_refused


class Resolver:
    """Answers ``names`` with the next of their addresses on each lookup (the last one repeats), as a
    rebinding attacker's DNS server does; every other name resolves as usual."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names, self.lookups, self.real = names, [], socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list:
        if host not in self.names:
            return self.real(host, port, *args, **kwargs)
        self.lookups.append(host)
        answers = self.names[host]
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, int(port or 0), 0, 0) if family == socket.AF_INET6 else (address, int(port or 0))
        return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]


@pytest.fixture
def production(app):
    """The settings of production (private addresses refused), only for this test."""
    conf = settings(app)
    install(app, conf.model_copy(update={"env": "production"}))
    assert not settings(app).webhooks_may_reach_private_addresses
    yield
    install(app, conf)


def test_class_webhook_address_check_refuses_names_that_resolve_to_non_public_addresses(app, production,
                                                                                       monkeypatch):
    names = {f"h{i}.partner.example": [address] for i, address in enumerate(NOT_PUBLIC[:-2])}
    names["mixed.partner.example"] = ["8.8.8.8"]
    resolver = Resolver(names)
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    for host in names:
        if host != "mixed.partner.example":
            assert webhooks.address_problem(f"https://{host}/hook"), host
    assert webhooks.address_problem("https://mixed.partner.example/hook") is None
    assert webhooks.address_problem("http://mixed.partner.example/hook")  # production: https only


def _delivery():
    return SimpleNamespace(id="d-1", message=SimpleNamespace(event="bulletin.published"))


def test_webhook_request_goes_to_the_first_answer_with_the_host_name(app, monkeypatch):
    """The name first resolves to where the receiver listens; a second lookup would answer another
    address. The request goes to the first answer, with the name as Host."""
    receiver = HttpReceiver()
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    resolver = Resolver({"hooks.partner.example": ["127.0.0.1", "127.0.0.2"]})
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setattr(webhooks, "body_for", lambda *args: b'{"id": "d-1"}')
    endpoint = SimpleNamespace(url=f"http://hooks.partner.example:{port}/hooks/portal", secret="s")
    try:
        ok, error = webhooks.post(endpoint, _delivery(), None, None)
    finally:
        receiver.stop()
    assert (ok, error) == (True, "")
    assert resolver.lookups == ["hooks.partner.example"]  # looked up once: checked address = used address
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.partner.example:{port}"
    assert receiver.requests[0]["body"] == b'{"id": "d-1"}'


def test_class_webhook_address_check_dns_rebinding_is_closed_by_pinning(app, production, monkeypatch,
                                                                        https_receiver):
    """Production: the name first resolves to a public address (the check passes), then to the
    loopback address where a server listens. Only the checked address may be connected to."""
    port, seen = https_receiver
    resolver = Resolver({"hooks.partner.example": ["8.8.8.8", "127.0.0.1"]})
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    connected: list[str] = []
    monkeypatch.setattr(webhooks, "send_pinned", lambda parsed, address, *args: connected.append(address) or 204,
                        raising=False)
    monkeypatch.setattr(webhooks, "body_for", lambda *args: b"{}")
    webhooks.post(SimpleNamespace(url=f"https://hooks.partner.example:{port}/h", secret="s"), _delivery(), None, None)
    assert seen == [], "the request went to the address of a second lookup (DNS rebinding)"
    assert connected == ["8.8.8.8"] and resolver.lookups == ["hooks.partner.example"]
    # A name whose answers include a non-public address is refused before any connection.
    resolver.names["mixed.partner.example"] = ["10.0.0.7"]
    ok, error = webhooks.post(SimpleNamespace(url="https://mixed.partner.example/h", secret="s"), _delivery(),
                              None, None)
    assert not ok and error.startswith("refused") and connected == ["8.8.8.8"]


def _certificate(tmp_path, name: str) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture
def https_receiver(tmp_path, monkeypatch):
    """An https server on 127.0.0.1 whose certificate names hooks.partner.example (trusted for the
    test through REQUESTS_CA_BUNDLE); yields its port and the headers of each request it got."""
    cert, key = _certificate(tmp_path, "hooks.partner.example")
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append(dict(self.headers))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    yield server.server_port, seen
    server.shutdown()


def test_webhook_pinned_https_still_verifies_the_certificate_name(app, monkeypatch, https_receiver):
    port, seen = https_receiver
    monkeypatch.setattr(socket, "getaddrinfo", Resolver({"hooks.partner.example": ["127.0.0.1"],
                                                         "other.partner.example": ["127.0.0.1"]}))
    monkeypatch.setattr(webhooks, "body_for", lambda *args: b"{}")
    good = webhooks.post(SimpleNamespace(url=f"https://hooks.partner.example:{port}/h", secret="s"),
                         _delivery(), None, None)
    wrong_name = webhooks.post(SimpleNamespace(url=f"https://other.partner.example:{port}/h", secret="s"),
                               _delivery(), None, None)
    assert good == (True, "")
    assert seen[0]["Host"] == f"hooks.partner.example:{port}"
    assert not wrong_name[0] and ("certificate" in wrong_name[1].lower() or "hostname" in wrong_name[1].lower())
    assert len(seen) == 1
