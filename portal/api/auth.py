"""Token authentication for the API and the token-authenticated feeds (``/feeds/``). The session
cookie is never accepted here. The API takes ``Authorization: Bearer TOKEN``; the feeds also take
HTTP Basic with any user name and the token as password, which many feed clients only support."""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
from typing import Any, Callable

from flask import g, request
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from portal import statements
from portal.accounts.models import ApiToken, hash_token
from portal.api.errors import api_error
from portal.audit import trail
from portal.extensions import db
from portal.types import utcnow

#: Throttle writes of last_used_at: one per token per minute is enough to know it is in use.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
#: session.info key: a token whose last use is to be written when the request's transaction commits.
TOUCH = "portal_token_touch"


@event.listens_for(Session, "before_commit")
def _touch_token(session: Session) -> None:
    """Note a token's last use in the request's own (final) transaction, never on its own and never
    waiting: on PostgreSQL a row another request is already updating is skipped (SKIP LOCKED); on
    SQLite the write rides on the transaction that writes the request's audit entry anyway."""
    touch = session.info.pop(TOUCH, None)
    if touch is None:
        return
    token_id, now = touch
    stale = (select(ApiToken.id)
             .where(ApiToken.id == token_id,
                    or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USED_RESOLUTION))
             .with_for_update(skip_locked=True))
    session.execute(update(ApiToken).where(ApiToken.id.in_(stale)).values(last_used_at=now),
                    execution_options={"synchronize_session": False})


def presented_token(*, basic: bool = False) -> str | None:
    """The token in the Authorization header: Bearer, or (with ``basic``) HTTP Basic's password."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if basic and scheme.lower() == "basic" and value.strip():
        try:
            _user, colon, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return password if colon and password else None
    return None


def authenticate_bearer(*, basic: bool = False):
    """before_request for /api (and, with ``basic``, the feeds): 401 unless a usable token of an
    active user is presented."""
    value = presented_token(basic=basic)
    if value is None:
        return _challenge(api_error(401), basic)
    return authenticate_token(value, lambda status, message=None: _challenge(api_error(status, message=message),
                                                                             basic))


def authenticate_token(value: str, refuse: Callable[..., Any]):
    """Let the request act for the token ``value`` (sets ``g.portal_user`` and ``g.api_token``), or
    answer ``refuse(401, message=…)``. For the API, the feeds and TAXII alike."""
    # The token, its user, the user's organisation and roles: one query, read once per request.
    # The statement is built once (portal/statements.py): only the hash varies.
    token = db.session.scalar(statements.token_with_reader(), {"token_hash": hash_token(value.strip())})
    now = utcnow()
    if token is None or not token.usable(now) or not token.user.may_read:
        _refused(token, "unknown" if token is None else "expired, revoked or user inactive")
        return refuse(401, message="The token is unknown, expired, revoked, or its user is inactive.")
    if token.allowed_networks and not _address_allowed(token.allowed_networks, request.remote_addr or ""):
        _refused(token, "address not allowed")
        return refuse(401, message="The token may not be used from this address.")
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        db.session().info[TOUCH] = (token.id, now)  # written with the request's commit
    g.portal_user = token.user
    g.api_token = token
    return None


def _challenge(response, basic: bool):
    """A feed's 401 also offers HTTP Basic (api_error already offers Bearer)."""
    if basic:
        response.headers["WWW-Authenticate"] = 'Bearer realm="portal", Basic realm="portal", charset="UTF-8"'
    return response


def _refused(token: ApiToken | None, reason: str) -> None:

    trail.record("api.auth.failure", "api_token", token.id if token else "",
                 token.user.organisation.slug if token else "", reason=reason,
                 actor_email=token.user.email if token else "", method=request.method, path=request.path)
    db.session.commit()


def record_unaudited_use(response):
    """after_request for /api: a token's use that no view recorded is recorded here."""

    if g.get("api_token") is not None and not g.get("_audited"):
        trail.record("api.call", "api", request.path[:64], method=request.method, status=response.status_code)
        db.session.commit()
    return response


def _address_allowed(networks: str, address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for item in networks.split(","):
        item = item.strip()
        if item and ip in ipaddress.ip_network(item, strict=False):
            return True
    return False

