"""Every endpoint off the allowlist refuses an anonymous request: /login for pages, 401 for /api and
the token-authenticated feeds."""
from __future__ import annotations

import pytest
from werkzeug.routing import Rule

from portal.security import PUBLIC_ENDPOINTS

SAMPLE_VALUES = {"int": 1, "default": "x", "string": "x", "path": "x"}


def _url(rule: Rule) -> str:
    url = rule.rule
    for argument in rule.arguments:
        converter = rule._converters[argument].__class__.__name__.lower().replace("converter", "")  # type: ignore[attr-defined]
        value = SAMPLE_VALUES.get(converter, "x")
        url = url.replace(f"<{argument}>", str(value))
        for prefix in ("int", "string", "path"):
            url = url.replace(f"<{prefix}:{argument}>", str(value))
    return url


def test_allowlist_is_short_and_explicit():
    assert PUBLIC_ENDPOINTS == {"static", "auth.login", "auth.second_factor", "auth.enrol_totp",
                                "auth.forgot_password", "auth.reset_password",
                                "health.healthz", "health.readyz", "federation.login", "federation.callback"}


def test_every_other_endpoint_refuses_anonymous(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = _url(rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            checked += 1
            if url.startswith(("/api/", "/feeds/")):
                assert response.status_code == 401, (method, url, response.status_code)
                assert response.get_json()["error"]["code"] == "unauthenticated"
            elif url.startswith("/taxii2/"):  # TAXII's own error message
                assert response.status_code == 401, (method, url, response.status_code)
                assert response.get_json()["http_status"] == "401" and "Set-Cookie" not in response.headers
            else:
                assert response.status_code == 302, (method, url, response.status_code)
                assert response.headers["Location"].startswith("/login"), (method, url)
    assert checked > 20


@pytest.mark.parametrize("path", ["/no-such-page", "/admin/nothing"])
def test_unknown_pages_send_anonymous_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_api_unknown_path_is_401_for_anonymous(client):
    assert client.get("/api/v1/nothing").status_code == 401
    assert client.get("/taxii2/portal/nothing/").status_code == 401


def test_public_endpoints_answer_anonymous(client):
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/static/portal.css").status_code == 200
    # The second-factor pages exist only within a sign-in in progress.
    assert client.get("/login/code").headers["Location"].endswith("/login")
    assert client.get("/login/enrol").headers["Location"].endswith("/login")
