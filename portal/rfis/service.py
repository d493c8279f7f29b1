"""Requests for information: asking, answering, declining with a reason, clarifying. Audited, and
told to the other side through the outbox."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from portal import activity, permissions
from portal.accounts.models import User
from portal.audit import trail
from portal.dates import parse_day
from portal.extensions import db
from portal.problems import Conflict, Invalid, NotAllowed, classification_for
from portal.i18n import gettext as _
from portal.organisations.models import Organisation
from portal.outbox import notify
from portal.payloads import check
from portal.references import next_reference
from portal.rfis.models import InformationRequest, RequestMessage
from portal.rfis.schemas import ReplyInput, RequestInput
from portal.types import utcnow

ANSWERING_ROLES = permissions.ANSWERING_ROLES


may_request = permissions.may_request_information


def create(data: dict[str, Any], user: User) -> InformationRequest:
    if not may_request(user):
        raise NotAllowed(_("Only analysts and publishers of an agency make requests for information."))
    errors: dict[str, list[str]] = {}
    payload: RequestInput | None = None
    try:  # a field left out is refused in the field's own words, as an empty one is
        payload = check(RequestInput, {**dict.fromkeys(RequestInput.model_fields, ""), **data})
    except Invalid as invalid:
        errors.update(invalid.fields)
    holder = db.session.scalar(select(Organisation).where(Organisation.slug == str(data.get("holder_org") or ""),
                                                          Organisation.active.is_(True)))
    if holder is None or holder.id == user.organisation_id:
        errors["holder_org"] = [_("Choose the organisation that holds the information.")]
    classification = classification_for(data.get("classification"), user.clearance, errors, default="IN-CONFIDENCE")
    try:
        due_day = parse_day(payload.due) if payload else None
    except ValueError:
        due_day = None
    if due_day is None or due_day <= dt.date.today():
        errors["due"] = [_("Give a due date in the future, as YYYY-MM-DD.")]
    if errors:
        raise Invalid(errors)
    assert payload is not None and holder is not None and due_day is not None
    request = InformationRequest(
        reference=next_reference("RFI"), requesting_org_id=user.organisation_id, holder_org_id=holder.id,
        requested_by_id=user.id, classification=classification, subject=payload.subject.strip(),
        legal_basis=payload.legal_basis.strip(), grounds=payload.grounds.strip(), status="open",
        due_at=dt.datetime.combine(due_day, dt.time(23, 59), tzinfo=dt.timezone.utc))
    db.session.add(request)
    db.session.flush()
    trail.record("rfi.create", "information_request", request.reference, user.organisation.slug, actor=user,
                 holder=holder.slug)
    notify("rfi.received", "information_request", request.id, actor=user, to="holder")
    return request


def reply(request: InformationRequest, user: User, kind: Any, body: Any) -> RequestMessage:
    """The holder answers, declines (with a reason) or asks for clarification; the requester clarifies."""
    holder = user.organisation_id == request.holder_org_id
    try:
        check(ReplyInput, {"kind": kind, "body": ""})
    except Invalid as invalid:
        if "kind" in invalid.fields:
            raise Invalid({"kind": invalid.fields["kind"]}) from None
    if kind in ("answer", "decline", "clarify"):
        if not permissions.may_answer_information_request(user, request):
            raise NotAllowed(_("Only the holding organisation answers, declines or asks for clarification."))
        if request.status in ("answered", "declined"):
            raise Conflict(_("This request is already closed."))
    else:
        if not permissions.may_clarify_information_request(user, request):
            raise NotAllowed(_("Only the requesting agency clarifies its request."))
        if request.status != "clarification-requested":
            raise Conflict(_("No clarification was asked for."))
    text = check(ReplyInput, {"kind": kind, "body": body}).body.strip()
    message = RequestMessage(request_id=request.id, organisation_id=user.organisation_id, author_id=user.id,
                             kind=kind, body=text)
    db.session.add(message)
    now = utcnow()
    if kind in ("answer", "decline"):
        request.status, request.closed_at = ("answered" if kind == "answer" else "declined"), now
        activity.record(user.organisation_id, "response", activity.hours_since(request.created_at))
        if kind == "answer":
            activity.record(user.organisation_id, "share-reactive")
    elif kind == "clarify":
        request.status = "clarification-requested"
    else:
        request.status = "open"
    trail.record(f"rfi.{kind}", "information_request", request.reference, request.requesting_org.slug, actor=user)
    notify("rfi.replied", "information_request", request.id, actor=user,
           to="requester" if holder else "holder", kind=kind)
    return message


def messages_for(request: InformationRequest) -> list[RequestMessage]:
    return list(db.session.scalars(select(RequestMessage).where(RequestMessage.request_id == request.id)
                                   .order_by(RequestMessage.id)))
