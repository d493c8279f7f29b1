"""Password reset by e-mail for local accounts.

"Forgot your password?" on the sign-in page asks for an address; the answer is the same whether or
not an account has it, and the work done is nearly the same (the e-mail itself leaves later, from
the outbox). A link is single-use and lives ``password_reset_minutes``; only its SHA-256 is kept to
find it (the outbox keeps it sealed until it is used or expires, see
:class:`portal.accounts.models.PasswordReset`). Asking is rate-limited per address like signing in,
and a wrong link counts as a failed sign-in. A reset ends every session of the person and leaves
the second factor as it is: signing in afterwards still asks for the code.
"""
from __future__ import annotations

import datetime as dt
import secrets

from flask import Flask

from sqlalchemy import delete, func, select, update

from portal.accounts.models import PasswordReset, User, hash_token
from portal.accounts.notices import change_id
from portal.accounts.passwords import hash_password
from portal.accounts.service import address_throttled, normalise_email
from portal import jobs
from portal.accounts.sessions import end_sessions_of
from portal.audit import trail
from portal.audit.models import AuditEntry
from portal.crypto import seal
from portal.config import settings
from portal.extensions import db
from portal.outbox import notify
from portal.types import utcnow

#: At most one link per account in this time: asking again and again floods nobody's mailbox.
RESEND_AFTER = dt.timedelta(minutes=1)


def requests_throttled(source_ip: str) -> bool:
    """Too many resets asked for, or sign-ins failed, from this address recently."""
    conf = settings()
    since = utcnow() - dt.timedelta(minutes=conf.address_window_minutes)
    asked = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "auth.password_reset.request", AuditEntry.source_ip == source_ip,
        AuditEntry.occurred_at >= since))
    return (asked or 0) >= conf.address_max_failures or address_throttled(source_ip)


def request_reset(email: str, source_ip: str) -> bool:
    """Send a reset link to ``email`` if a local, active account has it. Returns False only when
    the address is throttled; otherwise True, whatever happened (the caller says the same thing)."""
    email = normalise_email(email)
    if requests_throttled(source_ip):
        trail.record("auth.password_reset.request", "user", actor_email=email[:254], reason="address throttled")
        db.session.commit()
        return False
    now = utcnow()
    # Made whether or not it is sent, so that both answers cost the same.
    clear = secrets.token_urlsafe(32)
    digest, sealed = hash_token(clear), seal(clear, PasswordReset.SEAL_PURPOSE)
    user = db.session.scalar(select(User).where(User.email == email))
    reason = ""
    if user is None:
        reason = "unknown account"
    elif not user.password_hash:
        reason = "no local password"
    elif not user.is_active or user.pending:
        reason = "inactive account"
    elif db.session.scalar(select(PasswordReset.id).where(PasswordReset.user_id == user.id,
                                                         PasswordReset.created_at > now - RESEND_AFTER)):
        reason = "asked again too soon"
    if user is not None and not reason:
        reset = PasswordReset(user_id=user.id, token_hash=digest, token_sealed=sealed, created_at=now,
                              expires_at=now + dt.timedelta(minutes=settings().password_reset_minutes))
        db.session.add(reset)
        db.session.flush()
        notify("account.password_reset", "password_reset", reset.id)
    trail.record("auth.password_reset.request", "user", user.id if user else "",
                 user.organisation.slug if user else "", actor_email=email[:254], sent=not reason,
                 reason=reason)
    db.session.commit()
    return True


def find(token: str) -> PasswordReset | None:
    """The usable reset a link's token names, or None (unknown, used or expired)."""
    if not token or len(token) > 100:
        return None
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == hash_token(token)))
    if reset is None or not reset.usable(utcnow()) or not reset.user.is_active:
        return None
    return reset


def record_bad_link(source_ip: str) -> None:
    """A link that names no usable reset counts as a failed sign-in from its address."""
    trail.record("auth.login.failure", "user", reason="unknown or expired password-reset link", source_ip=source_ip)
    db.session.commit()


def complete(reset: PasswordReset, new_password: str) -> User:
    """Set the new password, spend the link (and any other of the person's), end every session of
    theirs. The second factor stays. Commits."""
    user = reset.user
    now = utcnow()
    user.password_hash = hash_password(new_password)
    db.session.execute(update(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
                       .values(used_at=now, token_sealed=None), execution_options={"synchronize_session": False})
    end_sessions_of(user)
    trail.record("user.password.reset", "user", user.id, user.organisation.slug, actor=user)
    notify("account.changed", "account", change_id(user, "password-reset"))
    db.session.commit()
    return user


def purge_expired() -> int:
    """Delete resets a day past their expiry (with any sealed link left in them)."""
    result = db.session.execute(delete(PasswordReset).where(PasswordReset.expires_at < utcnow() - dt.timedelta(days=1)),
                                execution_options={"synchronize_session": False})
    db.session.execute(update(PasswordReset).where(PasswordReset.expires_at < utcnow(),
                                                   PasswordReset.token_sealed.is_not(None)).values(token_sealed=None),
                       execution_options={"synchronize_session": False})
    db.session.commit()
    return int(result.rowcount or 0)


def init_app(app: Flask) -> None:
    """Purge spent and expired reset links every hour."""
    jobs.register("password_resets.purge", every=dt.timedelta(hours=1))(purge_expired)
