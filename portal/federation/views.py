"""``/auth/oidc/{name}/login`` and ``/callback``: sign-in through an organisation's provider.

Every refusal is a clear, translated page, an audit entry, and never a stack trace.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import OAuthError
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from joserfc.errors import JoseError
from sqlalchemy import select

from portal.accounts import session_auth
from portal.audit import trail
from portal.config import settings
from portal.extensions import db
from portal.federation import service
from portal.federation.models import IdentityProvider
from portal.federation.service import ProviderProblem
from portal.i18n import gettext as _
from portal.outbox import notify
from portal.redirects import safe_next
from portal.types import utcnow

bp = Blueprint("federation", __name__, url_prefix="/auth/oidc")

#: How recent the provider's ``auth_time`` must be when we asked it to re-authenticate.
REAUTH_WINDOW_SECONDS = 300


def redirect_uri(name: str) -> str:
    """Where the provider sends the person back: always under PORTAL_BASE_URL, never the Host header."""
    return settings().base_url + url_for("federation.callback", name=name)


def _messages(kind: str, provider_name: str) -> tuple[str, str, int]:
    """Title, explanation and status for each kind of failure, in plain words."""
    table = {
        "unknown": (_("No such sign-in service"),
                    _("There is no sign-in service called %(name)s. Go back and choose your organisation "
                      "from the list.", name=provider_name), 404),
        "unreachable": (_("The sign-in service is not answering"),
                        _("%(name)s's sign-in service did not answer. Try again in a few minutes; if it keeps "
                          "happening, tell your organisation's IT help desk.", name=provider_name), 502),
        "wrong-issuer": (_("The sign-in service could not be trusted"),
                         _("%(name)s's sign-in service did not identify itself as expected, so we stopped. "
                           "A portal administrator has been told.", name=provider_name), 502),
        "bad-metadata": (_("The sign-in service is misconfigured"),
                         _("%(name)s's sign-in service is not set up in a way the portal accepts. A portal "
                           "administrator has been told.", name=provider_name), 502),
        "invalid-token": (_("Your sign-in could not be verified"),
                          _("The answer from %(name)s's sign-in service failed our checks, so you are not "
                            "signed in. Try again; if it keeps happening, tell your IT help desk.",
                            name=provider_name), 400),
        "denied": (_("Sign-in cancelled"),
                   _("You did not allow the portal to use your %(name)s account, so you are not signed in.",
                     name=provider_name), 400),
        "state": (_("This sign-in link has expired"),
                  _("The sign-in took too long or this page was reloaded or reused. Start again from the "
                    "sign-in page."), 400),
        "unverified-email": (_("Your e-mail address is not verified"),
                             _("%(name)s's sign-in service did not confirm your e-mail address. Ask your IT "
                               "help desk to verify it, then try again.", name=provider_name), 403),
        "wrong-domain": (_("This account cannot sign in here"),
                         _("Accounts with that e-mail domain cannot sign in through %(name)s's sign-in "
                           "service.", name=provider_name), 403),
        "other-organisation": (_("This account belongs to another organisation"),
                               _("Your portal account is registered with a different organisation, so it "
                                 "cannot sign in through %(name)s's sign-in service. Use your own "
                                 "organisation's sign-in.", name=provider_name), 403),
        "deactivated": (_("Your account is not active"),
                        _("Your portal account has been deactivated. Ask your organisation's administrator."),
                        403),
        "reauth-too-old": (_("Please sign in again"),
                           _("To continue, %(name)s's sign-in service must confirm it is you now. Try again.",
                             name=provider_name), 400),
    }
    return table.get(kind, table["invalid-token"])


def _refuse(kind: str, provider_name: str, detail: str = "", email: str = "") -> Any:
    db.session.rollback()
    trail.record("auth.oidc.failure", "identity_provider", provider_name, actor_email=email,
                 reason=kind, detail=detail[:500])
    db.session.commit()
    title, message, status = _messages(kind, provider_name)
    return render_template("federation/error.html", title=title, message=message), status


def _problem_from(error: Exception) -> ProviderProblem:
    if isinstance(error, ProviderProblem):
        return error
    if isinstance(error, requests.RequestException):
        return ProviderProblem("unreachable", str(error))
    if isinstance(error, OAuthError):
        if error.error == "access_denied":
            return ProviderProblem("denied", error.description or "")
        if error.error == "mismatching_state":
            return ProviderProblem("state", error.description or "")
        return ProviderProblem("invalid-token", f"{error.error}: {error.description}")
    if isinstance(error, JoseError):
        text = f"{error.error}: {error.description}"
        kind = "wrong-issuer" if "'iss'" in text or '"iss"' in text else "invalid-token"
        return ProviderProblem(kind, text)
    return ProviderProblem("invalid-token", repr(error))


@bp.get("/<name>/login")
def login(name: str):
    provider = service.provider_by_name(name)
    if provider is None:
        return _refuse("unknown", name)
    reauth = request.args.get("reauth") == "1" and current_user.is_authenticated
    try:
        service.refresh_metadata(provider)
        db.session.commit()
        client = service.registry.client(provider)
        extra: dict[str, Any] = {}
        if reauth:
            extra = {"max_age": 0, "prompt": "login"}
        session["oidc_pending"] = {"provider": provider.name, "next": safe_next(request.args.get("next")),
                                   "reauth": reauth, "at": utcnow().timestamp()}
        return client.authorize_redirect(redirect_uri(provider.name), **extra)
    except (ProviderProblem, requests.RequestException, AuthlibBaseError) as error:
        problem = _problem_from(error)
        return _refuse(problem.kind, provider.display_name, problem.detail)


@bp.get("/<name>/callback")
def callback(name: str):
    provider = service.provider_by_name(name)
    if provider is None:
        return _refuse("unknown", name)
    pending = session.pop("oidc_pending", None) or {}
    try:
        client = service.registry.client(provider)
        token = client.authorize_access_token()
        claims = service.sign_in_claims(client, token)
        if pending.get("provider") != provider.name:
            raise ProviderProblem("state", "no sign-in was started with this provider in this browser")
        if pending.get("reauth"):
            return _finish_reauth(provider, claims, pending)
        outcome = service.resolve_user(provider, claims)
    except (ProviderProblem, requests.RequestException, AuthlibBaseError, JoseError, KeyError) as error:
        problem = _problem_from(error)
        return _refuse(problem.kind, provider.display_name, problem.detail, email=str(problem.detail)
                       if "@" in str(problem.detail) else "")
    user = outcome.user
    if outcome.created:
        trail.record("user.create", "user", user.id, provider.organisation.slug, actor=user, via="oidc",
                     provider=provider.name, pending=True)
        notify("account.pending", "user", user.id, actor=user)  # its organisation's admins are told
    if outcome.linked:
        trail.record("auth.oidc.link", "user", user.id, provider.organisation.slug, actor=user,
                     provider=provider.name)
    db.session.commit()
    response = session_auth.start_session(user, f"oidc:{provider.name}", safe_next(pending.get("next")))
    session["oidc"] = {"provider": provider.name, "id_token": token.get("id_token", "")}
    return response


def _finish_reauth(provider, claims: dict[str, Any], pending: dict[str, Any]) -> Any:
    """The provider confirmed the person again: check it is the same person, and recently."""
    user = current_user._get_current_object() if current_user.is_authenticated else None
    outcome = service.resolve_user(provider, claims)
    if user is None or outcome.user.id != user.id:
        raise ProviderProblem("other-organisation", "re-authentication by a different person")
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, (int, float)) or utcnow().timestamp() - auth_time > REAUTH_WINDOW_SECONDS:
        raise ProviderProblem("reauth-too-old", f"auth_time={auth_time!r}")
    session_auth.mark_reauthenticated(user, f"oidc:{provider.name}")
    return redirect(safe_next(pending.get("next")) or url_for("home.index"))



def logout_url(post_logout_redirect: str) -> str | None:
    """The provider's end-session URL for RP-initiated logout, if the session came from one."""
    data = session.get("oidc") or {}
    provider = service.provider_by_name(data.get("provider", "")) if data else None
    if provider is None:
        return None
    endpoint = provider.server_metadata.get("end_session_endpoint")
    if not endpoint:
        return None

    query = {"post_logout_redirect_uri": post_logout_redirect, "client_id": provider.client_id}
    if data.get("id_token"):
        query["id_token_hint"] = data["id_token"]
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(query)


def providers_for_login_page() -> list[Any]:
    return list(db.session.scalars(select(IdentityProvider).where(IdentityProvider.active.is_(True))
                                   .order_by(IdentityProvider.display_name)))


__all__ = ["bp", "current_app"]
