from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.organisations.models import Organisation
from portal.types import ClassificationType, UTCDateTime, utcnow
from portal.vocabulary import Classification

STATUSES = ("received", "triaged", "referred", "linked", "closed")


class Submission(db.Model):
    """A suspicious-activity report from a submitting organisation to a recipient agency."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    submitting_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    recipient_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    classification: Mapped[Classification] = mapped_column(ClassificationType)
    status: Mapped[str] = mapped_column(String(20), default="received")
    narrative: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    submitting_org: Mapped[Organisation] = relationship(foreign_keys=[submitting_org_id], lazy="joined", innerjoin=True)
    recipient_org: Mapped[Organisation] = relationship(foreign_keys=[recipient_org_id], lazy="joined", innerjoin=True)
