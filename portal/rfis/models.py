"""Requests for information: an agency asks a holder (another agency or a partner) about a subject,
stating the legal basis and its reasonable grounds — the onus on the requester, as IPP 11 expects."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.organisations.models import Organisation
from portal.types import ClassificationType, UTCDateTime, utcnow
from portal.vocabulary import Classification

STATUSES = ("open", "clarification-requested", "answered", "declined")
REPLY_KINDS = ("answer", "decline", "clarify", "clarification")


class InformationRequest(db.Model):
    __tablename__ = "information_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    requesting_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    holder_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    classification: Mapped[Classification] = mapped_column(ClassificationType, default=Classification.IN_CONFIDENCE)
    subject: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    grounds: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(30), default="open")
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    requesting_org: Mapped[Organisation] = relationship(foreign_keys=[requesting_org_id], lazy="joined",
                                                        innerjoin=True)
    holder_org: Mapped[Organisation] = relationship(foreign_keys=[holder_org_id], lazy="joined", innerjoin=True)


class RequestMessage(db.Model):
    """An answer, a refusal with its reason, a request for clarification, or the clarification."""

    __tablename__ = "information_request_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("information_requests.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
