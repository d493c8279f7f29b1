"""Submitting reports (idempotent, immutable, hashed, receipted) and triaging them. Each change is
audited and notifies through the outbox in the same transaction."""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from portal import activity, permissions
from portal import attachments as store
from portal.accounts.models import User, UserRole
from portal.audit import trail
from portal.config import settings
from portal.extensions import db
from portal.i18n import gettext as _
from portal.outbox import notify
from portal.problems import Conflict, Invalid, NotAllowed
from portal.references import next_reference
from portal.submissions import linking
from portal.submissions.models import (
    TRANSITIONS,
    Submission,
    SubmissionAttachment,
    SubmissionDraft,
    SubmissionEvent,
    SubmissionFeedback,
    SubmissionIdentifier,
    SubmissionNote,
    SubmissionPerson,
    SubmissionTypology,
)
from portal.bulletins.indicators import recognise
from portal.payloads import check
from portal.submissions.schemas import AssignInput, FeedbackInput, NoteInput, StatusInput
from portal.submissions.validation import DOCUMENT_TYPES, Report, validate
from portal.types import utcnow
from portal.vocabulary import Role

__all__ = ["Invalid", "NotAllowed", "Conflict", "submit", "request_hash"]


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def request_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(data)).hexdigest()


def content_hash(submission: Submission) -> str:
    """SHA-256 over the report as received: reference, time, parties and content, canonical JSON."""
    document = {"reference": submission.reference, "submitted_at": submission.submitted_at.isoformat(),
                **submission.content}
    return hashlib.sha256(canonical(document)).hexdigest()


may_submit = permissions.may_submit_reports


def _existing(user: User, key: str) -> Submission | None:
    return db.session.scalar(select(Submission).where(Submission.submitting_org_id == user.organisation_id,
                                                      Submission.idempotency_key == key))


def _replay(existing: Submission, digest: str) -> Submission:
    if existing.request_hash != digest:
        raise Conflict(_("This Idempotency-Key was used for a different report (%(ref)s). Use a new key for a new "
                         "report.", ref=existing.reference))
    return existing


def _decoded_attachments(raw: Any) -> list[tuple[str, bytes]]:
    """API attachments: ``[{"filename", "content_base64"}]``. Size and kind are checked by the store."""
    if raw in (None, []):
        return []
    problems: dict[str, list[str]] = {}
    files: list[tuple[str, bytes]] = []
    if not isinstance(raw, list) or len(raw) > 20:
        raise Invalid({"attachments": [_("Give a list of at most 20 attachments.")]})
    for index, item in enumerate(raw):
        try:
            if not isinstance(item, dict) or not isinstance(item.get("filename"), str):
                raise ValueError
            files.append((item["filename"], base64.b64decode(item.get("content_base64", ""), validate=True)))
        except (ValueError, binascii.Error, TypeError):
            problems[f"attachments[{index}]"] = [_("Each attachment is {\"filename\", \"content_base64\"}.")]
    if problems:
        raise Invalid(problems)
    return files


def submit(data: dict[str, Any], user: User, *, idempotency_key: str | None = None,
           draft: SubmissionDraft | None = None) -> tuple[Submission, bool]:
    """Store a report; return it and whether it was already there (same key, same body).

    Raises Invalid (400, nothing stored), NotAllowed (403), Conflict (409: the key was used for
    another body), or attachments.Refused (413/415).
    """
    if not may_submit(user):
        raise NotAllowed(_("Only submitters and organisation administrators submit reports."))
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
        raise Invalid({"Idempotency-Key": [_("An Idempotency-Key is 1 to 200 characters.")]})
    digest = request_hash(data)
    if idempotency_key and (existing := _existing(user, idempotency_key)):
        return _replay(existing, digest), True
    problems: dict[str, list[str]] = {}
    try:
        report = validate(data, user)
    except Invalid as invalid:
        problems.update(invalid.fields)
    try:
        files = _decoded_attachments(data.get("attachments"))
    except Invalid as invalid:
        problems.update(invalid.fields)
    if problems:
        raise Invalid(problems)

    stored: list[store.Stored] = []
    try:
        for filename, content in files:
            stored.append(store.store(io.BytesIO(content), filename))
        # Taking the reference serialises submitters (a row lock; SQLite's write lock): a concurrent
        # twin with the same key is committed by now, and found here.
        reference = next_reference("SAR")
        if idempotency_key and (existing := _existing(user, idempotency_key)):
            for item in stored:
                store.discard(item.key)
            return _replay(existing, digest), True
        submission = _create(report, user, reference, idempotency_key, digest, stored, draft)
    except IntegrityError:
        db.session.rollback()
        for item in stored:
            store.discard(item.key)
        existing = _existing(user, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _replay(existing, digest), True
    except Exception:
        for item in stored:
            store.discard(item.key)
        raise
    return submission, False


def _create(report: Report, user: User, reference: str, key: str | None, digest: str,
            stored: list[store.Stored], draft: SubmissionDraft | None) -> Submission:
    now = utcnow()
    rows: list[SubmissionAttachment] = [SubmissionAttachment.of(s, created_by_id=user.id) for s in stored]
    if draft is not None:
        rows.extend(draft.attachments)
    content = {
        "submitting_org": user.organisation.slug, "recipient_org": report.recipient.slug,
        "classification": report.classification.label, "typologies": report.typologies,
        "narrative": report.narrative, "subjects": report.subjects, "transactions": report.transactions,
        "relations": report.relations, "follows": report.follows.reference if report.follows else None,
        "attachments": [{"filename": a.filename, "size": a.size, "sha256": a.sha256} for a in rows],
    }
    submission = Submission(
        reference=reference, submitting_org_id=user.organisation_id, recipient_org_id=report.recipient.id,
        submitted_by_id=user.id, classification=report.classification, status="received",
        narrative=report.narrative, submitted_at=now, content=content, follows_id=report.follows.id
        if report.follows else None, idempotency_key=key, request_hash=digest, status_changed_at=now)
    submission.typologies = [SubmissionTypology(code=c) for c in report.typologies]
    submission.content_hash = content_hash(submission)
    db.session.add(submission)
    db.session.flush()
    for row in rows:
        row.submission_id, row.draft_id = submission.id, None
        db.session.add(row)
    for subject, kind, value in report.identifiers:
        db.session.add(SubmissionIdentifier(submission_id=submission.id, subject=subject, kind=kind, value=value))
    for subject, born, key_ in linking.person_keys(report.subjects):
        db.session.add(SubmissionPerson(submission_id=submission.id, subject=subject, date_of_birth=born,
                                        name_key=key_))
    db.session.add(SubmissionEvent(submission_id=submission.id, actor_id=user.id, kind="status", to_status="received"))
    activity.record(user.organisation_id, "share")
    if draft is not None:
        db.session.delete(draft)
    db.session.flush()
    trail.record("submission.create", "submission", reference, user.organisation.slug, actor=user,
                 recipient=report.recipient.slug, content_hash=submission.content_hash,
                 follows=content["follows"], subjects=len(report.subjects), transactions=len(report.transactions))
    notify("submission.received", "submission", reference, actor=user)
    # The receipt is for the submitter themselves: no actor, so they are not skipped as its author.
    notify("submission.receipt", "submission", reference, recipient_ids=[user.id], to="submitter")
    return submission


#: A bulletin indicator's type → the key a report's identifiers are kept under.
IDENTIFIER_KEYS = {"bank-account": "account", "vessel-imo": "imo", "container": "container", "phone": "phone",
                   "email": "email"}


def search(statement, query: str):
    """Reports whose reference is the query, whose narrative contains it, or — when the query is an
    indicator however typed (an account, IMO, container, phone, e-mail …) or an identity document's
    number — that name it, through the (kind, value) index: within the statement (which already
    holds the access policy)."""
    pattern = "%" + query[:200].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    wanted = [(IDENTIFIER_KEYS[kind], value) for kind, value in recognise(query) if kind in IDENTIFIER_KEYS]
    document = re.sub(r"[\s-]", "", query).upper()
    if re.fullmatch(r"[A-Z0-9]{4,30}", document):
        wanted += [(kind, document) for kind in DOCUMENT_TYPES]
    criteria = [Submission.reference == query.upper(), Submission.narrative.ilike(pattern, escape="\\")]
    if wanted:
        criteria.append(Submission.id.in_(select(SubmissionIdentifier.submission_id).where(or_(*(
            and_(SubmissionIdentifier.kind == kind, SubmissionIdentifier.value == value) for kind, value in wanted)))))
    return statement.where(or_(*criteria))


# --- Drafts ----------------------------------------------------------------------------------

def save_draft(user: User, data: dict[str, Any], draft: SubmissionDraft | None = None) -> SubmissionDraft:
    if not may_submit(user):
        raise NotAllowed(_("Only submitters and organisation administrators write reports."))
    if len(canonical(data)) > settings().submission_draft_max_bytes:
        raise Invalid({"draft": [_("The draft is too large to save.")]})
    if draft is None:
        draft = SubmissionDraft(organisation_id=user.organisation_id, author_id=user.id)
        db.session.add(draft)
    draft.data, draft.updated_at = data, utcnow()
    db.session.flush()
    return draft


def drafts_of(user: User) -> list[SubmissionDraft]:
    return list(db.session.scalars(select(SubmissionDraft).where(SubmissionDraft.author_id == user.id)
                                   .order_by(SubmissionDraft.updated_at.desc())))


def draft_or_none(user: User, draft_id: int) -> SubmissionDraft | None:
    """A draft is its author's alone (while the author still belongs to its organisation)."""
    draft = db.session.get(SubmissionDraft, draft_id)
    if draft is None or draft.author_id != user.id or draft.organisation_id != user.organisation_id:
        return None
    return draft


def attach_to_draft(draft: SubmissionDraft, user: User, upload: Any) -> SubmissionAttachment:
    if upload is None or not upload.filename:
        raise Invalid({"file": [_("Choose a file to attach.")]})
    row = SubmissionAttachment.keep(upload, draft_id=draft.id, created_by_id=user.id)  # or store.Refused (413/415)
    db.session.add(row)
    db.session.flush()
    trail.record("attachment.upload", "attachment", row.id, user.organisation.slug, actor=user, draft=draft.id)
    return row


def delete_draft(draft: SubmissionDraft) -> None:
    for row in list(draft.attachments):
        store.discard(row.storage_key)
        db.session.delete(row)
    db.session.delete(draft)


# --- Triage ----------------------------------------------------------------------------------

is_triager = permissions.may_triage_submission


def _require_triager(user: User, submission: Submission) -> None:
    if not is_triager(user, submission):
        raise NotAllowed(_("Only analysts of the receiving agency triage a report."))


def analysts_for(submission: Submission) -> list[User]:
    """Who a report may be assigned to: active analysts of the agency cleared to read it."""
    analysts = select(UserRole.user_id).where(UserRole.role == Role.ANALYST.value)
    users = db.session.scalars(select(User).where(User.organisation_id == submission.recipient_org_id,
                                                  User.id.in_(analysts)).order_by(User.email)).all()
    return [u for u in users if permissions.may_be_assigned_submission(u, submission)]


def assign(submission: Submission, user: User, assignee_id: Any) -> None:
    _require_triager(user, submission)
    assignee, assignee_id = None, check(AssignInput, {"assignee": assignee_id or None}).assignee
    if assignee_id:
        assignee = next((a for a in analysts_for(submission) if a.id == assignee_id), None)
        if assignee is None:
            raise Invalid({"assignee": [_("Choose an analyst of your agency cleared for this report.")]})
    submission.assigned_to_id = assignee.id if assignee else None
    db.session.add(SubmissionEvent(submission_id=submission.id, actor_id=user.id, kind="assigned",
                                   detail=assignee.email if assignee else ""))
    trail.record("submission.assign", "submission", submission.reference, submission.submitting_org.slug,
                 actor=user, assignee=assignee.email if assignee else None)


def outcomes() -> dict[str, str]:
    return dict(settings().submission_outcomes)


def change_status(submission: Submission, user: User, status: str, outcome: str | None = None) -> None:
    _require_triager(user, submission)
    given = check(StatusInput, {"status": status, "outcome": outcome or None})
    status, outcome = given.status, given.outcome
    if status not in TRANSITIONS.get(submission.status, ()):
        raise Conflict(_("A report that is %(current)s cannot become %(new)s.", current=submission.status,
                         new=str(status)[:20]))
    if status == "closed":
        if outcome not in outcomes():
            raise Invalid({"outcome": [_("Choose the outcome before closing: %(codes)s.",
                                         codes=", ".join(outcomes()))]})
        submission.outcome = outcome
    db.session.add(SubmissionEvent(submission_id=submission.id, actor_id=user.id, kind="status",
                                   from_status=submission.status, to_status=status, detail=outcome or ""))
    trail.record("submission.status", "submission", submission.reference, submission.submitting_org.slug,
                 actor=user, from_status=submission.status, to_status=status, outcome=outcome)
    submission.status, submission.status_changed_at = status, utcnow()


def add_note(submission: Submission, user: User, body: Any) -> SubmissionNote:
    _require_triager(user, submission)
    body = check(NoteInput, {"body": body}).body
    note = SubmissionNote(submission_id=submission.id, author_id=user.id, body=body.strip())
    db.session.add(note)
    db.session.flush()
    trail.record("submission.note", "submission", submission.reference, submission.submitting_org.slug,
                 actor=user, note=note.id)
    return note


def give_feedback(submission: Submission, user: User, outcome: Any, text: Any) -> SubmissionFeedback:
    _require_triager(user, submission)
    problems: dict[str, list[str]] = {}
    try:
        text = check(FeedbackInput, {"text": text}).words
    except Invalid as invalid:
        problems.update(invalid.fields)
    if outcome not in outcomes():
        problems["outcome"] = [_("Choose an outcome: %(codes)s.", codes=", ".join(outcomes()))]
    if problems:
        raise Invalid(problems)
    feedback = SubmissionFeedback(submission_id=submission.id, author_id=user.id, outcome=outcome,
                                  text=text.strip())
    db.session.add(feedback)
    db.session.flush()
    trail.record("submission.feedback", "submission", submission.reference, submission.submitting_org.slug,
                 actor=user, outcome=outcome)
    notify("submission.feedback", "submission", submission.reference, actor=user, to="submitter")
    return feedback


def feedback_for(submission: Submission) -> list[SubmissionFeedback]:
    return list(db.session.scalars(select(SubmissionFeedback).where(SubmissionFeedback.submission_id == submission.id)
                                   .order_by(SubmissionFeedback.id)))


def notes_for(submission: Submission) -> list[SubmissionNote]:
    return list(db.session.scalars(select(SubmissionNote).where(SubmissionNote.submission_id == submission.id)
                                   .order_by(SubmissionNote.id)))


def events_for(submission: Submission) -> list[SubmissionEvent]:
    return list(db.session.scalars(select(SubmissionEvent).where(SubmissionEvent.submission_id == submission.id)
                                   .order_by(SubmissionEvent.id)))
