"""Local sign-in: password, then a TOTP code (enrolment first when a role requires it)."""
from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from portal.accounts import recovery, reset, service, session_auth
from portal.accounts.forms import (CodeForm, ForgotPasswordForm, LoginForm, ReauthForm, ResetPasswordForm,
                                   SignInCodeForm)
from portal.accounts.passwords import password_problem
from portal.accounts.models import User
from portal.audit import trail
from portal.config import settings
from portal.extensions import db
from portal.federation.views import logout_url, providers_for_login_page
from portal.i18n import gettext as _
from portal.redirects import safe_next
from portal.types import utcnow

bp = Blueprint("auth", __name__)

PENDING_SECONDS = 300  # between the password and the second factor


def _pending_user() -> User | None:
    pending = session.get("pending_auth")
    if not pending or utcnow().timestamp() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop("pending_auth", None)
        return None
    user = db.session.get(User, pending["uid"])
    if user is None or user.session_nonce != pending["nonce"] or not user.is_active:
        session.pop("pending_auth", None)
        return None
    return user


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    status = 200
    if form.validate_on_submit():
        source_ip = request.remote_addr or ""
        result = service.check_password(form.email.data or "", form.password.data or "", source_ip)
        if result.outcome is service.SignIn.OK and result.user is not None:
            user = result.user
            session.clear()
            session["pending_auth"] = {"uid": user.id, "nonce": user.session_nonce,
                                       "at": utcnow().timestamp(), "next": safe_next(form.next.data)}
            if user.totp_secret:
                return redirect(url_for("auth.second_factor"))
            if user.requires_totp:
                return redirect(url_for("auth.enrol_totp"))
            return session_auth.start_session(user, "password", safe_next(form.next.data))
        if result.outcome is service.SignIn.THROTTLED:
            flash(_("Too many failed sign-ins from your network. Wait a few minutes and try again."), "error")
            status = 429
        else:
            # One message for wrong password, unknown account and locked account: no hint to guessers.
            flash(_("That e-mail address and password do not match an active account, or the account is "
                    "temporarily locked after repeated failures. Try again in a few minutes."), "error")
            status = 401
    elif request.method == "POST":
        status = 400

    return render_template("auth/login.html", form=form, providers=providers_for_login_page()), status


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():
    user = _pending_user()
    if user is None or not user.totp_secret:
        return redirect(url_for("auth.login"))
    form = SignInCodeForm()
    status = 200
    if form.validate_on_submit():
        if user.locked_until and user.locked_until > utcnow():
            session.pop("pending_auth", None)
            flash(_("The account is temporarily locked after repeated failures. Try again later."), "error")
            return redirect(url_for("auth.login"))
        code = form.code.data or ""
        if service.verify_totp(user, user.totp_secret, code):
            return session_auth.start_session(user, "password+totp", session["pending_auth"].get("next"))
        if recovery.use(user, code):
            left = recovery.remaining(user)
            trail.record("auth.recovery_code.use", "user", user.id, user.organisation.slug, actor=user, remaining=left)
            response = session_auth.start_session(user, "password+recovery-code", session["pending_auth"].get("next"))
            flash(_("You signed in with a recovery code; it will not work again. %(n)s codes are left. If you "
                    "lost your phone, set up your authenticator app again from your profile.", n=left), "info")
            return response
        # A wrong recovery code counts like a wrong code: the same lockout and address throttle.
        service.record_second_factor_failure(user)
        flash(_("That code is not right. Codes change every 30 seconds and each works once."), "error")
        status = 401
    return render_template("auth/second_factor.html", form=form), status


def totp_qr_data_uri(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol_totp():
    """Enrolment during sign-in, for users whose role requires a second factor."""
    user = _pending_user()
    if user is None or user.totp_secret:
        return redirect(url_for("auth.login"))
    secret = session.get("enrol_secret") or service.new_totp_secret()
    session["enrol_secret"] = secret
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        if service.verify_totp(user, secret, form.code.data or ""):
            user.totp_secret = secret
            codes = recovery.issue(user)
            trail.record("auth.totp.enrol", "user", user.id, user.organisation.slug, actor=user)
            db.session.commit()
            session.pop("enrol_secret", None)
            session_auth.start_session(user, "password+totp", session["pending_auth"].get("next"))
            session["recovery_codes_once"] = codes  # shown once, by the next page
            return redirect(url_for("profile.recovery_codes"))
        service.record_second_factor_failure(user)
        flash(_("That code is not right. Check the time on your phone and try the newest code."), "error")
        status = 400
    uri = service.totp_uri(user, secret)
    return render_template("auth/enrol_totp.html", form=form, secret=secret, qr=totp_qr_data_uri(uri),
                           user=user), status


@bp.post("/logout")
def logout():
    """Sign out here and, for a federated session, at the identity provider too (RP-initiated)."""
    provider_logout = None
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        provider_logout = logout_url(settings().base_url + url_for("auth.login"))
        trail.record("auth.logout", "user", user.id, user.organisation.slug, actor=user,
                     provider_logout=bool(provider_logout))
        db.session.commit()
    logout_user()
    session.clear()
    if provider_logout:
        return redirect(provider_logout)
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.get("/logout")
def logout_get():
    # Signing out changes state, so it takes a POST with a CSRF token; a link shows a button.
    if not current_user.is_authenticated:
        abort(404)
    return render_template("auth/logout.html")


@bp.get("/waiting")
def pending():
    """All a person awaiting approval can see."""
    if not current_user.pending:
        return redirect(url_for("home.index"))
    return render_template("auth/pending.html")


@bp.route("/reauth", methods=["GET", "POST"])
def reauth():
    """Confirm it is still you (password and code) before a sensitive action."""
    user = current_user._get_current_object()
    if session.get("auth_method", "").startswith("oidc:"):
        return session_auth.reauth_redirect(safe_next(request.args.get("next")) or url_for("home.index"))
    form = ReauthForm()
    if not user.totp_secret:
        del form.code
    status = 200
    if form.validate_on_submit():
        # The same lockout and per-address throttle as signing in, counted in the database.
        outcome = service.reauthenticate(user, form.password.data or "",
                                         form.code.data if user.totp_secret else None, request.remote_addr or "")
        if outcome is service.SignIn.OK:
            session_auth.mark_reauthenticated(user, "password+totp" if user.totp_secret else "password")
            return redirect(safe_next(request.args.get("next")) or url_for("home.index"))
        if outcome is service.SignIn.THROTTLED:
            flash(_("Too many failed sign-ins from your network. Wait a few minutes and try again."), "error")
            status = 429
        else:
            flash(_("That did not match, or your account is temporarily locked after repeated failures. Check "
                    "your password and the newest code, and try again in a few minutes."), "error")
            status = 401
    elif form.is_submitted():
        status = 400
    return render_template("auth/reauth.html", form=form), status


@bp.route("/login/forgot", methods=["GET", "POST"])
def forgot_password():
    """Ask for a password-reset link. The same answer whether or not the address has an account."""
    if current_user.is_authenticated:
        return redirect(url_for("profile.index"))
    form = ForgotPasswordForm()
    status = 200
    if form.validate_on_submit():
        if reset.request_reset(form.email.data or "", request.remote_addr or ""):
            minutes = settings().password_reset_minutes
            flash(_("If an account with a password has that address, we have sent it a link to choose a new "
                    "password. The link works once, for %(minutes)s minutes. Accounts that sign in through "
                    "their organisation's identity provider change their password there.", minutes=minutes),
                  "info")
            return redirect(url_for("auth.login"))
        flash(_("Too many requests from your network. Wait a few minutes and try again."), "error")
        status = 429
    elif form.is_submitted():
        status = 400
    return render_template("auth/forgot_password.html", form=form), status


@bp.route("/login/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password with the link sent by e-mail (once, before it expires)."""
    source_ip = request.remote_addr or ""
    if reset.requests_throttled(source_ip):
        flash(_("Too many failed sign-ins from your network. Wait a few minutes and try again."), "error")
        return render_template("auth/reset_password.html", form=None), 429
    found = reset.find(token)
    if found is None:
        reset.record_bad_link(source_ip)
        return render_template("auth/reset_password.html", form=None), 404
    form = ResetPasswordForm()
    status = 200
    if form.validate_on_submit():
        problem = password_problem(form.new_password.data or "")
        if problem is None:
            user = reset.complete(found, form.new_password.data or "")
            logout_user()
            session.clear()
            if user.totp_secret_sealed:
                flash(_("Your password is changed and you are signed out everywhere. Sign in with your new "
                        "password and the code from your authenticator app."), "info")
            else:
                flash(_("Your password is changed and you are signed out everywhere. Sign in with your new "
                        "password."), "info")
            return redirect(url_for("auth.login"))
        form.new_password.errors = [*form.new_password.errors, problem]
        status = 400
    elif form.is_submitted():
        status = 400
    return render_template("auth/reset_password.html", form=form), status
