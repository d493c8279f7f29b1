"""Default deny, security headers, and the loading of the signed-in user.

Every endpoint needs an authenticated user unless it is in :data:`PUBLIC_ENDPOINTS`. Pages send
an anonymous visitor to ``/login``; ``/api`` answers 401. Nobody has to remember a decorator.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, Response, g, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from portal.accounts import sessions
from portal.accounts.models import User
from portal.api.auth import authenticate_bearer
from portal.api.scopes import authorise_scope
from portal.accounts.sessions import signed_in_user
from portal.config import settings
from portal.extensions import db, login_manager
from portal.federation.service import logout_origin
from portal.redirects import safe_next
from portal.taxii.views import authenticate as authenticate_taxii

#: The only endpoints an anonymous visitor may reach. Keep this list short.
PUBLIC_ENDPOINTS = frozenset({
    "static",
    "auth.login",
    "auth.second_factor",
    "auth.enrol_totp",
    # Password reset by e-mail: forms with CSRF like the sign-in page; they check their own state.
    "auth.forgot_password",
    "auth.reset_password",
    "health.healthz",
    "health.readyz",
    "federation.login",
    "federation.callback",
})

#: All that a signed-in person awaiting approval may reach.
PENDING_ENDPOINTS = frozenset({"auth.pending", "auth.logout", "auth.logout_get", "static"})

#: Public endpoints that are nonetheless part of the sign-in flow (they check their own state).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])


#: Token-authenticated feeds outside the JSON API: no cookie, no CSRF, the API's error shape.
FEED_PREFIXES = ("/feeds/",)


def is_feed_request() -> bool:
    return request.path.startswith(FEED_PREFIXES)


def is_api_request() -> bool:
    """The JSON API or a token-authenticated feed: answered in the API's error shape."""
    return request.path == "/api" or request.path.startswith("/api/") or is_feed_request()


def is_taxii_request() -> bool:
    return request.path == "/taxii2" or request.path.startswith("/taxii2/")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user of this request's session row (looked up with it, in one query), if still active."""
    return signed_in_user(user_id)


def gate() -> Any:
    """before_request: refuse everything not allowlisted to anyone not signed in."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if is_taxii_request():
        return authenticate_taxii()  # a token (Bearer or Basic), then its scope: never the session cookie
    if is_api_request():
        # The token first, then its scope for this route's family and method: one place for both.
        return authenticate_bearer(basic=is_feed_request()) or authorise_scope()
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        if user.pending and request.endpoint not in PENDING_ENDPOINTS:
            return redirect(url_for("auth.pending"))
        g.portal_user = user
        return None
    if request.endpoint is None:  # unknown URL: still no hint to an anonymous visitor
        return redirect(url_for("auth.login"))

    next_path = safe_next(request.full_path.removesuffix("?")) if request.method == "GET" else None
    return redirect(url_for("auth.login", next=next_path) if next_path and next_path != "/" else url_for("auth.login"))


def security_headers(response: Response) -> Response:
    policy = CONTENT_SECURITY_POLICY
    if response.mimetype == "text/html" and session.get("oidc"):
        # The sign-out form is redirected to the identity provider (RP-initiated logout).
        origin = logout_origin()
        if origin:
            policy = policy.replace("form-action 'self'", f"form-action 'self' {origin}")
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    if settings().secure_transport:
        response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    if request.endpoint != "static":
        # Pages and API answers carry content a shared computer must not keep.
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    conf = settings(app)
    app.config.update(
        SESSION_COOKIE_NAME="__Host-portal" if conf.secure_transport else "portal_session",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=conf.session_absolute_hours),
        REMEMBER_COOKIE_DURATION=dt.timedelta(seconds=0),
    )

    sessions.init_app(app)  # sessions live in the database, the cookie holds only their id
    login_manager.init_app(app)
    # Flask-Login's own "session protection" stays off: on signed-in sessions (always permanent) it
    # only ever marked them not "fresh", which nothing reads, and it would rewrite anonymous sessions
    # on every request. Sessions are rows bound to a random id; recent sign-in is session_auth's.
    login_manager.session_protection = None
    # Registered before CSRFProtect so an anonymous request is refused before anything else.
    app.before_request(gate)
    app.after_request(security_headers)


def users_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))
