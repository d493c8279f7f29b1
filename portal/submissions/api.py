from __future__ import annotations

from typing import Any

from portal import policy
from portal.api import bp
from portal.api.auth import require_scope
from portal.api.formats import iso
from portal.api.pagination import paginate
from portal.audit import trail
from portal.extensions import db
from portal.submissions.models import Submission


def submission_json(submission: Submission) -> dict[str, Any]:
    return {
        "reference": submission.reference,
        "submitting_org": submission.submitting_org.slug,
        "recipient_org": submission.recipient_org.slug,
        "classification": submission.classification.label,
        "status": submission.status,
        "narrative": submission.narrative,
        "submitted_at": iso(submission.submitted_at),
    }


@bp.get("/submissions")
def list_submissions():
    require_scope("submissions:read")
    user = policy.reader()
    page = paginate(policy.readable_submissions(user), Submission.id, submission_json)
    trail.record("submission.list", "submission", count=len(page["items"]), via="api")
    db.session.commit()
    return page


@bp.get("/submissions/<reference>")
def get_submission(reference: str):
    require_scope("submissions:read")
    user = policy.reader()
    submission = policy.readable_or_404(Submission, user, Submission.reference == reference)
    trail.record("submission.read", "submission", submission.reference, submission.submitting_org.slug, via="api")
    db.session.commit()
    return submission_json(submission)
