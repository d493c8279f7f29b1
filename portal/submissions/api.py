from __future__ import annotations

from typing import Any

from flask import Response, current_app, request

from portal import attachments, policy
from portal.api import bp
from portal.api.errors import ApiError, refusals
from portal.api.formats import iso, json_body
from portal.api.pagination import paginate
from portal.api.scopes import ScopedRoutes
from portal.audit import trail
from portal.config import settings
from portal.extensions import db
from portal.submissions import goaml, service
from portal.submissions.models import Submission

#: Every route here needs the submissions:read scope to read and submissions:write to change anything.
routes = ScopedRoutes(bp, "submissions")


def submission_json(submission: Submission, reader: Any) -> dict[str, Any]:
    """docs/contract.md's shape. The recipient agency also sees its triage; internal notes never leave the page."""
    content = submission.content
    body: dict[str, Any] = {
        "reference": submission.reference,
        "submitting_org": submission.submitting_org.slug,
        "recipient_org": submission.recipient_org.slug,
        "classification": submission.classification.label,
        "status": submission.status,
        "outcome": submission.outcome,
        "typologies": submission.typology_codes,
        "narrative": submission.narrative,
        "subjects": content.get("subjects", []),
        "transactions": content.get("transactions", []),
        "relations": content.get("relations", []),
        "follows": content.get("follows"),
        "submitted_at": iso(submission.submitted_at),
        "content_hash": submission.content_hash,
        "attachments": [{"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
                         "sha256": a.sha256} for a in submission.attachments],
        "feedback": [{"outcome": f.outcome, "text": f.text, "at": iso(f.created_at)}
                     for f in service.feedback_for(submission)],
    }
    return body


@routes.get("/submissions")
def list_submissions():
    user = policy.reader()
    statement = policy.readable_submissions(user)
    if status := request.args.get("status"):
        statement = statement.where(Submission.status == status)
    if query := request.args.get("q", "").strip():
        statement = service.search(statement, query)
    page = paginate(statement, Submission.id, lambda s: submission_json(s, user))
    trail.record("submission.list", "submission", count=len(page["items"]), via="api")
    db.session.commit()
    return page


@routes.post("/submissions")
def create_submission():
    user = policy.reader()
    data = json_body(limit=settings().submission_body_max_bytes)
    key = request.headers.get("Idempotency-Key")
    try:
        with refusals("The report is invalid; nothing was stored."):
            submission, replayed = service.submit(data, user, idempotency_key=key)
    except attachments.Refused as refused:
        db.session.rollback()
        raise ApiError(refused.status, str(refused), {"attachments": [str(refused)]}) from None
    if replayed:
        db.session.rollback()  # the reference taken while checking is not used
        trail.record("submission.replay", "submission", submission.reference, submission.submitting_org.slug,
                     via="api")
    db.session.commit()
    response = current_app.make_response((submission_json(submission, user), 201))
    response.headers["Location"] = f"/api/v1/submissions/{submission.reference}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@routes.get("/submissions/<reference>")
def get_submission(reference: str):
    user = policy.reader()
    submission = policy.readable_or_404(Submission, user, Submission.reference == reference)
    trail.record("submission.read", "submission", submission.reference, submission.submitting_org.slug, via="api")
    body = submission_json(submission, user)
    db.session.commit()
    return body


@routes.get("/submissions/<reference>/goaml")
def submission_goaml(reference: str):
    user = policy.reader()
    submission = policy.readable_or_404(Submission, user, Submission.reference == reference)
    try:
        xml = goaml.export(submission)
    except goaml.NotExportable as exc:
        raise ApiError(409, str(exc)) from None
    trail.record("submission.export", "submission", submission.reference, submission.submitting_org.slug,
                 via="api", format="goaml")
    db.session.commit()
    return Response(xml, mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{submission.reference}-goaml.xml"'})
