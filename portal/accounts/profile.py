"""The signed-in user's own settings: language, time zone, password, second factor."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from portal.accounts import recovery, service
from portal.accounts.session_auth import recent_auth_required
from portal.accounts.sessions import end_sessions_of, keep_current_session
from portal.accounts.forms import CodeForm, PasswordChangeForm, ProfileForm
from portal.accounts.passwords import hash_password, password_problem
from portal.accounts.views import totp_qr_data_uri
from portal.audit import trail
from portal.config import settings
from portal.extensions import db
from portal.i18n import LANGUAGES, gettext as _, time_zone_names

bp = Blueprint("profile", __name__, url_prefix="/profile")


def _profile_form(user) -> ProfileForm:

    conf = settings()
    form = ProfileForm(obj=user)
    form.locale.choices = [(code, LANGUAGES.get(code, (code,))[0]) for code in conf.languages]
    form.time_zone.choices = [(tz, tz.replace("_", " ")) for tz in time_zone_names()]
    return form


@bp.route("", methods=["GET", "POST"])
def index():
    user = current_user._get_current_object()
    form = _profile_form(user)
    if form.validate_on_submit():
        user.display_name = (form.display_name.data or "").strip()
        user.locale = form.locale.data
        user.time_zone = form.time_zone.data
        trail.record("user.profile.update", "user", user.id, user.organisation.slug,
                     locale=user.locale, time_zone=user.time_zone)
        db.session.commit()
        flash(_("Your settings are saved."), "info")
        return redirect(url_for("profile.index"))
    status = 400 if form.is_submitted() else 200
    return render_template("profile/index.html", form=form, password_form=PasswordChangeForm(), user=user,
                           recovery_left=recovery.remaining(user) if user.totp_secret else None), status


@bp.post("/password")
def change_password():
    user = current_user._get_current_object()
    form = PasswordChangeForm()
    if form.validate_on_submit():
        # Proving the current password is a re-authentication: same lockout and throttle as signing in.
        outcome = service.reauthenticate(user, form.current_password.data or "", None, request.remote_addr or "")
        if outcome is service.SignIn.THROTTLED:
            flash(_("Too many failed sign-ins from your network. Wait a few minutes and try again."), "error")
        elif outcome is not service.SignIn.OK:
            flash(_("Your current password is not right, or your account is temporarily locked after repeated "
                    "failures. Try again in a few minutes."), "error")
        elif problem := password_problem(form.new_password.data or ""):
            flash(problem, "error")
        else:
            user.password_hash = hash_password(form.new_password.data or "")
            end_sessions_of(user)  # a copied cookie, or a session left open elsewhere, ends here
            trail.record("user.password.change", "user", user.id, user.organisation.slug)
            db.session.commit()
            keep_current_session()
            flash(_("Your password is changed. You are signed out everywhere else."), "info")
    return redirect(url_for("profile.index"))


@bp.route("/totp", methods=["GET", "POST"])
@recent_auth_required
def totp():
    """Set up (or replace) the authenticator app from the profile: only with a recent sign-in, and it
    ends the user's other sessions."""
    user = current_user._get_current_object()
    secret = session.get("enrol_secret") or service.new_totp_secret()
    session["enrol_secret"] = secret
    form = CodeForm()
    if form.validate_on_submit():
        if service.verify_totp(user, secret, form.code.data or ""):
            user.totp_secret = secret
            codes = recovery.issue(user)  # a new second factor comes with new recovery codes
            end_sessions_of(user)
            trail.record("auth.totp.enrol", "user", user.id, user.organisation.slug)
            db.session.commit()
            keep_current_session()
            session.pop("enrol_secret", None)
            session["recovery_codes_once"] = codes
            flash(_("Your authenticator app is set up. You will be asked for a code when you sign in. "
                    "You are signed out everywhere else."), "info")
            return redirect(url_for("profile.recovery_codes"))
        flash(_("That code is not right. Check the time on your phone and try the newest code."), "error")
    return render_template("auth/enrol_totp.html", form=form, secret=secret, user=user,
                           qr=totp_qr_data_uri(service.totp_uri(user, secret)), from_profile=True)


@bp.get("/recovery-codes")
def recovery_codes():
    """New recovery codes, shown this once; otherwise how many are left and a way to make new ones."""
    user = current_user._get_current_object()
    codes = session.pop("recovery_codes_once", None)
    return render_template("profile/recovery_codes.html", user=user, codes=codes,
                           left=recovery.remaining(user), form=CodeForm())


@bp.post("/recovery-codes")
@recent_auth_required
def regenerate_recovery_codes():
    """Ten new codes replace the old ones (after a recent sign-in)."""
    user = current_user._get_current_object()
    form = CodeForm()
    del form.code  # only the CSRF token is posted
    if not user.totp_secret:
        flash(_("Set up your authenticator app first; recovery codes come with it."), "error")
        return redirect(url_for("profile.index"))
    if not form.validate_on_submit():
        return redirect(url_for("profile.recovery_codes"))
    codes = recovery.issue(user)
    trail.record("auth.recovery_codes.regenerate", "user", user.id, user.organisation.slug)
    db.session.commit()
    session["recovery_codes_once"] = codes
    flash(_("You have ten new recovery codes. The old ones no longer work."), "info")
    return redirect(url_for("profile.recovery_codes"))
