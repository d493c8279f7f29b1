from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from portal.i18n import lazy_gettext as _l


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)],
                       render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class CodeForm(FlaskForm):
    code = StringField(_l("Six-digit code from your authenticator app"),
                       validators=[DataRequired(), Length(min=6, max=8)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric",
                                  "pattern": "[0-9 ]*", "autofocus": True})


class SignInCodeForm(FlaskForm):
    """The second step of signing in: the app's code, or one of the one-time recovery codes."""
    code = StringField(_l("Six-digit code from your authenticator app, or a recovery code"),
                       validators=[DataRequired(), Length(min=6, max=20)],
                       render_kw={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false",
                                  "autocapitalize": "none"})


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)],
                       render_kw={"autocomplete": "username", "autofocus": True})


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)],
                                 render_kw={"autocomplete": "new-password", "autofocus": True})


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[Optional(), Length(max=200)])
    locale = SelectField(_l("Language"), description=_l(
        "The Māori, Samoan, Tongan, Fijian and Bislama translations were machine-drafted and await review by "
        "native-speaking officers."))
    time_zone = SelectField(_l("Time zone"))


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)],
                                 render_kw={"autocomplete": "new-password"})


class ReauthForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password", "autofocus": True})
    code = StringField(_l("Six-digit code from your authenticator app"),
                       validators=[DataRequired(), Length(min=6, max=8)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})
