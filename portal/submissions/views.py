"""Suspicious-activity report pages: the composer (drafts saved as you go), the receipt, the
submitter's list and the recipient agency's triage queue. Everything works without JavaScript; a
small script saves drafts in the background when it can."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import func, select

from portal import attachments, downloads, policy, reads
from portal.accounts.models import User
from portal.config import settings
from portal.extensions import db
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.organisations.models import Organisation
from portal.pages import ActionForm, act, confirmation, flash_fields
from portal.submissions import goaml, linking, service
from portal.submissions.models import STATUSES, TRANSITIONS, Submission, SubmissionAttachment, SubmissionTypology
from portal.submissions.validation import (
    DOCUMENT_TYPES,
    MAX_RELATIONS,
    MAX_SUBJECTS,
    MAX_TRANSACTIONS,
    RELATION_ROLES,
    SUBJECT_KINDS,
    countries,
    methods,
    recipient_agencies,
)
from portal.templating import field_id
from portal.types import utcnow
from portal.vocabulary import Classification, Role

bp = Blueprint("submissions", __name__, url_prefix="/submissions")
PAGE_SIZE = 50

#: The composer's inputs for each kind of subject (lists are one item per line).
SUBJECT_FIELDS: dict[str, tuple[str, ...]] = {
    "person": ("names", "aliases", "date_of_birth", "gender", "nationality", "documents"),
    "entity": ("name", "registration_number", "country"),
    "account": ("number", "institution", "holder", "swift", "country"),
    "vessel": ("name", "imo"),
    "container": ("number",),
    "flight": ("number", "date"),
    "vehicle": ("registration", "description"),
    "phone": ("number",),
    "email": ("address",),
}
LIST_FIELDS = ("names", "aliases")
TRANSACTION_FIELDS = ("date", "amount", "currency", "from", "to", "method", "description")
#: The composer names a transaction as a relation's target by "#N" (1-based); subject ids cannot
#: start with "#", so the two never collide.
TRANSACTION_TARGET = "#"





# --- Lists -----------------------------------------------------------------------------------

def _age_hours(submission: Submission, now: dt.datetime) -> float:
    return (now - submission.submitted_at).total_seconds() / 3600


@bp.get("")
def index():
    """The reader's reports; for an agency's analysts, the triage queue with filters."""
    user = policy.reader()
    statement = policy.readable_submissions(user)
    args = request.args
    filters: dict[str, str] = {}
    if (status := args.get("status")) in STATUSES:
        statement, filters["status"] = statement.where(Submission.status == status), status
    elif args.get("status") == "open":
        statement, filters["status"] = statement.where(Submission.status != "closed"), "open"
    if args.get("assigned") == "me":
        statement, filters["assigned"] = statement.where(Submission.assigned_to_id == user.id), "me"
    elif args.get("assigned") == "nobody":
        statement, filters["assigned"] = statement.where(Submission.assigned_to_id.is_(None)), "nobody"
    if query := args.get("q", "").strip():
        statement, filters["q"] = service.search(statement, query), query
    if typology := args.get("typology"):
        statement = statement.where(Submission.id.in_(select(SubmissionTypology.submission_id)
                                                      .where(SubmissionTypology.code == typology)))
        filters["typology"] = typology
    now = utcnow()
    sla = settings().submission_triage_hours
    if args.get("overdue") == "1":
        statement = statement.where(Submission.status == "received",
                                    Submission.submitted_at < now - dt.timedelta(hours=sla))
        filters["overdue"] = "1"
    if before := args.get("before", type=int):
        statement = statement.where(Submission.id < before)
    rows = db.session.scalars(statement.order_by(Submission.id.desc()).limit(PAGE_SIZE + 1)).all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    analyst = Role.ANALYST in user.roles
    assignees = {}
    if analyst:
        ids = {s.assigned_to_id for s in rows if s.assigned_to_id}
        assignees = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids or {0})))}
    # Search terms can hold names and passport numbers: the trail says only that there was a search.
    with reads.listed(Submission, len(rows), filters={k: v for k, v in filters.items() if k != "q"},
                      searched="q" in filters):
        return render_template(
            "submissions/index.html", submissions=rows, filters=filters, analyst=analyst, assignees=assignees,
            ages={s.id: _age_hours(s, now) for s in rows}, sla=sla, statuses=STATUSES,
            typologies=settings().typologies, drafts=service.drafts_of(user) if service.may_submit(user) else [],
            may_submit=service.may_submit(user), next_before=rows[-1].id if more else None,
            counts=queue_counts(user) if analyst else {})


# --- Composer --------------------------------------------------------------------------------

def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _documents(text: str) -> list[dict[str, Any]]:
    """``passport T1234567 TO`` per line."""
    documents = []
    for line in _lines(text):
        parts = line.split()
        documents.append({"type": parts[0].lower() if parts else "", "number": parts[1] if len(parts) > 1 else "",
                          "country": parts[2].upper() if len(parts) > 2 else None})
    return documents


def _count(form, name: str, limit: int) -> int:
    try:
        return max(0, min(limit, int(form.get(name, 0) or 0)))
    except ValueError:
        return 0


def form_data(form) -> dict[str, Any]:
    """The composer's fields, as the same dictionary the API takes."""
    subjects = []
    for index in range(_count(form, "subject_count", MAX_SUBJECTS)):
        prefix = f"subjects-{index}-"
        kind = form.get(prefix + "kind")
        if kind not in SUBJECT_FIELDS or form.get(prefix + "remove"):
            continue
        subject: dict[str, Any] = {"kind": kind, "id": form.get(prefix + "id", "").strip() or None,
                                   "notes": form.get(prefix + "notes", "")}
        for name in SUBJECT_FIELDS[kind]:
            value = form.get(prefix + name, "")
            if name in LIST_FIELDS:
                subject[name] = _lines(value)
            elif name == "documents":
                subject[name] = _documents(value)
            else:
                subject[name] = value.strip() or None
        subjects.append(subject)
    transactions = []
    for index in range(_count(form, "transaction_count", MAX_TRANSACTIONS)):
        prefix = f"transactions-{index}-"
        if form.get(prefix + "remove"):
            continue
        transactions.append({name: form.get(prefix + name, "").strip() or None for name in TRANSACTION_FIELDS})
    relations = []
    for index in range(_count(form, "relation_count", MAX_RELATIONS)):
        prefix = f"relations-{index}-"
        if form.get(prefix + "remove"):
            continue
        relation: dict[str, Any] = {"subject": form.get(prefix + "subject", "").strip() or None,
                                    "role": form.get(prefix + "role", "").strip() or None}
        target = form.get(prefix + "to", "").strip()
        if target.startswith(TRANSACTION_TARGET):
            number = target[len(TRANSACTION_TARGET):]
            relation["transaction"] = int(number) - 1 if number.isdigit() and 0 < int(number) <= 100_000 else -1
        else:
            relation["to"] = target or None
        relations.append(relation)
    data = {"recipient_org": form.get("recipient_org", ""), "classification": form.get("classification", ""),
            "typologies": form.getlist("typologies"), "narrative": form.get("narrative", ""),
            "subjects": subjects, "transactions": transactions, "relations": relations}
    if form.get("follows"):
        data["follows"] = form["follows"]
    return data


FIELD_LABELS = {
    "recipient_org": _l("Receiving agency"), "classification": _l("Classification"), "typologies": _l("Typologies"),
    "narrative": _l("Narrative"), "subjects": _l("Subjects"), "transactions": _l("Transactions"),
    "attachments": _l("Attachments"), "follows": _l("Follows"), "names": _l("names"), "aliases": _l("aliases"),
    "date_of_birth": _l("date of birth"), "nationality": _l("nationality"), "documents": _l("identity documents"),
    "name": _l("name"), "registration_number": _l("registration number"), "country": _l("country"),
    "number": _l("number"), "institution": _l("institution"), "holder": _l("account holder"), "imo": _l("IMO number"),
    "date": _l("date"), "registration": _l("registration"), "address": _l("e-mail address"), "id": _l("short id"),
    "kind": _l("kind"), "amount": _l("amount"), "currency": _l("currency"), "from": _l("from"), "to": _l("to"),
    "method": _l("method"), "description": _l("description"), "notes": _l("notes"), "swift": _l("SWIFT/BIC"),
    "relations": _l("Relations"), "subject": _l("subject"), "role": _l("role"), "transaction": _l("transaction"),
}


def field_label(key: str) -> str:
    """``subjects[0].date_of_birth`` → "Subject 1: date of birth", in the reader's language."""
    match = re.match(r"^(subjects|transactions|relations)\[(\d+)\](?:\.(\w+))?", key)
    if not match:
        return str(FIELD_LABELS.get(key, key))
    index = int(match.group(2)) + 1
    whole = {"subjects": _("Subject %(n)s", n=index), "transactions": _("Transaction %(n)s", n=index),
             "relations": _("Relation %(n)s", n=index)}[match.group(1)]
    part = match.group(3)
    return f"{whole}: {FIELD_LABELS.get(part, part)}" if part else whole


def _composer(draft, errors: dict[str, list[str]] | None = None, status: int = 200):
    conf = settings()
    user = policy.reader()
    context = {
        "draft": draft, "data": draft.data, "errors": errors or {}, "form": ActionForm(),
        "agencies": db.session.scalars(recipient_agencies().where(Organisation.id != user.organisation_id)
                                       .order_by(Organisation.name)).all(),
        "classifications": [c.label for c in Classification if c <= user.clearance],
        "typologies": conf.typologies, "subject_fields": SUBJECT_FIELDS, "subject_kinds": SUBJECT_KINDS,
        "document_types": DOCUMENT_TYPES, "methods": methods(), "list_fields": LIST_FIELDS,
        "countries": sorted(countries()), "max_narrative": conf.submission_max_narrative,
        "field_label": field_label, "relation_roles": RELATION_ROLES, "transaction_target": TRANSACTION_TARGET,
        "summary_target": lambda key: (field_id(key), field_label(key)),
        "focus": "" if errors else request.args.get("focus", ""),
    }
    return render_template("submissions/compose.html", **context), status


def _draft_or_404(draft_id: int):
    user = policy.reader()
    if not service.may_submit(user):
        abort(404)
    draft = service.draft_or_none(user, draft_id)
    if draft is None:
        abort(404)
    return user, draft


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Start a draft (optionally a follow-up to one of the organisation's reports)."""
    user = policy.reader()
    if not service.may_submit(user):
        abort(404)
    data: dict[str, Any] = {"classification": "IN-CONFIDENCE", "subjects": [], "transactions": [], "typologies": []}
    if follows := request.args.get("follows"):
        original = reads.load(Submission, follows, Submission.submitting_org_id == user.organisation_id)
        data.update(follows=original.reference, recipient_org=original.recipient_org.slug,
                    classification=original.classification.label, typologies=original.typology_codes)
    if request.method == "GET":
        return render_template("submissions/start.html", form=ActionForm(), follows=follows)
    if not ActionForm().validate_on_submit():
        abort(400)
    draft = service.save_draft(user, data)
    db.session.commit()
    return redirect(url_for("submissions.compose", draft_id=draft.id))


@bp.get("/drafts/<int:draft_id>")
def compose(draft_id: int):
    _user, draft = _draft_or_404(draft_id)
    return _composer(draft)


@bp.post("/drafts/<int:draft_id>/autosave")
def autosave(draft_id: int):
    """The composer's script saves here as the submitter types; answers with the time saved."""
    user, draft = _draft_or_404(draft_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    service.save_draft(user, form_data(request.form), draft)
    db.session.commit()
    return jsonify(saved_at=draft.updated_at.isoformat())


@bp.post("/drafts/<int:draft_id>")
def save(draft_id: int):
    user, draft = _draft_or_404(draft_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    data = form_data(request.form)
    action = request.form.get("action", "save")
    if action.startswith("add-subject:") and action.split(":", 1)[1] in SUBJECT_FIELDS:
        data["subjects"].append({"kind": action.split(":", 1)[1], "id": f"s{len(data['subjects']) + 1}"})
    elif action == "add-transaction":
        data["transactions"].append({"currency": settings().goaml["currency_local"]})
    elif action == "add-relation":
        data["relations"].append({})
    elif action == "delete":
        if (page := confirmation(_("Delete this draft report? What it holds cannot be recovered."),
                                 _("Delete the draft"), cancel=url_for("submissions.compose", draft_id=draft.id))):
            return page
        service.delete_draft(draft)
        db.session.commit()
        flash(_("The draft was deleted."), "success")
        return redirect(url_for("submissions.index"))
    service.save_draft(user, data, draft)
    db.session.commit()
    if action != "submit":
        if action == "save":
            flash(_("Draft saved."), "success")
        anchor = _anchor(action, data)
        # The new subject, transaction or relation gets the keyboard focus (autofocus on its first
        # field, which also scrolls to it), not the top of the page. No #fragment: browsers skip
        # autofocus when the address targets an element.
        return redirect(url_for("submissions.compose", draft_id=draft.id, focus=anchor or None))
    try:
        submission, _replayed = service.submit(data, user, draft=draft)
    except service.Invalid as invalid:
        db.session.rollback()
        return _composer(db.session.get(type(draft), draft_id), invalid.fields, 400)
    except attachments.Refused as refused:
        db.session.rollback()
        return _composer(db.session.get(type(draft), draft_id), {"attachments": [str(refused)]}, refused.status)
    db.session.commit()
    return redirect(url_for("submissions.receipt", reference=submission.reference))


def _anchor(action: str, data: dict[str, Any]) -> str:
    if action.startswith("add-subject:"):
        return f"subject-{len(data['subjects']) - 1}"
    if action == "add-transaction":
        return f"transaction-{len(data['transactions']) - 1}"
    if action == "add-relation":
        return f"relation-{len(data['relations']) - 1}"
    return ""


@bp.post("/drafts/<int:draft_id>/attachments")
def attach(draft_id: int):
    user, draft = _draft_or_404(draft_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        service.attach_to_draft(draft, user, request.files.get("file"))
        db.session.commit()
        flash(_("The file is attached."), "success")
    except attachments.Refused as refused:
        db.session.rollback()
        flash(str(refused), "error")
    except service.Invalid as invalid:
        db.session.rollback()
        flash_fields(invalid.fields)
    return redirect(url_for("submissions.compose", draft_id=draft_id) + "#attachments")


# --- Reading ---------------------------------------------------------------------------------

@bp.get("/<reference>/receipt")
def receipt(reference: str):
    user = policy.reader()
    submission = reads.load(Submission, reference, Submission.submitting_org_id == user.organisation_id)
    return render_template("submissions/receipt.html", submission=submission)


@bp.get("/<reference>")
def show(reference: str):
    user = policy.reader()
    submission = reads.load(Submission, reference)
    triager = service.is_triager(user, submission)
    context: dict[str, Any] = {
        "submission": submission, "triager": triager, "form": ActionForm(),
        "feedback": service.feedback_for(submission), "outcomes": service.outcomes(),
        "subjects": {s["id"]: s for s in submission.subjects},
        "follow_ups": db.session.scalars(policy.readable_submissions(user).where(
            Submission.follows_id == submission.id).order_by(Submission.id)).all(),
        "follows": db.session.scalar(policy.readable_submissions(user).where(
            Submission.id == submission.follows_id)) if submission.follows_id else None,
        "own": user.organisation_id == submission.submitting_org_id and service.may_submit(user),
    }
    if triager:
        now = utcnow()
        context.update(
            notes=service.notes_for(submission), events=service.events_for(submission),
            analysts=service.analysts_for(submission), transitions=TRANSITIONS[submission.status],
            links=linking.for_submission(user, submission), age=_age_hours(submission, now),
            sla=settings().submission_triage_hours)
    with reads.recorded(submission, recipient=submission.recipient_org.slug):
        return render_template("submissions/show.html", **context)


@bp.get("/<reference>/goaml")
def download_goaml(reference: str):
    submission = goaml.load_for_export(reference)
    try:
        xml = goaml.export(submission)
    except goaml.NotExportable as exc:
        flash(str(exc), "error")
        return redirect(url_for("submissions.show", reference=reference))
    with reads.recorded(submission, "export", format="goaml"):
        return goaml.download(submission, xml)


@bp.get("/<reference>/attachments/<int:attachment_id>")
def download(reference: str, attachment_id: int):
    return downloads.download(Submission, reference, SubmissionAttachment, attachment_id)


# --- Triage ----------------------------------------------------------------------------------

def _triage(reference: str, action) -> Any:
    user = policy.reader()
    submission = reads.load(Submission, reference)
    return act(lambda: action(submission, user), url_for("submissions.show", reference=reference) + "#triage")


@bp.post("/<reference>/assign")
def assign(reference: str):
    return _triage(reference, lambda s, u: service.assign(s, u, request.form.get("assignee")))


@bp.post("/<reference>/status")
def status(reference: str):
    return _triage(reference, lambda s, u: service.change_status(s, u, request.form.get("status", ""),
                                                                 request.form.get("outcome") or None))


@bp.post("/<reference>/notes")
def note(reference: str):
    return _triage(reference, lambda s, u: service.add_note(s, u, request.form.get("body")))


@bp.post("/<reference>/feedback")
def feedback(reference: str):
    return _triage(reference, lambda s, u: service.give_feedback(s, u, request.form.get("outcome"),
                                                                 request.form.get("text", "")))


def queue_counts(user) -> dict[str, int]:
    """Open reports by status, within what the reader may read (for the queue's headings)."""
    rows = db.session.execute(select(Submission.status, func.count()).where(policy.submission_readable(user))
                              .group_by(Submission.status)).all()
    return dict(rows)
