"""Admin pages for identity providers (portal admins only; each change needs a recent sign-in)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from portal import permissions, policy
from portal.accounts.session_auth import recent_auth_required
from portal.audit import trail
from portal.extensions import db
from portal.federation.models import IdentityProvider
from portal.federation.registration import apply, validate_provider
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.organisations.models import Organisation

bp = Blueprint("idp_admin", __name__, url_prefix="/admin/identity-providers")


class ProviderForm(FlaskForm):
    name = StringField(_l("Short name"), validators=[Optional(), Length(max=64)],
                       description=_l("Used in the sign-in address /auth/oidc/<name>/…; cannot change later."))
    display_name = StringField(_l("Shown as"), validators=[Optional(), Length(max=200)],
                               description=_l("The button reads “Sign in with …”."))
    org = SelectField(_l("Organisation"))
    issuer = StringField(_l("Issuer"), validators=[Optional(), Length(max=500)])
    client_id = StringField(_l("Client ID"), validators=[Optional(), Length(max=255)])
    client_secret = PasswordField(_l("Client secret"), validators=[Optional(), Length(max=1000)],
                                  description=_l("Leave empty to keep the current secret."))
    email_domains = TextAreaField(_l("Allowed e-mail domains (optional)"), validators=[Optional()])
    trust_roles_claim = BooleanField(_l("Trust the provider's portal_roles claim"))
    trust_clearance_claim = BooleanField(_l("Trust the provider's portal_clearance claim"))
    active = BooleanField(_l("Active"), default=True)


def _require_admin():
    user = policy.reader()
    if not permissions.may_register_identity_provider(user):
        abort(404)
    return user


def _form(obj=None) -> ProviderForm:
    form = ProviderForm(obj=obj)
    form.org.choices = [(o.slug, o.name) for o in db.session.scalars(select(Organisation).order_by(Organisation.name))]
    if obj is not None and not form.is_submitted():
        form.org.data = obj.organisation.slug
        form.email_domains.data = obj.email_domains.replace(",", "\n")
    return form


@bp.get("")
def index():
    _require_admin()
    providers = db.session.scalars(select(IdentityProvider).order_by(IdentityProvider.display_name)).all()
    return render_template("federation/admin_index.html", providers=providers)


@bp.route("/new", methods=["GET", "POST"])
@recent_auth_required
def new():
    _require_admin()
    form = _form()
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        values, errors = validate_provider(form.data)
        if not errors:
            provider = IdentityProvider()
            apply(provider, values)
            db.session.add(provider)
            db.session.flush()
            trail.record("identity_provider.create", "identity_provider", provider.id, provider.organisation.slug,
                         name=provider.name, issuer=provider.issuer)
            db.session.commit()
            flash(_("Identity provider %(name)s registered.", name=provider.display_name), "info")
            return redirect(url_for("idp_admin.index"))
    return render_template("federation/admin_form.html", form=form, errors=errors, provider=None), \
        400 if form.is_submitted() else 200


@bp.route("/<int:provider_id>", methods=["GET", "POST"])
@recent_auth_required
def edit(provider_id: int):
    _require_admin()
    provider = db.get_or_404(IdentityProvider, provider_id)
    form = _form(obj=provider)
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        values, errors = validate_provider(form.data, existing=provider)
        if not errors:
            apply(provider, values)
            provider.active = bool(form.active.data)
            trail.record("identity_provider.update", "identity_provider", provider.id, provider.organisation.slug,
                         issuer=provider.issuer, active=provider.active, secret_changed=bool(values["client_secret"]))
            db.session.commit()
            flash(_("Identity provider %(name)s saved.", name=provider.display_name), "info")
            return redirect(url_for("idp_admin.index"))
    return render_template("federation/admin_form.html", form=form, errors=errors, provider=provider), \
        400 if form.is_submitted() else 200
