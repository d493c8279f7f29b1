from __future__ import annotations

from typing import Any

from flask import current_app, request

from portal import attachments, policy, reads
from portal.api import bp
from portal.api.errors import ApiError, refusals
from portal.api.formats import iso
from portal.api.operations import given, operation
from portal.api.pagination import paginate
from portal.api.scopes import ScopedRoutes
from portal.audit import trail
from portal.config import settings
from portal.extensions import db
from portal.submissions import goaml, service
from portal.submissions.models import Submission
from portal.submissions.schemas import SubmissionInput, SubmissionOut, SubmissionPage, SubmissionQuery

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
@operation("Suspicious-activity reports the caller may read", query=SubmissionQuery, answer=SubmissionPage)
def list_submissions(query: SubmissionQuery):
    user = policy.reader()
    statement = policy.readable_submissions(user)
    if query.status:
        statement = statement.where(Submission.status == query.status)
    if words := (query.q or "").strip():
        statement = service.search(statement, words)
    page = paginate(statement, Submission.id, lambda s: submission_json(s, user))
    with reads.listed(Submission, len(page["items"]), via="api"):
        return page


IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "description": "The same key with the same body answers with the same report (header "
                                  "Idempotent-Replayed: true); with another body, 409.",
                   "schema": {"type": "string", "minLength": 1, "maxLength": 200}}


@routes.post("/submissions")
@operation("Submit a report (submitters); 201 with the stored report and its reference", body=SubmissionInput,
           body_limit=lambda: settings().submission_body_max_bytes, answer=SubmissionOut, status=201, errors=(403, 409), headers=(IDEMPOTENCY_KEY,),
           invalid_message="The report is invalid; nothing was stored.",
           links={name: {"reference": "$response.body#/reference"} for name in ("get_submission", "submission_goaml")})
def create_submission(body: SubmissionInput):
    user = policy.reader()
    key = request.headers.get("Idempotency-Key")
    try:
        with refusals("The report is invalid; nothing was stored."):
            submission, replayed = service.submit(given(body), user, idempotency_key=key)
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
@operation("One report", answer=SubmissionOut)
def get_submission(reference: str):
    user = policy.reader()
    return reads.read_one(Submission, reference, lambda submission: submission_json(submission, user), via="api")


@routes.get("/submissions/<reference>/goaml")
@operation("The report as goAML 5.0.2 XML; 409 when it names no person, entity or account",
           answer={"type": "string"}, media="application/xml", errors=(409,))
def submission_goaml(reference: str):
    submission = goaml.load_for_export(reference)
    try:
        xml = goaml.export(submission)
    except goaml.NotExportable as exc:
        raise ApiError(409, str(exc)) from None
    with reads.recorded(submission, "export", via="api", format="goaml"):
        return goaml.download(submission, xml)
