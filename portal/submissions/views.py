"""Suspicious-activity report pages. The composer and triage come with the submissions feature."""
from __future__ import annotations

from flask import Blueprint, render_template

from portal import policy
from portal.audit import trail
from portal.extensions import db
from portal.submissions.models import Submission

bp = Blueprint("submissions", __name__, url_prefix="/submissions")


@bp.get("")
def index():
    user = policy.reader()
    submissions = db.session.scalars(
        policy.readable_submissions(user).order_by(Submission.id.desc()).limit(100)
    ).all()
    trail.record("submission.list", "submission", count=len(submissions))
    page = render_template("submissions/index.html", submissions=submissions)
    db.session.commit()
    return page


@bp.get("/<reference>")
def show(reference: str):
    user = policy.reader()
    submission = policy.readable_or_404(Submission, user, Submission.reference == reference)
    trail.record("submission.read", "submission", submission.reference, submission.submitting_org.slug,
                 recipient=submission.recipient_org.slug)
    db.session.commit()
    return render_template("submissions/show.html", submission=submission)
