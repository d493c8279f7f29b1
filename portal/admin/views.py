"""Admin pages. ``admin`` manages every organisation and user; ``org-admin`` only its own users,
and never grants a clearance above its own. Neither reads content by virtue of the role."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from portal import labels, permissions, policy, reads
from portal.accounts import recovery
from portal.accounts.models import User
from portal.accounts.notices import change_id
from portal.accounts.service import validate_new_user, validate_user_fields
from portal.accounts.session_auth import recent_auth_required
from portal.accounts.sessions import end_sessions_of, end_sessions_of_organisation
from portal.admin.forms import OrganisationForm, UserForm
from portal.audit import trail
from portal.config import settings
from portal.deportees.models import DeporteeRoute
from portal.deportees.service import add_route, receivers_for
from portal.extensions import db
from portal.pages import ActionForm
from portal.i18n import LANGUAGES, country_name, gettext as _
from portal.organisations.models import Organisation
from portal.organisations.service import validate_new_organisation, validate_organisation
from portal.outbox import notify
from portal.problems import Conflict, Invalid
from portal.vocabulary import Classification, OrganisationKind, Role

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _status(form) -> int:
    """A form sent back with problems is a 400, whichever check refused it."""
    return 400 if form.is_submitted() else 200


def _require(permission) -> User:
    user = policy.reader()
    if not permission(user):
        abort(404)  # admin pages do not exist for anyone else
    return user


# --- Organisations ---------------------------------------------------------------------------

def _organisation_form(obj=None) -> OrganisationForm:
    conf = settings()
    form = OrganisationForm(obj=obj)
    form.kind.choices = labels.choices("organisation-kind", OrganisationKind)
    form.sector.choices = labels.choices("sector", conf.all_sectors())
    form.country.choices = labels.choices("country", conf.countries)
    return form


@bp.get("/organisations")
def organisations():
    _require(permissions.may_manage_organisations)
    orgs = db.session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.name)).all()
    with reads.audit("organisation.list", "organisation", count=len(orgs)):
        return render_template("admin/organisations.html", organisations=orgs)


@bp.route("/organisations/new", methods=["GET", "POST"])
@recent_auth_required
def new_organisation():
    _require(permissions.may_manage_organisations)
    form = _organisation_form()
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        values, errors = validate_new_organisation(form.data)
        if not errors:
            org = Organisation(**values)
            db.session.add(org)
            db.session.flush()
            trail.record("organisation.create", "organisation", org.id, org.slug, slug=org.slug)
            db.session.commit()
            flash(_("Organisation %(name)s created.", name=org.name), "info")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_form.html", form=form, errors=errors, organisation=None), _status(form)


@bp.route("/organisations/<int:org_id>", methods=["GET", "POST"])
@recent_auth_required
def edit_organisation(org_id: int):
    _require(permissions.may_manage_organisations)
    org = db.get_or_404(Organisation, org_id)
    form = _organisation_form(obj=org)
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        values, errors = validate_organisation(form.data, existing=org)
        if not errors:
            for key, value in values.items():
                setattr(org, key, value)
            if org.active and not form.active.data:
                end_sessions_of_organisation(org.id)  # its members' sessions end now
            org.active = bool(form.active.data)
            trail.record("organisation.update", "organisation", org.id, org.slug, **values, active=org.active)
            db.session.commit()
            flash(_("Organisation %(name)s saved.", name=org.name), "info")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_form.html", form=form, errors=errors, organisation=org), _status(form)


# --- Users -----------------------------------------------------------------------------------

def _manageable_users(manager: User):
    """The users ``manager`` may manage (permissions.may_manage_user, as SQL)."""
    return select(User).where(permissions.manageable_users(manager)).order_by(User.email)


def _user_form(manager: User, obj=None) -> UserForm:
    conf = settings()
    form = UserForm(obj=obj)
    orgs = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    orgs = [o for o in orgs if permissions.may_create_user_in(manager, o)]
    form.organisation.choices = [(o.id, o.name) for o in orgs]
    grantable = [r for r in Role if permissions.may_grant_role(manager, r)]
    form.roles.choices = labels.choices("role", grantable)
    form.clearance.choices = [(c.label, c.label) for c in Classification if permissions.may_grant_clearance(manager, c)]
    form.locale.choices = [(code, LANGUAGES.get(code, (code,))[0]) for code in conf.languages]
    if obj is not None:
        form.organisation.data = form.organisation.data or obj.organisation_id
        if not form.is_submitted():
            form.roles.data = [r.value for r in obj.roles]
            form.clearance.data = obj.clearance.label
    return form


@bp.get("/users")
def users():
    manager = _require(permissions.may_administer_users)
    rows = db.session.scalars(_manageable_users(manager)).all()
    with reads.audit("user.list", "user", count=len(rows)):
        return render_template("admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@recent_auth_required
def new_user():
    manager = _require(permissions.may_administer_users)
    form = _user_form(manager)
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        org = db.session.get(Organisation, form.organisation.data)
        if org is None or not permissions.may_create_user_in(manager, org):
            abort(404)
        values, errors = validate_new_user({**form.data, "organisation": org}, granter=manager)
        if not errors:
            user = User(**{k: v for k, v in values.items() if k != "roles"}, active=bool(form.active.data))
            user.set_roles(values["roles"])
            db.session.add(user)
            db.session.flush()
            trail.record("user.create", "user", user.id, org.slug, email=user.email,
                         roles=sorted(r.value for r in user.roles), clearance=user.clearance.label)
            db.session.commit()
            flash(_("User %(email)s created. They sign in through their organisation's identity provider, "
                    "or you can give them a password with the command line.", email=user.email), "info")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, errors=errors, subject=None), _status(form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@recent_auth_required
def edit_user(user_id: int):
    manager = _require(permissions.may_administer_users)
    subject = db.session.scalar(_manageable_users(manager).where(User.id == user_id))
    if subject is None or not permissions.may_manage_user(manager, subject):
        # Not theirs to manage: another organisation's, cleared above the org-admin, or one of the
        # portal's own accounts (admin, auditor), which only a portal admin manages.
        abort(404)
    form = _user_form(manager, obj=subject)
    errors: dict[str, list[str]] = {}
    if request.method == "GET":
        reads.audit("user.read", "user", subject.id, subject.organisation.slug).now()
    if form.validate_on_submit():
        values, errors = validate_user_fields(form.data, granter=manager, default_time_zone=subject.time_zone)
        # Nobody removes a role they could not grant either.
        values["roles"] = ({r for r in values.get("roles", set()) if permissions.may_grant_role(manager, r)}
                           | {r for r in subject.roles if not permissions.may_grant_role(manager, r)})
        if subject.id == manager.id and not bool(form.active.data):
            errors["active"] = [_("You cannot deactivate yourself.")]
        if not errors:
            before = {"roles": sorted(r.value for r in subject.roles), "clearance": subject.clearance.label,
                      "active": subject.active}
            subject.set_roles(values["roles"])
            subject.clearance = values["clearance"]
            subject.locale = values["locale"]
            subject.time_zone = values["time_zone"]
            subject.display_name = values["display_name"]
            if subject.active and not form.active.data:
                end_sessions_of(subject)  # end their sessions now
            subject.active = bool(form.active.data)
            if subject.pending and form.approve.data:
                subject.pending = False
                trail.record("user.approve", "user", subject.id, subject.organisation.slug,
                             roles=sorted(r.value for r in subject.roles), clearance=subject.clearance.label)
            trail.record("user.update", "user", subject.id, subject.organisation.slug, before=before,
                         after={"roles": sorted(r.value for r in subject.roles),
                                "clearance": subject.clearance.label, "active": subject.active})
            db.session.commit()
            flash(_("User %(email)s saved.", email=subject.email), "info")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, errors=errors, subject=subject,
                           reset_form=ActionForm(),
                           may_reset_factor=permissions.may_reset_second_factor(manager, subject)), _status(form)


@bp.post("/users/<int:user_id>/second-factor")
@recent_auth_required
def reset_second_factor(user_id: int):
    """A member lost their phone and their recovery codes: their authenticator app and codes are
    removed, their sessions end, and they are told by e-mail. They set it up again at next sign-in."""
    manager = _require(permissions.may_administer_users)
    subject = db.session.scalar(_manageable_users(manager).where(User.id == user_id))
    if subject is None or not permissions.may_reset_second_factor(manager, subject):
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    had_factor = subject.totp_secret_sealed is not None
    subject.totp_secret = None
    subject.totp_last_step = None
    recovery.discard(subject)
    end_sessions_of(subject)
    trail.record("user.second_factor.reset", "user", subject.id, subject.organisation.slug, had_factor=had_factor)
    notify("account.changed", "account", change_id(subject, "second-factor-reset"), actor=manager)
    db.session.commit()
    flash(_("The second factor of %(email)s is reset and they are signed out everywhere. They set up their "
            "authenticator app again when they next sign in, and have been told by e-mail.", email=subject.email),
          "info")
    return redirect(url_for("admin.edit_user", user_id=subject.id))


# --- Deportee notification routes ------------------------------------------------------------

@bp.get("/deportee-routes")
def deportee_routes():
    """Which organisations receive deportee notifications for each destination country."""
    _require(permissions.may_manage_deportee_routes)
    conf = settings()
    countries = [c for c in conf.countries if c != "NZ"]
    routes = db.session.scalars(select(DeporteeRoute).order_by(DeporteeRoute.country)).all()
    candidates = db.session.scalars(select(Organisation).where(
        Organisation.kind != OrganisationKind.PRIVATE.value, Organisation.active.is_(True),
        Organisation.country != "NZ").order_by(Organisation.name)).all()
    return render_template("admin/deportee_routes.html", form=ActionForm(), countries=countries, routes=routes,
                           configured=conf.deportee_routes, candidates=candidates,
                           effective={c: receivers_for(c) for c in countries})


@bp.post("/deportee-routes")
@recent_auth_required
def change_deportee_route():
    user = _require(permissions.may_manage_deportee_routes)
    if not ActionForm().validate_on_submit():
        abort(400)
    if request.form.get("remove"):
        route = db.session.get(DeporteeRoute, request.form.get("remove", type=int))
        if route is None:
            abort(404)
        trail.record("deportee_route.remove", "organisation", route.organisation.slug, route.organisation.slug,
                     country=route.country)
        db.session.delete(route)
        db.session.commit()
        flash(_("%(org)s no longer receives notifications for %(cc)s.", org=route.organisation.name,
                cc=country_name(route.country)), "success")
        return redirect(url_for("admin.deportee_routes"))
    try:
        route = add_route(user, request.form.get("country", ""), request.form.get("organisation", ""))
        db.session.commit()
    except Invalid as problem:
        db.session.rollback()
        for sentence in dict.fromkeys(m for messages in problem.fields.values() for m in messages):
            flash(sentence, "error")  # (the declaration gives both fields the same sentence)
    except Conflict as problem:
        db.session.rollback()
        flash(str(problem), "error")
    else:
        org, country = route.organisation, route.country
        flash(_("%(org)s now receives notifications for %(cc)s.", org=org.name, cc=country_name(country)), "success")
    return redirect(url_for("admin.deportee_routes"))
