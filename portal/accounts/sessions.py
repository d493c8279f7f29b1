"""Browser sessions kept in the database, so that ending one is final and every host agrees.

The cookie carries only a random id (256 bits); the database keeps its SHA-256 and the session's
values in ``browser_sessions``. Each request that reads its session looks the row up once, with its
user, the user's organisation and roles in the same query. A session ends when it is idle longer
than ``session_idle_minutes``, older than ``session_absolute_hours``, signed out, or when
:func:`end_sessions_of` ends all of a user's sessions (password or second factor changed, user or
organisation deactivated). Nothing is kept in process memory: any number of hosts may serve the
same browser.

A session's user never changes under one id: signing in, signing out or switching user gives the
browser a new id and deletes the old row, so a cookie copied before that no longer works (and a
fixed id planted before sign-in is worthless).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Iterator
from typing import Any

from flask import Flask, Request, Response, session
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from portal import jobs
from portal.accounts.models import BrowserSession, User
from portal.config import settings
from portal.crypto import seal, unseal
from portal.extensions import db
from portal.types import utcnow

log = logging.getLogger(__name__)

#: "Last seen" is written at most this often per session (the idle lifetime is counted from it).
TOUCH_RESOLUTION = dt.timedelta(minutes=1)

#: Paths that never read or write a session: the API and feeds take bearer tokens only, the health
#: checks must not touch the database, static files need nobody.
SESSIONLESS_PREFIXES = ("/api/", "/feeds/", "/static/", "/taxii2/")
SESSIONLESS_PATHS = frozenset({"/api", "/taxii2", "/healthz", "/readyz"})

_serializer = TaggedJSONSerializer()
#: The values are sealed with the data keys (AES-256-GCM): they may hold an OpenID Connect ID token,
#: or a new API token's clear value until the page that shows it once.
SEAL_PURPOSE = "browser-session"


def _dump(values: dict[str, Any]) -> str:
    return seal(_serializer.dumps(values), SEAL_PURPOSE)


def hash_session_id(value: str) -> str:
    """The id carries 256 bits of randomness, so a fast hash is enough to store it safely."""
    return hashlib.sha256(value.encode()).hexdigest()


def lifetimes() -> tuple[dt.timedelta, dt.timedelta]:
    """(idle, absolute) lifetimes of a session."""
    conf = settings()
    return dt.timedelta(minutes=conf.session_idle_minutes), dt.timedelta(hours=conf.session_absolute_hours)


def is_expired(started_at: dt.datetime, last_seen_at: dt.datetime, now: dt.datetime) -> bool:
    idle, absolute = lifetimes()
    return now - started_at > absolute or now - last_seen_at > idle


class DatabaseSession(SessionMixin):
    """The session of one request: read from its row on first use, written back once at the end.

    ``inert`` sessions (see :data:`SESSIONLESS_PREFIXES`) are always empty and never saved."""

    def __init__(self, cookie: str | None = None, inert: bool = False) -> None:
        self.inert = inert
        self.modified = False
        self.accessed = False
        self._cookie = cookie or None
        self._values: dict[str, Any] | None = None
        self.row_id: int | None = None
        self.row_user_id: int | None = None
        self.user: User | None = None
        self.started_at: dt.datetime | None = None
        self.stale_cookie = False  # the browser sent an id that is unknown, ended or expired
        self.expired_row_id: int | None = None
        self.touch_at: dt.datetime | None = None
        self.renew = False

    # --- loading --------------------------------------------------------------------------

    @property
    def mapping(self) -> dict[str, Any]:
        """The values, read from the database the first time they are needed."""
        if self._values is None:
            self._values = {}
            if self._cookie and not self.inert:
                self._load(self._cookie)
        self.accessed = True
        return self._values

    @property
    def loaded(self) -> bool:
        return self._values is not None

    def _load(self, cookie: str) -> None:
        # The row, its user, the user's organisation and roles: one query.
        row = db.session.scalar(
            select(BrowserSession).where(BrowserSession.token_hash == hash_session_id(cookie))
            .options(joinedload(BrowserSession.user).joinedload(User.role_rows)))
        now = utcnow()
        if row is None:
            self.stale_cookie = True
            return
        if is_expired(row.started_at, row.last_seen_at, now):
            self.stale_cookie = True
            self.expired_row_id = row.id
            return
        try:
            values = _serializer.loads(unseal(row.data, SEAL_PURPOSE))
        except ValueError:  # altered, or sealed under a key since retired: the session is over
            self.stale_cookie = True
            self.expired_row_id = row.id
            return
        self._values = values if isinstance(values, dict) else {}
        self.row_id, self.row_user_id, self.user, self.started_at = row.id, row.user_id, row.user, row.started_at
        if now - row.last_seen_at >= TOUCH_RESOLUTION:
            self.touch_at = now

    # --- the mapping ----------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self.mapping[key]

    def __setitem__(self, key: str, value: Any) -> None:
        values = self.mapping
        if isinstance(value, (str, int, float, bool, type(None))) and key in values and values[key] == value:
            return  # the same plain value again: nothing to write
        values[key] = value
        self.modified = True

    def __delitem__(self, key: str) -> None:
        del self.mapping[key]
        self.modified = True

    def __iter__(self) -> Iterator[str]:
        return iter(self.mapping)

    def __len__(self) -> int:
        return len(self.mapping)

    def __contains__(self, key: object) -> bool:
        return key in self.mapping

    def clear(self) -> None:
        self.mapping.clear()
        self.modified = True

    @property  # type: ignore[override]
    def permanent(self) -> bool:
        """Always: the cookie lasts the absolute lifetime, and the database decides when the session
        ends. (Flask-Login's "strong" protection would otherwise rewrite an anonymous session on
        every request; signed-in sessions were always permanent.)"""
        return True

    @permanent.setter
    def permanent(self, value: bool) -> None:
        pass

    def renew_id(self) -> None:
        """Keep this session's values under a new id (e.g. after ending all of its user's sessions)."""
        self.mapping  # noqa: B018  (load it now, to keep it)
        self.renew = True
        self.modified = True

    @property
    def bound_user_id(self) -> int | None:
        """The user the values say is signed in (Flask-Login's ``_user_id``)."""
        raw = self.mapping.get("_user_id")
        return int(raw) if isinstance(raw, str) and raw.isdigit() else None


class DatabaseSessionInterface(SessionInterface):
    """Flask's session machinery over :class:`BrowserSession` rows."""

    def open_session(self, app: Flask, request: Request) -> DatabaseSession:
        path = request.path
        if path in SESSIONLESS_PATHS or path.startswith(SESSIONLESS_PREFIXES):
            return DatabaseSession(inert=True)
        return DatabaseSession(request.cookies.get(self.get_cookie_name(app)))

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, DatabaseSession) or session.inert or not session.loaded:
            return  # never read: nothing changed
        if session.accessed:
            response.vary.add("Cookie")
        values = session.mapping
        wanted_user = session.bound_user_id if values else None
        now = utcnow()
        if session.row_id is not None:
            if not values:
                self._write(delete(BrowserSession).where(BrowserSession.id == session.row_id))
                self._forget(app, response)
            elif wanted_user != session.row_user_id or session.renew:
                # A new user (sign-in, sign-out) starts a new lifetime; a renewed session keeps its own.
                started = session.started_at if wanted_user == session.row_user_id and session.started_at else now
                self._replace(app, response, session, values, wanted_user, started, now)
            elif session.modified:
                self._write(update(BrowserSession).where(BrowserSession.id == session.row_id)
                            .values(data=_dump(values), last_seen_at=now))
            elif session.touch_at is not None:
                self._touch(session.row_id, session.touch_at)
            return
        if values and session.modified:
            self._replace(app, response, session, values, wanted_user, now, now)
            return
        if session.expired_row_id is not None:
            self._write(delete(BrowserSession).where(BrowserSession.id == session.expired_row_id))
        if session.stale_cookie:
            self._forget(app, response)

    # --- writing --------------------------------------------------------------------------

    def _replace(self, app: Flask, response: Response, session: DatabaseSession, values: dict[str, Any],
                 user_id: int | None, started: dt.datetime, now: dt.datetime) -> None:
        """Delete the old row (if any) and store the values under a new id, in one transaction."""
        clear = secrets.token_urlsafe(32)
        statements: list[Any] = []
        for old in (session.row_id, session.expired_row_id):
            if old is not None:
                statements.append(delete(BrowserSession).where(BrowserSession.id == old))
        statements.append(insert(BrowserSession).values(
            token_hash=hash_session_id(clear), user_id=user_id, data=_dump(values),
            started_at=started, last_seen_at=now))
        self._write(*statements)
        _idle, absolute = lifetimes()
        response.set_cookie(
            self.get_cookie_name(app), clear, expires=started + absolute, httponly=self.get_cookie_httponly(app),
            domain=self.get_cookie_domain(app), path=self.get_cookie_path(app), secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app), partitioned=self.get_cookie_partitioned(app))

    def _forget(self, app: Flask, response: Response) -> None:
        response.delete_cookie(
            self.get_cookie_name(app), domain=self.get_cookie_domain(app), path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app), httponly=self.get_cookie_httponly(app),
            samesite=self.get_cookie_samesite(app), partitioned=self.get_cookie_partitioned(app))

    @staticmethod
    def _write(*statements: Any) -> None:
        """Its own short transaction. Whatever the request left uncommitted is discarded first, as the
        end of the request would discard it: a session write must never commit a view's leftovers."""
        db.session.rollback()
        try:
            for statement in statements:
                db.session.execute(statement, execution_options={"synchronize_session": False})
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()
            raise

    @staticmethod
    def _touch(row_id: int, now: dt.datetime) -> None:
        """Note that the session is in use, never waiting: on PostgreSQL a row another request of the
        same session is already updating is skipped (SKIP LOCKED); a failure only loses the note."""
        stale = (select(BrowserSession.id)
                 .where(BrowserSession.id == row_id, BrowserSession.last_seen_at <= now - TOUCH_RESOLUTION)
                 .with_for_update(skip_locked=True))
        try:
            DatabaseSessionInterface._write(update(BrowserSession).where(BrowserSession.id.in_(stale))
                                            .values(last_seen_at=now))
        except SQLAlchemyError:
            log.warning("could not note the use of a session", exc_info=True)


# --- Ending sessions -----------------------------------------------------------------------

def end_sessions_of(user: User) -> None:
    """End every session of ``user``, in the caller's transaction (it commits with the change that
    asked for it). A sign-in half done (password given, code not yet) cannot be finished either.
    The caller's own session, if it is one of them, may carry on under a new id:
    :func:`keep_current_session`."""
    db.session.execute(delete(BrowserSession).where(BrowserSession.user_id == user.id),
                       execution_options={"synchronize_session": False})
    user.session_nonce = secrets.token_hex(16)


def end_sessions_of_organisation(organisation_id: int) -> None:
    """End the sessions of every member of an organisation (it was deactivated)."""
    members = select(User.id).where(User.organisation_id == organisation_id)
    db.session.execute(delete(BrowserSession).where(BrowserSession.user_id.in_(members)),
                       execution_options={"synchronize_session": False})


def keep_current_session() -> None:
    """After :func:`end_sessions_of` for the signed-in user: this browser keeps a fresh session."""
    current = session._get_current_object()  # type: ignore[attr-defined]
    if isinstance(current, DatabaseSession):
        current.renew_id()


def signed_in_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the user of this request's session row, already loaded with it."""
    current = session._get_current_object()  # type: ignore[attr-defined]
    if not isinstance(current, DatabaseSession):
        return None
    current.mapping  # noqa: B018  (load the row)
    user = current.user
    if user is None or current.row_user_id != user.id or str(user.id) != user_id:
        return None
    if not user.is_active:
        current.clear()  # its user or organisation was deactivated: the session ends here
        return None
    return user


def purge_expired() -> int:
    """Delete sessions past their idle or absolute lifetime (run by the scheduler)."""
    idle, absolute = lifetimes()
    now = utcnow()
    result = db.session.execute(
        delete(BrowserSession).where(or_(BrowserSession.last_seen_at < now - idle,
                                         BrowserSession.started_at < now - absolute)),
        execution_options={"synchronize_session": False})
    db.session.commit()
    return int(result.rowcount or 0)


def init_app(app: Flask) -> None:
    app.session_interface = DatabaseSessionInterface()
    jobs.register("sessions.purge", every=dt.timedelta(minutes=15))(purge_expired)
