"""Request-for-information pages: the list (asked and received, with ages and due dates), asking,
and the thread of answers, refusals and clarifications."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy import select

from portal import policy, reads
from portal.extensions import db
from portal.pages import ActionForm, act
from portal.organisations.models import Organisation
from portal.rfis import service
from portal.rfis.models import InformationRequest
from portal.types import utcnow
from portal.vocabulary import Classification

bp = Blueprint("rfis", __name__, url_prefix="/requests")



@bp.get("")
def index():
    user = policy.reader()
    rows = db.session.scalars(policy.readable(InformationRequest, user)
                              .order_by(InformationRequest.id.desc()).limit(200)).all()
    with reads.listed(InformationRequest, len(rows)):
        return render_template("rfis/index.html", requests=rows, now=utcnow(),
                               may_request=service.may_request(user), user=user)


@bp.route("/new", methods=["GET", "POST"])
def new():
    user = policy.reader()
    if not service.may_request(user):
        abort(404)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        try:
            created = service.create(request.form.to_dict(), user)
            db.session.commit()
            return redirect(url_for("rfis.show", request_id=created.id))
        except service.Invalid as invalid:
            db.session.rollback()
            errors, status = invalid.fields, 400
    holders = db.session.scalars(select(Organisation).where(Organisation.active.is_(True),
                                                            Organisation.id != user.organisation_id)
                                 .order_by(Organisation.name)).all()
    return render_template("rfis/new.html", form=ActionForm(), errors=errors, values=request.form, holders=holders,
                           classifications=[c.label for c in Classification if c <= user.clearance]), status


@bp.get("/<int:request_id>")
def show(request_id: int):
    user = policy.reader()
    item = reads.load(InformationRequest, request_id)
    with reads.recorded(item):
        return render_template("rfis/show.html", item=item, messages=service.messages_for(item), form=ActionForm(),
                               holder=user.organisation_id == item.holder_org_id,
                               requester=user.organisation_id == item.requesting_org_id, now=utcnow())


@bp.post("/<int:request_id>/reply")
def reply(request_id: int):
    user = policy.reader()
    item = reads.load(InformationRequest, request_id)
    return act(lambda: service.reply(item, user, request.form.get("kind"), request.form.get("body")),
               url_for("rfis.show", request_id=request_id))
