"""Partner resilience ratings: a partner's self-assessment against a configurable framework (areas,
criteria, guidance, evidence), scored by a government assessor who awards a tier with an expiry.
Every rated assessment is kept: the history of an organisation's ratings."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.attachments import AttachedFile
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.types import UTCDateTime, utcnow

STATUSES = ("draft", "submitted", "rated")


class Assessment(db.Model):
    __tablename__ = "resilience_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    tier: Mapped[str | None] = mapped_column(String(20))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[str] = mapped_column(Text, default="")
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    answers: Mapped[list[AssessmentAnswer]] = relationship(lazy="selectin", cascade="all, delete-orphan")
    evidence: Mapped[list[AssessmentEvidence]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                              order_by="AssessmentEvidence.id")

    def answer(self, criterion: str) -> AssessmentAnswer | None:
        return next((a for a in self.answers if a.criterion == criterion), None)


class AssessmentAnswer(db.Model):
    __tablename__ = "resilience_answers"

    assessment_id: Mapped[int] = mapped_column(ForeignKey("resilience_assessments.id", ondelete="CASCADE"),
                                               primary_key=True)
    criterion: Mapped[str] = mapped_column(String(40), primary_key=True)
    self_score: Mapped[int | None] = mapped_column(Integer)
    self_comment: Mapped[str] = mapped_column(Text, default="")
    assessor_score: Mapped[int | None] = mapped_column(Integer)
    improvement_action: Mapped[str] = mapped_column(Text, default="")


class AssessmentEvidence(AttachedFile, db.Model):
    """A file of evidence for one criterion of an assessment."""

    __tablename__ = "resilience_evidence"
    owner = "assessment_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("resilience_assessments.id", ondelete="CASCADE"),
                                               index=True)
    criterion: Mapped[str] = mapped_column(String(40))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
