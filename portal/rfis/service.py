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
from portal.references import next_reference
from portal.rfis.models import REPLY_KINDS, InformationRequest, RequestMessage
from portal.types import utcnow

MAX_TEXT = 10_000
ANSWERING_ROLES = permissions.ANSWERING_ROLES


may_request = permissions.may_request_information


def _text(errors: dict[str, list[str]], name: str, value: Any, message: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        errors[name] = [message]
        return ""
    return value.strip()


def create(data: dict[str, Any], user: User) -> InformationRequest:
    if not may_request(user):
        raise NotAllowed(_("Only analysts and publishers of an agency make requests for information."))
    errors: dict[str, list[str]] = {}
    holder = db.session.scalar(select(Organisation).where(Organisation.slug == str(data.get("holder_org") or ""),
                                                          Organisation.active.is_(True)))
    if holder is None or holder.id == user.organisation_id:
        errors["holder_org"] = [_("Choose the organisation that holds the information.")]
    subject = _text(errors, "subject", data.get("subject"), _("Say what information you need, about whom or what."))
    legal_basis = _text(errors, "legal_basis", data.get("legal_basis"),
                        _("State the legal basis for the request (e.g. the Privacy Act 2020, IPP 11(1)(e)(i))."))
    grounds = _text(errors, "grounds", data.get("grounds"),
                    _("State your reasonable grounds: why you believe the holder may disclose it."))
    classification = classification_for(data.get("classification"), user.clearance, errors, default="IN-CONFIDENCE")
    due = data.get("due")
    try:
        due_day = parse_day(due) if due else None
    except ValueError:
        due_day = None
    if due_day is None or due_day <= dt.date.today():
        errors["due"] = [_("Give a due date in the future, as YYYY-MM-DD.")]
    if errors:
        raise Invalid(errors)
    assert holder is not None and due_day is not None
    request = InformationRequest(
        reference=next_reference("RFI"), requesting_org_id=user.organisation_id, holder_org_id=holder.id,
        requested_by_id=user.id, classification=classification, subject=subject, legal_basis=legal_basis,
        grounds=grounds, status="open",
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
    if kind not in REPLY_KINDS:
        raise Invalid({"kind": [_("Choose: answer, decline, clarify or clarification.")]})
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
    errors: dict[str, list[str]] = {}
    text = _text(errors, "body", body, _("Write the answer, the reason, or the question (at most %(n)s characters).",
                                         n=MAX_TEXT))
    if errors:
        raise Invalid(errors)
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
