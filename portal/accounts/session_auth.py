"""Starting sessions, and asking for a recent sign-in before sensitive actions.

Publishing, exporting, and changing users, providers or tokens need a sign-in at most
``reauth_minutes`` old: password and code for local accounts, the identity provider again (with
``max_age=0``) for federated ones.
"""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import current_app, g, redirect, request, session, url_for
from flask_login import login_user
from flask_wtf.csrf import generate_csrf

from portal.accounts import service
from portal.accounts.models import User
from portal.audit import trail
from portal.config import settings
from portal.extensions import db
from portal.redirects import safe_next
from portal.types import utcnow


def start_session(user: User, method: str, next_path: str | None) -> Any:
    session.clear()  # no fixation: a new user for this session means a new id (portal/accounts/sessions.py)
    login_user(user)
    now = utcnow().timestamp()
    session.update(auth_at=now, auth_method=method)
    session.permanent = True
    # A fresh CSRF token, stored with the new session rather than by the next page (the one this
    # request's form made belongs to the session just ended).
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    generate_csrf()
    service.record_sign_in(user, method)
    return redirect(safe_next(next_path) or url_for("home.index"))


def mark_reauthenticated(user: User, method: str) -> None:
    session["reauth_at"] = utcnow().timestamp()
    trail.record("auth.reauthenticate", "user", user.id, user.organisation.slug, actor=user, method=method)
    db.session.commit()


def is_recent() -> bool:
    minutes = settings().reauth_minutes
    latest = max(session.get("auth_at", 0), session.get("reauth_at", 0))
    return utcnow().timestamp() - latest <= minutes * 60


def reauth_redirect(next_path: str) -> Any:
    next_path = safe_next(next_path) or url_for("home.index")
    method = session.get("auth_method", "")
    if method.startswith("oidc:"):
        return redirect(url_for("federation.login", name=method[5:], reauth="1", next=next_path))
    return redirect(url_for("auth.reauth", next=next_path))


def recent_auth_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Before a sensitive page or action, make sure the person signed in recently."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if is_recent():
            return view(*args, **kwargs)
        # A form cannot be replayed after signing in again: come back to the page instead.
        return reauth_redirect(request.full_path.rstrip("?") if request.method == "GET" else request.path)

    return wrapper
