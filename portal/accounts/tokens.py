"""API tokens in the browser: create (shown once), list, revoke. Org-admins see their organisation's."""
from __future__ import annotations

import datetime as dt
import ipaddress

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal import permissions, policy, reads
from portal.accounts.models import ApiToken, User
from portal.accounts.service import API_SCOPES
from portal.accounts.session_auth import recent_auth_required
from portal.admin.forms import CheckboxList
from portal.audit import trail
from portal.extensions import db
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.types import utcnow

bp = Blueprint("tokens", __name__, url_prefix="/tokens")
MAX_DAYS = 365


class TokenForm(FlaskForm):
    name = StringField(_l("What is it for?"), validators=[DataRequired(), Length(max=100)],
                       description=_l("For example: Harbour Bank case-management system"))
    scopes = CheckboxList(_l("What may it do?"), choices=[(s, s) for s in API_SCOPES],
                          description=_l("Choose none to let it act with all your rights."))
    expires_days = IntegerField(_l("Expires after (days)"), default=90,
                                validators=[DataRequired(), NumberRange(min=1, max=MAX_DAYS)])
    allowed_networks = TextAreaField(_l("Only from these addresses (optional)"), validators=[Optional()],
                                     description=_l("IP addresses or ranges such as 203.0.113.0/24, one per line."))


class RevokeForm(FlaskForm):
    pass


def _visible_tokens(user: User):
    statement = select(ApiToken).join(User).order_by(ApiToken.created_at.desc())
    if permissions.may_see_org_tokens(user):
        return statement.where(or_(ApiToken.user_id == user.id, permissions.ordinary_members_of_own_org(user)))
    return statement.where(ApiToken.user_id == user.id)


def _parse_networks(text: str) -> tuple[list[str], list[str]]:
    networks, problems = [], []
    for item in text.replace(",", "\n").split():
        try:
            networks.append(str(ipaddress.ip_network(item.strip(), strict=False)))
        except ValueError:
            problems.append(_("%(value)s is not an IP address or range.", value=item))
    return networks, problems


@bp.get("")
def index():
    user = policy.reader()
    tokens = db.session.scalars(_visible_tokens(user)).all()
    created = session.pop("new_token", None)  # shown once, right after creation
    with reads.audit("api_token.list", "api_token", count=len(tokens)):
        return render_template("tokens/index.html", tokens=tokens, created=created, revoke_form=RevokeForm(),
                               now=utcnow())


@bp.route("/new", methods=["GET", "POST"])
@recent_auth_required
def new():
    user = policy.reader()
    form = TokenForm()
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        networks, problems = _parse_networks(form.allowed_networks.data or "")
        if problems:
            errors["allowed_networks"] = problems
        else:
            expires = utcnow() + dt.timedelta(days=form.expires_days.data or 90)
            token, clear = ApiToken.issue(user, form.name.data.strip(), list(form.scopes.data or []), expires)
            token.allowed_networks = ",".join(networks)
            db.session.add(token)
            db.session.flush()
            trail.record("api_token.create", "api_token", token.id, user.organisation.slug, scopes=token.scopes,
                         expires_at=token.expires_at, networks=networks)
            db.session.commit()
            session["new_token"] = {"name": token.name, "value": clear}
            return redirect(url_for("tokens.index"))
    status = 400 if form.is_submitted() else 200
    return render_template("tokens/new.html", form=form, errors=errors), status


@bp.post("/<int:token_id>/revoke")
def revoke(token_id: int):
    user = policy.reader()
    form = RevokeForm()
    token = db.session.scalar(_visible_tokens(user).where(ApiToken.id == token_id))
    if token is None or not permissions.may_revoke_token(user, token) or not form.validate_on_submit():
        abort(404)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        trail.record("api_token.revoke", "api_token", token.id, user.organisation.slug, owner=token.user.email)
        db.session.commit()
        flash(_("Token %(name)s is revoked. Systems using it are refused from now on.", name=token.name), "info")
    return redirect(url_for("tokens.index"))
