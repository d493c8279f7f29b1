"""Sessions live in the database: signing out, a password or second-factor change and a deactivation
end them on every host; idle and absolute lifetimes hold on a controlled clock (issue 13, class 5);
the second factor is changed only after a recent sign-in (class 7)."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import pyotp
import pytest
from sqlalchemy import func, select

from app import create_app
from portal.accounts import sessions
from portal.accounts.models import BrowserSession, User
from portal.config import settings
from portal.extensions import db
from portal.types import utcnow
from tests.conftest import PASSWORD, IsolatedClient, csrf_from, next_code, settings_for, sign_in


def cookie_of(client) -> str | None:
    cookie = client.get_cookie(client.application.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


def browser_with(app, value: str):
    """Another browser holding a copy of a session cookie."""
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], value, domain="localhost")
    return other


def signed_in(client) -> bool:
    response = client.get("/profile")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def sessions_of(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(BrowserSession)
                             .where(BrowserSession.user_id == user.id)) or 0


@pytest.fixture
def bank(world):
    return world.org("bank-a")


class Clock:
    """The sessions' clock, moved by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = utcnow()
        monkeypatch.setattr(sessions, "utcnow", lambda: self.now)

    def advance(self, **delta: Any) -> None:
        self.now += dt.timedelta(**delta)


# --- Signing out ends the session ---------------------------------------------------------------

def test_class_sessions_outlive_sign_out_a_copied_cookie_is_refused_after_sign_out(client, world, bank, app):
    user = world.user("v@bank-a.example", bank)
    sign_in(client, user)
    copied = cookie_of(client)
    # The cookie is only a random id; the database keeps its hash, never the id itself.
    assert copied and "." not in copied and len(copied) >= 43
    row = db.session.scalars(select(BrowserSession).where(BrowserSession.user_id == user.id)).one()
    assert row.token_hash == hashlib.sha256(copied.encode()).hexdigest() and copied not in row.data
    thief = browser_with(app, copied)
    assert signed_in(thief)  # a copy works while the session lives
    page = client.get("/logout").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert not signed_in(thief)
    assert not signed_in(browser_with(app, copied))
    assert not signed_in(client)
    assert sessions_of(user) == 0


def test_class_sessions_outlive_sign_out_signing_in_gives_a_new_id(client, world, bank, app):
    """An id planted before sign-in (fixation) is worth nothing after it."""
    user = world.user("v@bank-a.example", bank)
    client.get("/login")
    before = cookie_of(client)
    assert before
    sign_in(client, user)
    assert cookie_of(client) != before
    assert not signed_in(browser_with(app, before))


# --- Password, second factor, deactivation: every other session ends ---------------------------

def _change_password(client, new: str):
    page = client.get("/profile").get_data(as_text=True)
    return client.post("/profile/password", data={"current_password": PASSWORD, "new_password": new,
                                                   "csrf_token": csrf_from(page)})


def test_class_sessions_outlive_sign_out_password_change_ends_every_other_session(client, world, bank, app):
    user = world.user("v@bank-a.example", bank)
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, user)
    sign_in(phone, user)
    sign_in(client, user)
    old = cookie_of(client)
    copy = browser_with(app, old)
    assert signed_in(laptop) and signed_in(phone) and signed_in(copy)
    assert _change_password(client, "a new and long pass phrase").status_code == 302
    assert not signed_in(laptop) and not signed_in(phone) and not signed_in(copy)
    # The one who changed it carries on, under a new id.
    assert signed_in(client) and cookie_of(client) != old
    assert sessions_of(user) == 1


def test_class_sessions_outlive_sign_out_second_factor_reset_ends_every_other_session(client, world, bank, app):
    user = world.user("a@fiu.example", world.org("fiu", "government", "fiu"), ("analyst",))
    other = app.test_client()
    sign_in(other, user)
    sign_in(client, user)
    old_secret = user.totp_secret
    # The two sign-ins used up the current time steps, and each step works once whatever the secret:
    # forget them, as if a minute had passed.
    db.session.refresh(user)
    user.totp_last_step = None
    db.session.commit()
    page = client.get("/profile/totp")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    secret = re.search(r'<code class="secret">([^<]+)</code>', html).group(1).replace(" ", "")
    done = client.post("/profile/totp", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(html)})
    assert done.status_code == 302
    db.session.refresh(user)
    assert user.totp_secret == secret != old_secret
    assert not signed_in(other)
    assert signed_in(client)
    assert sessions_of(user) == 1


def _deactivate(admin_client, target: User):
    url = f"/admin/users/{target.id}"
    page = admin_client.get(url).get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "display_name": "T", "roles": ["viewer"], "clearance": "IN-CONFIDENCE",
            "locale": "en", "time_zone": "Pacific/Auckland", "organisation": str(target.organisation_id)}
    return admin_client.post(url, data=data)  # no "active": deactivated


def test_class_sessions_outlive_sign_out_deactivation_ends_every_session(client, world, bank, app):
    admin = world.user("oa@bank-a.example", bank, ("org-admin",))
    target = world.user("t@bank-a.example", bank)
    first, second = app.test_client(), app.test_client()
    sign_in(first, target)
    sign_in(second, target)
    sign_in(client, admin)
    assert _deactivate(client, target).status_code == 302
    assert sessions_of(target) == 0
    # Reactivated, the person signs in again: the old sessions do not come back.
    db.session.refresh(target)
    target.active = True
    db.session.commit()
    assert not signed_in(first) and not signed_in(second)


def test_class_sessions_outlive_sign_out_organisation_deactivation_ends_its_members_sessions(client, world, app):
    ops = world.org("ops", "government", "customs")
    admin = world.user("admin@portal.example", ops, ("admin",))
    bank = world.org("bank-a")
    member = world.user("v@bank-a.example", bank)
    browser = app.test_client()
    sign_in(browser, member)
    sign_in(client, admin)
    url = f"/admin/organisations/{bank.id}"
    page = client.get(url).get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_from(page), "slug": bank.slug, "name": bank.name,
                                      "kind": "private", "sector": "banking", "country": "NZ"})
    assert response.status_code == 302
    assert sessions_of(member) == 0
    db.session.refresh(bank)
    bank.active = True
    db.session.commit()
    assert not signed_in(browser)


# --- Several hosts, one database ---------------------------------------------------------------

@pytest.fixture
def other_host(database_url, tmp_path):
    """A second portal instance on the same database, as a second web host."""
    second = create_app(settings_for(database_url, tmp_path / "instance-b"))
    second.test_client_class = IsolatedClient
    yield second
    with second.app_context():
        db.session.remove()
        db.engine.dispose()


def test_class_sessions_outlive_sign_out_two_app_instances_agree(client, world, bank, app, other_host):
    user = world.user("v@bank-a.example", bank)
    sign_in(client, user)
    value = cookie_of(client)
    on_b = other_host.test_client()
    on_b.set_cookie(app.config["SESSION_COOKIE_NAME"], value, domain="localhost")
    assert on_b.get("/profile").status_code == 200  # host B knows the session host A started
    # A form served by host B is accepted by host A (the CSRF token lives in the shared session).
    page = on_b.get("/profile").get_data(as_text=True)
    saved = client.post("/profile", data={"csrf_token": csrf_from(page), "display_name": "Vee", "locale": "en",
                                          "time_zone": "Pacific/Auckland"})
    assert saved.status_code == 302
    # Signed out on host B: host A refuses the same cookie.
    logout_page = on_b.get("/logout").get_data(as_text=True)
    assert on_b.post("/logout", data={"csrf_token": csrf_from(logout_page)}).status_code == 302
    assert client.get("/profile").status_code == 302
    assert on_b.get("/profile").status_code == 302


# --- Lifetimes on a controlled clock -------------------------------------------------------------

def test_class_sessions_outlive_sign_out_idle_expiry_on_a_controlled_clock(client, world, bank, app, monkeypatch):
    clock = Clock(monkeypatch)
    idle = settings(app).session_idle_minutes
    user = world.user("v@bank-a.example", bank)
    sign_in(client, user)
    assert signed_in(client)  # the first page after signing in stores the new session's CSRF token
    row = db.session.scalars(select(BrowserSession).where(BrowserSession.user_id == user.id)).one()
    seen = row.last_seen_at
    clock.advance(seconds=30)
    assert signed_in(client)
    db.session.expire_all()
    assert db.session.get(BrowserSession, row.id).last_seen_at == seen  # at most one write a minute
    clock.advance(minutes=idle - 1)
    assert signed_in(client)  # in use: the idle time starts again
    db.session.expire_all()
    assert db.session.get(BrowserSession, row.id).last_seen_at == clock.now
    clock.advance(minutes=idle - 1)
    assert signed_in(client)
    clock.advance(minutes=idle, seconds=1)
    assert not signed_in(client)
    assert sessions_of(user) == 0  # the expired row went with it


def test_class_sessions_outlive_sign_out_pages_write_their_session_at_most_once_a_minute(client, world, bank, app,
                                                                                        monkeypatch):
    from sqlalchemy import event

    clock = Clock(monkeypatch)
    user = world.user("v@bank-a.example", bank)
    sign_in(client, user)
    assert signed_in(client)  # the first page after signing in stores the new session's CSRF token
    anonymous = app.test_client()
    writes: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        if "browser_sessions" in statement and statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        for _ in range(3):
            assert client.get("/profile").status_code == 200 and client.get("/bulletins").status_code == 200
        assert writes == []  # reading pages writes nothing
        clock.advance(seconds=61)
        client.get("/profile")
        client.get("/bulletins")
        assert writes == ["UPDATE"]  # one "last seen" a minute
        for _ in range(3):
            assert anonymous.get("/login").status_code == 200
        assert writes == ["UPDATE", "INSERT"]  # an anonymous visitor: one row for the form's CSRF token
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_class_sessions_outlive_sign_out_absolute_expiry_on_a_controlled_clock(client, world, bank, app, monkeypatch):
    clock = Clock(monkeypatch)
    conf = settings(app)
    user = world.user("v@bank-a.example", bank)
    sign_in(client, user)
    step = dt.timedelta(minutes=conf.session_idle_minutes - 1)
    deadline = clock.now + dt.timedelta(hours=conf.session_absolute_hours)
    while clock.now + step < deadline:
        clock.advance(seconds=step.total_seconds())
        assert signed_in(client), clock.now  # never idle
    clock.now = deadline + dt.timedelta(seconds=1)
    assert not signed_in(client)


def test_class_sessions_outlive_sign_out_expired_rows_are_purged(client, world, bank, app, monkeypatch):
    clock = Clock(monkeypatch)
    user = world.user("v@bank-a.example", bank)
    sign_in(client, user)
    app.test_client().get("/login")  # an anonymous session (a CSRF token for the form)
    assert db.session.scalar(select(func.count()).select_from(BrowserSession)) == 2
    assert sessions.purge_expired() == 0
    clock.advance(minutes=settings(app).session_idle_minutes, seconds=1)
    assert sessions.purge_expired() == 2
    assert db.session.scalar(select(func.count()).select_from(BrowserSession)) == 0


# --- The second factor is replaced only after a recent sign-in (class 7) -----------------------

def test_class_stale_session_cannot_replace_the_second_factor(client, world, app):
    user = world.user("a@fiu.example", world.org("fiu", "government", "fiu"), ("analyst",))
    sign_in(client, user)
    old_secret = user.totp_secret
    with client.session_transaction() as session:
        session["auth_at"] -= 3600  # signed in an hour ago: stale for a sensitive change
    page = client.get("/profile/totp")
    assert page.status_code == 302 and page.headers["Location"].startswith("/reauth?next=")
    # Posting a code for a secret of the attacker's choosing does nothing either.
    token = csrf_from(client.get("/profile").get_data(as_text=True))
    secret = pyotp.random_base32()
    with client.session_transaction() as session:
        session["enrol_secret"] = secret
    refused = client.post("/profile/totp", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/reauth")
    db.session.refresh(user)
    assert user.totp_secret == old_secret
    # After confirming it is them, the change goes through.
    reauth = client.get("/reauth?next=/profile/totp").get_data(as_text=True)
    ok = client.post("/reauth?next=/profile/totp", data={"password": PASSWORD, "code": next_code(user),
                                                          "csrf_token": csrf_from(reauth)})
    assert ok.status_code == 302 and ok.headers["Location"] == "/profile/totp"
    assert client.get("/profile/totp").status_code == 200
