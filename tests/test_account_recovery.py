"""Ways back in: one-time recovery codes, an org-admin's reset of a member's second factor, and
password reset by e-mail — end to end through the real forms, the outbox and a real SMTP server,
on both databases."""
from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from sqlalchemy import func, select

from portal.accounts.models import BrowserSession, PasswordReset, RecoveryCode, User
from portal.audit.models import AuditEntry
from portal.config import settings
from portal.extensions import db
from portal.notifications import delivery as engine
from portal.types import utcnow
from tests.conftest import PASSWORD, csrf_from, next_code, sign_in
from tests.idp import free_port
from tests.mail import SmtpSink

SMTP_PORT = free_port()
CODE_RE = re.compile(r"<code>([0-9a-z]{5}-[0-9a-z]{5})</code>")


@pytest.fixture
def extra_settings():
    return {"smtp_port": SMTP_PORT, "password_reset_minutes": 30}


@pytest.fixture
def smtp():
    sink = SmtpSink(SMTP_PORT).start()
    yield sink
    sink.stop()


def _post(client, path, data, page_path=None):
    page = client.get(page_path or path)
    return client.post(path, data={**data, "csrf_token": csrf_from(page.get_data(as_text=True))})


def _login(client, email, password=PASSWORD):
    return _post(client, "/login", {"email": email, "password": password})


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _actions(action):
    return _count(AuditEntry, AuditEntry.action == action)


def _send_mail():
    engine.dispatch()
    engine.deliver_email()


def _enrol(client, user):
    """Sign in for the first time: password, then set up the app; returns the codes shown."""
    assert _login(client, user.email).headers["Location"].endswith("/login/enrol")
    page = client.get("/login/enrol").get_data(as_text=True)
    secret = page.split('<code class="secret">')[1].split("</code>")[0].replace(" ", "")
    done = client.post("/login/enrol", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page)})
    assert done.headers["Location"] == "/profile/recovery-codes"
    shown = client.get("/profile/recovery-codes").get_data(as_text=True)
    return CODE_RE.findall(shown)


# --- Recovery codes ---------------------------------------------------------------------------

def test_ten_codes_at_enrolment_shown_once_stored_hashed_each_usable_once(app, client, world):
    user = world.user("p@customs.example", world.org("customs", "government", "customs"), ("publisher",),
                      totp=False)
    codes = _enrol(client, user)
    assert len(codes) == 10 and len(set(codes)) == 10
    # Shown once: the page no longer lists them, only how many are left.
    again = client.get("/profile/recovery-codes").get_data(as_text=True)
    assert CODE_RE.findall(again) == [] and "10 unused recovery codes" in again
    assert "10 recovery codes left" in client.get("/profile").get_data(as_text=True)
    # Stored hashed: no clear code in the table.
    stored = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10 and not {c.replace("-", "") for c in codes} & set(stored)
    assert all(re.fullmatch("[0-9a-f]{64}", h) for h in stored)

    # The phone is lost: a recovery code instead of the app's code, typed carelessly.
    other = app.test_client()
    assert _login(other, user.email).headers["Location"].endswith("/login/code")
    typed = codes[3].upper().replace("-", " ")
    signed_in = _post(other, "/login/code", {"code": typed})
    assert signed_in.status_code == 302
    assert other.get("/").status_code == 200
    assert _actions("auth.recovery_code.use") == 1
    assert "9 recovery codes left" in other.get("/profile").get_data(as_text=True)
    # The same code never works twice, and counts as a failure.
    third = app.test_client()
    _login(third, user.email)
    failures = _actions("auth.login.failure")
    assert _post(third, "/login/code", {"code": codes[3]}).status_code == 401
    assert _actions("auth.login.failure") == failures + 1
    assert third.get("/").status_code == 302


def test_wrong_recovery_codes_lock_the_account_like_wrong_codes(app, client, world):
    user = world.user("a@fiu.example", world.org("fiu", "government", "fiu"), ("analyst",))
    db.session.refresh(user)
    from portal.accounts import recovery

    codes = recovery.issue(user)
    db.session.commit()
    _login(client, user.email)
    for _attempt in range(settings(app).login_max_failures):
        assert _post(client, "/login/code", {"code": "abcde-fghjk"}).status_code in (401, 302)
    db.session.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow()
    # Locked: even a right recovery code does not get in now, and it is not spent.
    fresh = app.test_client()
    _login(fresh, user.email)
    assert fresh.get("/").status_code == 302
    assert _count(RecoveryCode, RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)) == len(codes)


def test_regenerating_codes_needs_reauthentication_and_invalidates_the_old(app, client, world):
    user = world.user("p@customs.example", world.org("customs", "government", "customs"), ("publisher",),
                      totp=False)
    old = _enrol(client, user)
    # Long after signing in, making new codes asks who you are first.
    session_row = db.session.scalar(select(BrowserSession).where(BrowserSession.user_id == user.id))
    assert session_row is not None
    with client.session_transaction() as s:
        s["auth_at"] = s["reauth_at"] = 0
    refused = _post(client, "/profile/recovery-codes", {})
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/reauth")
    assert _count(RecoveryCode, RecoveryCode.user_id == user.id) == 10
    db.session.refresh(user)
    _post(client, "/reauth?next=/profile/recovery-codes", {"password": PASSWORD, "code": next_code(user)})
    made = _post(client, "/profile/recovery-codes", {})
    assert made.headers["Location"] == "/profile/recovery-codes"
    new = CODE_RE.findall(client.get("/profile/recovery-codes").get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert _actions("auth.recovery_codes.regenerate") == 1
    # An old code no longer works; a new one does.
    other = app.test_client()
    _login(other, user.email)
    assert _post(other, "/login/code", {"code": old[0]}).status_code == 401
    assert _post(other, "/login/code", {"code": new[0]}).status_code == 302


# --- An org-admin resets a member's second factor -------------------------------------------

def test_org_admin_resets_a_members_second_factor(app, client, world, smtp):
    bank = world.org("harbour-bank", "private", "banking")
    admin = world.user("olivia@harbour.example", bank, ("org-admin",), clearance="SENSITIVE")
    member = world.user("ben@harbour.example", bank, ("org-admin",), clearance="IN-CONFIDENCE", totp=True)
    other_bank = world.org("kowhai-bank", "private", "banking")
    stranger = world.user("lucy@kowhai.example", other_bank, ("org-admin",), clearance="SENSITIVE")
    member_client = app.test_client()
    sign_in(member_client, member)
    assert member_client.get("/").status_code == 200

    # Another organisation's admin cannot, and is not told the member exists.
    outsider = app.test_client()
    sign_in(outsider, stranger)
    assert _post(outsider, f"/admin/users/{member.id}/second-factor", {}, page_path="/profile").status_code == 404

    sign_in(client, admin)
    page = client.get(f"/admin/users/{member.id}").get_data(as_text=True)
    assert "Reset the second factor" in page
    # Not for oneself: that is done from the profile.
    assert "Reset the second factor" not in client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    assert _post(client, f"/admin/users/{admin.id}/second-factor", {},
                 page_path=f"/admin/users/{admin.id}").status_code == 404
    # Not without a recent sign-in.
    with client.session_transaction() as s:
        s["auth_at"] = s["reauth_at"] = 0
    stale = _post(client, f"/admin/users/{member.id}/second-factor", {}, page_path="/profile")
    assert stale.status_code == 302 and stale.headers["Location"].startswith("/reauth")
    db.session.refresh(admin)
    _post(client, "/reauth?next=/profile", {"password": PASSWORD, "code": next_code(admin)})

    done = _post(client, f"/admin/users/{member.id}/second-factor", {}, page_path=f"/admin/users/{member.id}")
    assert done.status_code == 302
    db.session.refresh(member)
    assert member.totp_secret is None
    assert _actions("user.second_factor.reset") == 1
    assert member_client.get("/").status_code == 302  # signed out everywhere
    _send_mail()
    mail = smtp.to(member.email)
    assert len(mail) == 1 and "second factor was reset" in mail[0]["Subject"] + mail[0].get_body(("plain",)).get_content()
    assert smtp.to(admin.email) == []
    # At the next sign-in the member sets up the app again.
    again = app.test_client()
    assert _login(again, member.email).headers["Location"].endswith("/login/enrol")


# --- Password reset by e-mail -------------------------------------------------------------------

def _reset_link(smtp, address):
    body = smtp.to(address)[-1].get_body(("plain",)).get_content()
    match = re.search(r"https?://\S+(/login/reset/[A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


def test_password_reset_by_email_end_to_end(app, client, world, smtp):
    fiu = world.org("fiu", "government", "fiu")
    user = world.user("a@fiu.example", fiu, ("analyst",))
    elsewhere = app.test_client()
    sign_in(elsewhere, user)
    assert "Forgot your password?" in client.get("/login").get_data(as_text=True)

    known = _post(client, "/login/forgot", {"email": "A@FIU.example"})
    unknown = _post(client, "/login/forgot", {"email": "nobody@fiu.example"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"] == "/login"
    message = client.get("/login").get_data(as_text=True)
    assert "If an account with a password has that address" in message
    _send_mail()
    assert [m["To"] for m in smtp.messages] == [user.email]
    path = _reset_link(smtp, user.email)
    token = path.rsplit("/", 1)[1]
    # Stored hashed: the clear token is in no column used to find it.
    row = db.session.scalar(select(PasswordReset))
    assert row.token_hash != token and token not in row.token_hash

    page = client.get(path)
    assert page.status_code == 200
    weak = _post(client, path, {"new_password": "short"})
    assert weak.status_code == 400
    done = _post(client, path, {"new_password": "a brand new long passphrase"})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert _actions("user.password.reset") == 1
    assert elsewhere.get("/").status_code == 302  # every session ended
    # Single use.
    assert client.get(path).status_code == 404
    # The old password no longer works; the new one does, and the second factor is still asked for.
    assert _login(app.test_client(), user.email).status_code == 401
    fresh = app.test_client()
    assert _login(fresh, user.email, "a brand new long passphrase").headers["Location"].endswith("/login/code")
    db.session.refresh(user)
    assert _post(fresh, "/login/code", {"code": next_code(user)}).status_code == 302
    _send_mail()
    assert "password was changed" in smtp.to(user.email)[-1].get_body(("plain",)).get_content()


def test_password_reset_link_expires_and_bad_links_count_as_failures(app, client, world, smtp):
    user = world.user("v@bank.example", world.org("bank"))
    _post(client, "/login/forgot", {"email": user.email})
    _send_mail()
    path = _reset_link(smtp, user.email)
    row = db.session.scalar(select(PasswordReset))
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    before = _actions("auth.login.failure")
    assert client.get(path).status_code == 404
    assert client.get("/login/reset/not-a-real-token").status_code == 404
    assert _actions("auth.login.failure") == before + 2
    # An expired link that was not yet e-mailed is not sent at all.
    db.session.execute(PasswordReset.__table__.delete())
    db.session.commit()


def test_password_reset_is_rate_limited_per_address(app, client, world, smtp):
    user = world.user("v@bank.example", world.org("bank"))
    limit = settings(app).address_max_failures
    for _attempt in range(limit):
        assert _post(client, "/login/forgot", {"email": f"x{_attempt}@bank.example"}).status_code == 302
    assert _post(client, "/login/forgot", {"email": user.email}).status_code == 429
    _send_mail()
    assert smtp.to(user.email) == []


def test_federated_or_unknown_addresses_get_the_same_answer_and_no_mail(app, client, world, smtp):
    org = world.org("bank")
    federated = world.user("f@bank.example", org)
    federated.password_hash = None
    db.session.commit()
    answers = {_post(client, "/login/forgot", {"email": e}).headers["Location"]
               for e in (federated.email, "ghost@bank.example")}
    assert answers == {"/login"}
    _send_mail()
    assert smtp.messages == []
    assert _count(PasswordReset) == 0


def test_reset_pages_need_csrf(app, client, world):
    user = world.user("v@bank.example", world.org("bank"))
    assert client.post("/login/forgot", data={"email": user.email}).status_code == 400
    assert _count(PasswordReset) == 0
    assert _count(User) == 1
