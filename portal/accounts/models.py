from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, event, false, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.crypto import is_sealed, seal, unseal
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.types import ClassificationType, UTCDateTime, utcnow
from portal.vocabulary import ROLES_REQUIRING_TOTP, Classification, Role


class UserRole(db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)


class User(db.Model):
    """A person who signs in. Their organisation, roles and clearance decide what they see."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    clearance: Mapped[Classification] = mapped_column(ClassificationType, default=Classification.UNCLASSIFIED)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="Pacific/Auckland")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Created by a first federated sign-in; sees only "waiting for approval" until an admin approves.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # The TOTP secret, sealed with AES-GCM (portal/crypto.py); read and set through ``totp_secret``.
    totp_secret_sealed: Mapped[str | None] = mapped_column("totp_secret", String(255))
    # The last TOTP time step accepted, so that a code cannot be used twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Changed whenever all of the user's sessions are ended (portal/accounts/sessions.py), so that a
    # sign-in half done (password given, code not yet) cannot be finished either.
    session_nonce: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The hour (in the user's time zone) at which their daily digest is sent.
    digest_hour: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    # Set when e-mail to this address keeps failing; its organisation's admins are told.
    email_failing_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When this user last gained a way to read something (clearance raised, another organisation,
    # another address, a role granted, reactivated or approved): with its organisation's mark, the
    # earliest TAXII date_added of anything it reads (``policy.rights_widened_at``). Set by
    # ``_note_widened_rights`` below, never by hand.
    rights_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    role_rows: Mapped[list[UserRole]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by=UserRole.role
    )

    # Flask-Login
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active and self.organisation.active

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def may_read(self) -> bool:
        """Active, approved, and in an active organisation: the access policy's precondition."""
        return self.is_active and not self.pending

    def get_id(self) -> str:
        return str(self.id)

    TOTP_PURPOSE = "totp-secret"

    @property
    def totp_secret(self) -> str | None:
        value = self.totp_secret_sealed
        if not value:
            return None
        # A secret stored before sealing was introduced is still honoured (and re-sealed on use).
        return unseal(value, self.TOTP_PURPOSE) if is_sealed(value) else value

    @totp_secret.setter
    def totp_secret(self, value: str | None) -> None:
        self.totp_secret_sealed = seal(value, self.TOTP_PURPOSE) if value else None

    @property
    def totp_secret_needs_sealing(self) -> bool:
        return bool(self.totp_secret_sealed) and not is_sealed(self.totp_secret_sealed)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(r.role) for r in self.role_rows)

    def set_roles(self, roles: set[Role] | frozenset[Role] | list[Role]) -> None:
        wanted = {Role(r) for r in roles}
        self.role_rows = [r for r in self.role_rows if Role(r.role) in wanted]
        have = {Role(r.role) for r in self.role_rows}
        for role in sorted(wanted - have, key=lambda r: r.value):
            self.role_rows.append(UserRole(role=role.value))

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def requires_totp(self) -> bool:
        return bool(self.roles & ROLES_REQUIRING_TOTP)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


def _widened(state, name: str, widens=lambda old, new: old != new) -> bool:
    """Whether attribute ``name`` of the object behind ``state`` changed in a way that may let its
    reader read more; a change from a value not loaded counts."""
    history = state.attrs[name].history
    if not history.has_changes():
        return False
    if not history.deleted or not history.added:
        return True
    return widens(history.deleted[0], history.added[0])


def _user_rights_widened(user: User) -> bool:
    """Every input of the access policy about the user (``policy.Reader``), in the direction that
    can only open more to them; lowering one never moves the mark (nothing new to send)."""
    state = inspect(user)
    return (_widened(state, "clearance", lambda old, new: int(new) > int(old))
            or _widened(state, "organisation_id") or _widened(state, "organisation")
            or _widened(state, "email", lambda old, new: old.lower() != new.lower())
            or _widened(state, "active", lambda old, new: bool(new) and not old)
            or _widened(state, "pending", lambda old, new: bool(old) and not new)
            or bool(state.attrs.role_rows.history.added))  # a role granted (submissions' rules)


def _organisation_rights_widened(organisation: Organisation) -> bool:
    state = inspect(organisation)
    return (any(_widened(state, name) for name in ("slug", "sector", "country"))
            or _widened(state, "active", lambda old, new: bool(new) and not old))


@event.listens_for(Session, "before_flush")
def _note_widened_rights(session: Session, flush_context: object, instances: object) -> None:
    """Keep ``User.rights_changed_at`` and ``Organisation.rights_changed_at`` true whatever code
    path changed a reader's rights (admin pages, federation claims, the CLI, tests): TAXII's
    ``added_after`` then finds what the change opened to them."""
    now = utcnow()
    for obj in list(session.dirty):
        if isinstance(obj, User) and _user_rights_widened(obj):
            obj.rights_changed_at = now
        elif isinstance(obj, Organisation) and _organisation_rights_widened(obj):
            obj.rights_changed_at = now
    for obj in list(session.new):
        # A role row added on its own rather than through ``User.role_rows``.
        if isinstance(obj, UserRole) and obj.user_id is not None:
            user = session.get(User, obj.user_id)
            if user is not None:
                user.rights_changed_at = now


#: The columns of each table that are inputs of the access policy (see the two functions above).
RIGHTS_COLUMNS = {"users": {"clearance", "organisation_id", "email", "active", "pending"},
                  "organisations": {"slug", "sector", "country", "active"}}


@event.listens_for(Session, "do_orm_execute")
def _note_rights_in_bulk_updates(state) -> None:
    """``session.execute(update(User)…)`` skips the unit of work and so the hook above: an UPDATE
    that sets an input of the policy moves the mark of every row it changes (old values unknown:
    counted as widening)."""
    if not state.is_update:
        return
    table = getattr(state.statement, "table", None)
    inputs = RIGHTS_COLUMNS.get(getattr(table, "name", ""), set())
    if not inputs:
        return
    params = state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]
    named = set(state.statement.compile().params) | {str(k) for p in params for k in p}
    if named & inputs and "rights_changed_at" not in named:
        state.statement = state.statement.values(rights_changed_at=utcnow())


def hash_token(token: str) -> str:
    """API tokens carry 256 bits of randomness, so a fast hash is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(db.Model):
    """A bearer token a partner's system uses for the API. Only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, shown in lists so a person can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    scopes_json: Mapped[str] = mapped_column(Text, default="[]")
    allowed_networks: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    TOKEN_PREFIX = "psp_"

    @property
    def scopes(self) -> list[str]:
        return list(json.loads(self.scopes_json or "[]"))

    @scopes.setter
    def scopes(self, value: list[str]) -> None:
        self.scopes_json = json.dumps(sorted(set(value)))

    @classmethod
    def issue(cls, user: User, name: str, scopes: list[str], expires_at: dt.datetime | None) -> tuple["ApiToken", str]:
        """Create a token; returns the row and the clear token, which is never stored."""
        clear = cls.TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls(user=user, name=name, token_hash=hash_token(clear), prefix=clear[:10],
                    expires_at=expires_at)
        token.scopes = scopes
        return token, clear

    def usable(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class BrowserSession(db.Model):
    """A browser's session, kept in the database so that every host agrees on it and ending it is
    final: the cookie carries only a random id, of which only the SHA-256 is stored here.

    ``user_id`` is set once signed in; a change of user always gets a new row and a new id
    (portal/accounts/sessions.py). ``started_at`` counts the absolute lifetime (the sign-in for a
    signed-in session), ``last_seen_at`` the idle one (written at most once a minute)."""

    __tablename__ = "browser_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The session's values (CSRF token, sign-in steps, re-authentication time, OIDC state, flashed
    # messages) as Flask's tagged JSON.
    data: Mapped[str] = mapped_column(Text, default="{}")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    user: Mapped[User | None] = relationship(lazy="raise")


class RecoveryCode(db.Model):
    """One of the ten one-time codes that stand in for the authenticator app when it is lost.

    Only a keyed hash is stored (HMAC-SHA256 under the blind-index key, :func:`portal.keyring.blind_index`):
    a code carries 50 random bits, too many to guess online under the sign-in lockout, and the digest
    is useless without the key. ``used_at`` is set when it is spent; a spent code never works again."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PasswordReset(db.Model):
    """A password reset asked for by e-mail: single use, short-lived.

    The link's token carries 256 random bits, so its SHA-256 is enough to store it safely (as for
    API tokens). To reach the person through the outbox, the e-mail job needs the link itself: it is
    kept sealed (AES-GCM, ``portal/crypto.py``) in ``token_sealed`` only until the reset is used or
    expires, and the scheduler deletes expired rows."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_sealed: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    SEAL_PURPOSE = "password-reset-link"

    def usable(self, now: dt.datetime) -> bool:
        return self.used_at is None and self.expires_at > now
