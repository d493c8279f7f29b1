"""Local sign-in: Argon2id passwords, TOTP, lockout, throttling, cookies, CSRF, headers."""
from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.config import settings
from portal.extensions import db
from tests.conftest import PASSWORD, csrf_from, next_code, sign_in


def _post_login(client, email, password):
    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_from(page.get_data(as_text=True))})


def _actions(action):
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def test_password_hash_is_argon2id(world):
    org = world.org("bank-a")
    user = world.user("v@bank-a.example", org)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_viewer_signs_in_with_password_and_reaches_home(client, world):
    user = world.user("v@bank-a.example", world.org("bank-a"))
    response = sign_in(client, user)
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    body = home.get_data(as_text=True)
    assert "Bank A" in body and "IN-CONFIDENCE" in body
    assert _actions("auth.login.success") == 1


def test_session_cookie_is_secure_httponly_samesite(client, world):
    user = world.user("v@bank-a.example", world.org("bank-a"))
    response = sign_in(client, user)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password_fails_with_one_message_and_is_audited(client, world):
    user = world.user("v@bank-a.example", world.org("bank-a"))
    wrong = _post_login(client, user.email, "not the password")
    unknown = _post_login(client, "nobody@bank-a.example", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = "do not match an active account"
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    assert _actions("auth.login.failure") == 2
    assert client.get("/").status_code == 302


def test_publisher_must_enrol_totp_before_signing_in(client, world):
    user = world.user("p@customs.example", world.org("customs", "government", "customs"), ("publisher",),
                      totp=False)
    response = _post_login(client, user.email, PASSWORD)
    assert response.headers["Location"].endswith("/login/enrol")
    assert client.get("/").status_code == 302  # not signed in yet
    page = client.get("/login/enrol").get_data(as_text=True)
    assert "data:image/svg+xml;base64," in page
    shown = page.split('<code class="secret">')[1].split("</code>")[0]
    assert shown.count(" ") >= 7  # grouped in fours for typing
    secret = shown.replace(" ", "")
    bad = client.post("/login/enrol", data={"code": "000000", "csrf_token": csrf_from(page)})
    assert bad.status_code == 400
    good = client.post("/login/enrol", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page)})
    # Signed in, and shown the recovery codes once (tests/test_account_recovery.py).
    assert good.status_code == 302 and good.headers["Location"] == "/profile/recovery-codes"
    db.session.refresh(user)
    assert user.totp_secret == secret
    assert client.get("/").status_code == 200


def test_enrolled_user_needs_a_valid_unused_code(client, world):
    user = world.user("a@fiu.example", world.org("fiu", "government", "fiu"), ("analyst",))
    response = _post_login(client, user.email, PASSWORD)
    assert response.headers["Location"].endswith("/login/code")
    page = client.get("/login/code").get_data(as_text=True)
    wrong = client.post("/login/code", data={"code": "123456", "csrf_token": csrf_from(page)})
    assert wrong.status_code == 401
    assert client.get("/").status_code == 302
    code = next_code(user)
    ok = client.post("/login/code", data={"code": code, "csrf_token": csrf_from(page)})
    assert ok.status_code == 302
    assert client.get("/").status_code == 200
    # The same code cannot be replayed in another sign-in.
    other = client.application.test_client()
    _post_login(other, user.email, PASSWORD)
    page = other.get("/login/code").get_data(as_text=True)
    replay = other.post("/login/code", data={"code": code, "csrf_token": csrf_from(page)})
    assert replay.status_code == 401


def test_lockout_after_repeated_failures_even_with_right_password(client, world, app):
    user = world.user("v@bank-a.example", world.org("bank-a"))
    limit = settings(app).login_max_failures
    for _ in range(limit):
        _post_login(client, user.email, "wrong password here")
    db.session.refresh(user)
    assert user.locked_until is not None
    response = _post_login(client, user.email, PASSWORD)
    assert response.status_code == 401
    assert client.get("/").status_code == 302
    reasons = db.session.scalars(select(AuditEntry.reason).where(AuditEntry.action == "auth.login.failure")).all()
    assert "account locked" in reasons


def test_address_throttle(client, world, app):
    world.user("v@bank-a.example", world.org("bank-a"))
    limit = settings(app).address_max_failures
    for i in range(limit):
        _post_login(client, f"guess{i}@bank-a.example", "whatever password")
    response = _post_login(client, "v@bank-a.example", PASSWORD)
    assert response.status_code == 429


def test_inactive_user_cannot_sign_in_and_loses_session(client, world):
    user = world.user("v@bank-a.example", world.org("bank-a"))
    sign_in(client, user)
    user.active = False
    db.session.commit()
    assert client.get("/").status_code == 302
    assert _post_login(client, user.email, PASSWORD).status_code == 401


def test_logout_needs_post_with_csrf(client, world):
    user = world.user("v@bank-a.example", world.org("bank-a"))
    sign_in(client, user)
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/").status_code == 200
    page = client.get("/").get_data(as_text=True)
    response = client.post("/logout", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    assert _actions("auth.logout") == 1


def test_login_form_requires_csrf(client, world):
    user = world.user("v@bank-a.example", world.org("bank-a"))
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_open_redirect_is_refused(client, world):
    user = world.user("v@bank-a.example", world.org("bank-a"))
    page = client.get("/login?next=//evil.example/x").get_data(as_text=True)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "next": "//evil.example/x",
                                           "csrf_token": csrf_from(page)})
    assert response.headers["Location"] == "/"


def _hidden_next(html):
    import html as html_module
    import re

    found = re.search(r'name="next" type="hidden" value="([^"]*)"|name="next" value="([^"]*)"', html)
    return html_module.unescape((found.group(1) or found.group(2) or "") if found else "")


def test_class_open_redirect_sign_in_stays_on_the_site(app, world):
    """Every hostile ``next`` — in the sign-in link, and posted directly — lands on this site."""
    from urllib.parse import unquote

    from tests.redirects import HOSTILE, SAME_SITE, assert_all_stay_here

    user = world.user("v@bank-a.example", world.org("bank-a"))
    prefilled, answers = {}, {}
    for value in HOSTILE + list(SAME_SITE):
        browser = app.test_client()
        first = browser.get("/login?next=" + value)
        if first.status_code == 400:  # a NUL in the query: refused where requests are parsed (class 8)
            assert "Location" not in first.headers, value
            first = browser.get("/login")
        page = first.get_data(as_text=True)
        prefilled[value] = _hidden_next(page) or "/"
        response = browser.post("/login", data={"email": user.email, "password": PASSWORD, "next": unquote(value),
                                                "csrf_token": csrf_from(page)})
        if "\x00" in unquote(value):  # a NUL in a posted field: refused where forms are parsed (class 8)
            assert response.status_code == 400 and "Location" not in response.headers, value
            continue
        assert response.status_code == 302, value
        answers[value] = response.headers["Location"]
    assert_all_stay_here(prefilled)
    assert_all_stay_here(answers)
    assert all(answers[value] == "/" for value in HOSTILE if value in answers)
    assert len(answers) >= len(HOSTILE) + len(SAME_SITE) - 1  # only the NUL was refused before sign-in
    assert {value: answers[value] for value in SAME_SITE} == SAME_SITE  # same-site paths still honoured


def test_class_open_redirect_reauthentication_stays_on_the_site(client, world):
    from tests.redirects import HOSTILE, SAME_SITE, assert_all_stay_here

    user = world.user("v@bank-a.example", world.org("bank-a"))
    sign_in(client, user)
    answers, refused = {}, set()
    for value in HOSTILE + list(SAME_SITE):
        first = client.get("/reauth?next=" + value)
        if first.status_code == 400:  # a NUL in the query: refused where requests are parsed (class 8)
            assert "Location" not in first.headers, value
            refused.add(value)
            continue
        page = first.get_data(as_text=True)
        response = client.post("/reauth?next=" + value, data={"password": PASSWORD, "csrf_token": csrf_from(page)})
        assert response.status_code == 302, (value, response.status_code)
        answers[value] = response.headers["Location"]
    assert_all_stay_here(answers)
    assert all(answers[value] == "/" for value in HOSTILE if value not in refused)
    assert refused <= {v for v in HOSTILE if "%00" in v}  # only what the parser refuses outright
    assert {value: answers[value] for value in SAME_SITE} == SAME_SITE


def test_class_open_redirect_safe_next_refuses_every_hostile_value():
    from urllib.parse import unquote

    from portal.accounts.views import safe_next
    from tests.redirects import HOSTILE, SAME_SITE

    assert len(HOSTILE) >= 30
    assert {value: safe_next(unquote(value)) for value in HOSTILE} == dict.fromkeys(HOSTILE)
    assert {value: safe_next(unquote(value)) for value in SAME_SITE} == SAME_SITE
    assert safe_next("/bulletins?q=T\u0101maki") == "/bulletins?q=T%C4%81maki"


def test_next_path_is_honoured(client, world):
    user = world.user("v@bank-a.example", world.org("bank-a"))
    redirect = client.get("/bulletins")
    assert redirect.headers["Location"] == "/login?next=/bulletins"
    page = client.get(redirect.headers["Location"]).get_data(as_text=True)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "next": "/bulletins",
                                           "csrf_token": csrf_from(page)})
    assert response.headers["Location"] == "/bulletins"


@pytest.mark.parametrize("path", ["/login", "/healthz"])
def test_security_headers(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_style_or_remote_assets(client, world):
    user = world.user("v@bank-a.example", world.org("bank-a"))
    pages = [client.get("/login").get_data(as_text=True)]
    sign_in(client, user)
    for path in ("/", "/bulletins", "/profile", "/deportee-notifications"):
        pages.append(client.get(path).get_data(as_text=True))
    for html in pages:
        # Scripts only as files of the portal's own (progressive enhancement), never inline.
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
        assert html.count("<script") == len(scripts)
        assert all(re.search(r'\bsrc="/static/[\w.-]+\.js"', attributes) and not body.strip()
                   for attributes, body in scripts), scripts
        assert "<style" not in html and " style=" not in html
        assert " on" + "click=" not in html
        assert "http://" not in html.replace('xmlns="http://', "") and "https://" not in html


def test_session_idle_timeout(client, world, app, monkeypatch):
    import datetime as dt

    from portal.accounts import sessions
    from portal.types import utcnow

    now = utcnow()
    monkeypatch.setattr(sessions, "utcnow", lambda: now)
    user = world.user("v@bank-a.example", world.org("bank-a"))
    sign_in(client, user)
    now += dt.timedelta(minutes=settings(app).session_idle_minutes, seconds=5)
    assert client.get("/").status_code == 302


def test_totp_secret_is_sealed_at_rest_and_legacy_clear_secrets_are_sealed_on_use(client, world):
    from sqlalchemy import text, update

    from portal.accounts.models import User

    user = world.user("a@fiu.example", world.org("fiu", "government", "fiu"), ("analyst",))
    secret = user.totp_secret
    raw = db.session.execute(text("SELECT totp_secret FROM users WHERE id = :id"), {"id": user.id}).scalar()
    assert raw.startswith("v2.test1.") and secret not in raw
    # A secret stored in clear by an earlier version still works, and is sealed at its first use.
    db.session.execute(update(User).where(User.id == user.id).values(totp_secret_sealed=secret))
    db.session.commit()
    db.session.refresh(user)
    assert user.totp_secret == secret and user.totp_secret_needs_sealing
    sign_in(client, user)
    assert client.get("/").status_code == 200
    db.session.refresh(user)
    assert user.totp_secret_sealed.startswith("v2.") and user.totp_secret == secret


# --- Re-authentication under the same lockout and throttle as signing in (issue 13, class 7) ----

def _reauth(client, password, code=None):
    page = client.get("/reauth?next=/profile").get_data(as_text=True)
    data = {"password": password, "csrf_token": csrf_from(page)}
    if code is not None:
        data["code"] = code
    return client.post("/reauth?next=/profile", data=data)


def test_class_reauthentication_ignores_lockout_repeated_failures_lock_the_account(client, world, app):
    user = world.user("a@fiu.example", world.org("fiu", "government", "fiu"), ("analyst",))
    sign_in(client, user)
    limit = settings(app).login_max_failures
    for _ in range(limit):
        assert _reauth(client, "wrong password", "000000").status_code == 401
    db.session.refresh(user)
    assert user.locked_until is not None
    # Locked: the right password and a fresh code no longer re-authenticate, and nothing is recorded as done.
    refused = _reauth(client, PASSWORD, next_code(user))
    assert refused.status_code == 401 and "temporarily locked" in refused.get_data(as_text=True)
    assert _actions("auth.reauthenticate") == 0
    reasons = db.session.scalars(select(AuditEntry.reason).where(AuditEntry.action == "auth.login.failure")).all()
    assert "account locked" in reasons
    # ... and signing in elsewhere is locked too: one count for both doors.
    assert _post_login(client.application.test_client(), user.email, PASSWORD).status_code == 401


def test_class_reauthentication_ignores_lockout_address_throttle_applies(client, world, app):
    user = world.user("v@bank-a.example", world.org("bank-a"))
    sign_in(client, user)
    limit = settings(app).address_max_failures
    guesser = client.application.test_client()
    for i in range(limit):
        _post_login(guesser, f"guess{i}@bank-a.example", "whatever password")
    response = _reauth(client, PASSWORD)
    assert response.status_code == 429
    assert _actions("auth.reauthenticate") == 0


def test_class_reauthentication_ignores_lockout_failures_count_towards_sign_in_throttle(client, world, app):
    """Failed re-authentications are counted where sign-in counts them: they throttle the address."""
    user = world.user("v@bank-a.example", world.org("bank-a"))
    other = world.user("w@bank-a.example", world.org("bank-b"))
    sign_in(client, user)
    limit = settings(app).address_max_failures
    for _ in range(limit):
        assert _reauth(client, "wrong password").status_code in (401, 429)
    assert _post_login(client.application.test_client(), other.email, PASSWORD).status_code == 429
