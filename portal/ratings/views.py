"""Resilience rating pages. A partner sees its own rating, actions and history, and its admins
complete the self-assessment; assessors rate submitted assessments; procurement and oversight users
see every partner's current rating. No partner ever sees another's (404)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from portal import attachments, downloads, permissions, policy, reads
from portal.extensions import db
from portal.i18n import gettext as _
from portal.pages import ActionForm, flash_fields
from portal.ratings import service
from portal.ratings.models import Assessment, AssessmentEvidence

bp = Blueprint("ratings", __name__, url_prefix="/ratings")



@bp.get("")
def index():
    user = policy.reader()
    own = db.session.scalars(select(Assessment).where(Assessment.organisation_id == user.organisation_id)
                             .order_by(Assessment.id.desc())).all()
    context: dict[str, Any] = {
        "current": service.current_rating(user.organisation_id), "history": own, "tiers": service.tiers(),
        "partner": service.is_partner(user.organisation), "form": ActionForm(),
        "may_self_assess": permissions.may_start_self_assessment(user),
        "may_assess": policy.is_assessor(user), "oversight": policy.is_oversight(user), "areas": service.areas(),
    }
    if context["may_assess"]:
        context["queue"] = db.session.scalars(select(Assessment).where(Assessment.status == "submitted")
                                              .order_by(Assessment.submitted_at)).all()
    if context["oversight"]:
        context["overview"] = service.overview()
    context["eligibility"] = context["marks"] = None
    if permissions.may_see_procurement_eligibility(user):
        from portal.scorecards import consequences
        context["eligibility"], context["marks"] = consequences.eligibility_of_all(), consequences.marks()
    with reads.listed(Assessment):
        return render_template("ratings/index.html", **context)


@bp.route("/self", methods=["GET", "POST"])
def self_assessment():
    user = policy.reader()
    try:
        # Opening the page creates nothing: the draft is made by the first save (a POST).
        draft = service.current_draft(user)
    except service.NotAllowed:
        abort(404)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        try:
            draft = service.open_draft(user)
            service.save_self(draft, user, request.form.to_dict())
            if request.form.get("action") == "submit":
                service.submit(draft, user)
            db.session.commit()
            flash(_("Submitted for assessment.") if draft.status == "submitted" else _("Saved."), "success")
            return redirect(url_for("ratings.index") if draft.status == "submitted"
                            else url_for("ratings.self_assessment"))
        except service.Invalid as invalid:
            db.session.rollback()
            draft = service.current_draft(user)
            errors, status = invalid.fields, 400
        except service.NotAllowed as refusal:
            db.session.rollback()
            flash(str(refusal), "error")
            return redirect(url_for("ratings.index"))
    return render_template("ratings/self.html", assessment=draft, organisation=user.organisation, areas=service.areas(), errors=errors,
                           form=ActionForm(), scores=service.SCORES), status


@bp.post("/self/evidence")
def evidence():
    user = policy.reader()
    try:
        draft = service.open_draft(user)
        if not ActionForm().validate_on_submit():
            abort(400)
        service.add_evidence(draft, user, request.form.get("criterion"), request.files.get("file"))
        db.session.commit()
        flash(_("The file is attached."), "success")
    except service.NotAllowed:
        abort(404)
    except attachments.Refused as refused:
        db.session.rollback()
        flash(str(refused), "error")
    except service.Invalid as invalid:
        db.session.rollback()
        flash_fields(invalid.fields)
    return redirect(url_for("ratings.self_assessment"))


@bp.get("/assessments/<int:assessment_id>")
def show(assessment_id: int):
    user = policy.reader()
    assessment = reads.load(Assessment, assessment_id)
    with reads.recorded(assessment):
        return render_template("ratings/show.html", assessment=assessment, areas=service.areas(),
                               tiers=service.tiers(), form=ActionForm(), scores=service.SCORES, errors={},
                               may_rate=policy.is_assessor(user) and assessment.status == "submitted")


@bp.post("/assessments/<int:assessment_id>/rate")
def rate(assessment_id: int):
    user = policy.reader()
    assessment = reads.load(Assessment, assessment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        service.rate(assessment, user, request.form.to_dict())
        db.session.commit()
        flash(_("The resilience rating of %(org)s is saved.", org=assessment.organisation.name), "success")
        return redirect(url_for("ratings.show", assessment_id=assessment_id))
    except service.Invalid as invalid:
        db.session.rollback()
        assessment = reads.load(Assessment, assessment_id)
        return render_template("ratings/show.html", assessment=assessment, areas=service.areas(),
                               tiers=service.tiers(), form=ActionForm(), scores=service.SCORES,
                               errors=invalid.fields, may_rate=True), 400
    except (service.NotAllowed, service.Conflict) as problem:
        db.session.rollback()
        flash(str(problem), "error")
        return redirect(url_for("ratings.show", assessment_id=assessment_id))


@bp.get("/assessments/<int:assessment_id>/evidence/<int:evidence_id>")
def download(assessment_id: int, evidence_id: int):
    return downloads.download(Assessment, assessment_id, AssessmentEvidence, evidence_id)
