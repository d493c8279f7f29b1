"""Deportee notification pages: the receivers' inbox, issuing, reading (arrival in the destination's
local time beside the reader's), acknowledging and posting updates. Works without JavaScript."""
from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from portal import policy, reads
from portal.config import settings
from portal.deportees import service
from portal.deportees.models import UPDATE_KINDS, DeporteeNotification, DeporteeNotificationRecipient
from portal.dates import FIRST_YEAR, LAST_YEAR
from portal.extensions import db
from portal.pages import ActionForm, act
from portal.i18n import gettext as _
from portal.submissions.validation import DOCUMENT_TYPES
from portal.vocabulary import COUNTRY_TIME_ZONES, Classification

bp = Blueprint("deportees", __name__, url_prefix="/deportee-notifications")
PAGE_SIZE = 50



@bp.get("")
def index():
    user = policy.reader()
    statement = policy.readable_deportee_notifications(user)
    document = request.args.get("document", "").strip()
    if document:
        statement = service.find_by_document(statement, document)
    if before := request.args.get("before", type=int):
        statement = statement.where(DeporteeNotification.id < before)
    rows = db.session.scalars(statement.order_by(DeporteeNotification.id.desc()).limit(PAGE_SIZE + 1)).all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    mine = {r.notification_id: r for r in db.session.scalars(select(DeporteeNotificationRecipient).where(
        DeporteeNotificationRecipient.organisation_id == user.organisation_id,
        DeporteeNotificationRecipient.notification_id.in_([n.id for n in rows] or [0])))}
    with reads.listed(DeporteeNotification, len(rows), by_document=bool(document)):
        return render_template("deportees/index.html", notifications=rows, zones=COUNTRY_TIME_ZONES, mine=mine,
                               may_issue=service.may_issue(user), document=document,
                               next_before=rows[-1].id if more else None)


def _form_data(form, files) -> dict[str, Any]:
    """The issuing form, as the dictionary the API takes. Arrival is entered in the destination's time."""
    def lines(name: str) -> list[str]:
        return [line.strip() for line in form.get(name, "").splitlines() if line.strip()]

    documents = []
    for line in lines("documents"):
        parts = line.split()
        documents.append({"type": parts[0].lower(), "number": parts[1] if len(parts) > 1 else "",
                          "country": parts[2].upper() if len(parts) > 2 else None})
    country = form.get("destination_country", "").upper()
    arrival = form.get("arrival_local", "")
    zone = service.local_zone(country)
    if arrival and zone is not None:
        try:
            local = dt.datetime.fromisoformat(arrival)
            if FIRST_YEAR <= local.year <= LAST_YEAR:  # else left as typed, for validation to name
                arrival = local.replace(tzinfo=zone).isoformat()
        except ValueError:
            pass  # left as typed: validation names it
    person: dict[str, Any] = {"names": lines("names"), "aliases": lines("aliases"),
                              "date_of_birth": form.get("date_of_birth") or None, "sex": form.get("sex") or None,
                              "nationality": form.get("nationality") or None, "documents": documents}
    photo = files.get("photo")
    if photo is not None and photo.filename:
        person["photo_base64"] = base64.b64encode(photo.read(settings().deportee_photo_max_bytes + 1)).decode()
    data = {"destination_country": country, "classification": form.get("classification", "SENSITIVE"),
            "person": person, "removal": {"flight": form.get("flight", ""), "arrival_airport":
                                          form.get("arrival_airport", ""), "arrival_at": arrival},
            "legal_basis": form.get("legal_basis", ""), "offences": lines("offences"),
            "sentences": lines("sentences"), "risk_level": form.get("risk_level") or None}
    for name in ("offending_summary", "gang_affiliation", "risk_notes", "reintegration_needs", "health", "housing",
                 "family_contact", "support_services"):
        data[name] = form.get(name, "")
    return data


@bp.route("/new", methods=["GET", "POST"])
def new():
    user = policy.reader()
    if not service.may_issue(user):
        abort(404)
    errors: dict[str, list[str]] = {}
    values = request.form
    status = 200
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        try:
            notification = service.issue(_form_data(request.form, request.files), user)
            db.session.commit()
            flash(_("The notification was sent to %(n)s organisations.", n=len(notification.recipients)), "success")
            return redirect(url_for("deportees.show", notification_id=notification.id))
        except service.Invalid as invalid:
            db.session.rollback()
            errors, status = invalid.fields, 400
    conf = settings()
    return render_template(
        "deportees/new.html", form=ActionForm(), errors=errors, values=values,
        countries=[c for c in conf.countries if c != "NZ"], document_types=DOCUMENT_TYPES,
        classifications=[c.label for c in Classification if c <= user.clearance], zones=COUNTRY_TIME_ZONES,
        routes={c: [o.name for o in service.receivers_for(c)] for c in conf.countries if c != "NZ"},
        photo_mib=service.photo_limit_mib()), status


@bp.get("/<int:notification_id>")
def show(notification_id: int):
    user = policy.reader()
    notification = reads.load(DeporteeNotification, notification_id)
    mine = next((r for r in notification.recipients if r.organisation_id == user.organisation_id), None)
    with reads.recorded(notification):
        return render_template(
            "deportees/show.html", notification=notification, zones=COUNTRY_TIME_ZONES, form=ActionForm(),
            personal=service.personal_data(notification), updates=service.updates_for(notification), mine=mine,
            issuer=user.organisation_id == notification.issuing_org_id, update_kinds=UPDATE_KINDS)


@bp.get("/<int:notification_id>/photo")
def photo(notification_id: int):
    notification = reads.load(DeporteeNotification, notification_id)
    found = service.photo_of(notification)
    if found is None:
        abort(404)
    with reads.recorded(notification, "photo"):
        response = Response(found[0], mimetype=found[1])
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


def _act(notification_id: int, action, done: Any = None, confirm: Any = None) -> Any:
    """``done(user)``: what happened, said on the next page; ``confirm(user)``: (question, button)."""
    user = policy.reader()
    notification = reads.load(DeporteeNotification, notification_id)
    return act(lambda: action(notification, user), url_for("deportees.show", notification_id=notification_id),
               done=done(user) if done else None, confirm=confirm(user) if confirm else None)


@bp.post("/<int:notification_id>/acknowledge")
def acknowledge(notification_id: int):
    return _act(notification_id, service.acknowledge,
                done=lambda u: _("Acknowledged for %(org)s. The issuing agency is told.", org=u.organisation.name),
                confirm=lambda u: (_("Acknowledge this notification for %(org)s? The issuing agency is told, and "
                                     "an acknowledgement cannot be taken back.", org=u.organisation.name),
                                   _("Acknowledge")))


@bp.post("/<int:notification_id>/updates")
def update(notification_id: int):
    return _act(notification_id, lambda n, u: service.add_update(n, u, request.form.get("kind"),
                                                                 request.form.get("note")),
                done=lambda u: _("Your update is added and the issuing agency is told."))
