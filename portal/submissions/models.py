"""Suspicious-activity reports: the immutable report, the index rows that link it to other
records, and the recipient agency's triage (assignment, history, internal notes, feedback)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.attachments import AttachedFile
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.types import ClassificationType, UTCDateTime, utcnow
from portal.vocabulary import Classification

STATUSES = ("received", "triaged", "referred", "linked", "closed")
#: status -> the statuses an analyst may move it to. Closing needs an outcome.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "received": ("triaged", "closed"),
    "triaged": ("referred", "linked", "closed"),
    "referred": ("linked", "closed"),
    "linked": ("referred", "closed"),
    "closed": (),
}


class Submission(db.Model):
    """A suspicious-activity report from a submitting organisation to a recipient agency.

    ``content`` is the report as submitted (subjects, transactions, typologies, narrative), in
    canonical form; ``content_hash`` is the SHA-256 the receipt shows. Neither ever changes: triage
    state lives in its own columns and tables.
    """

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("submitting_org_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    submitting_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    recipient_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    classification: Mapped[Classification] = mapped_column(ClassificationType)
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    narrative: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    follows_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(String(40))
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    submitting_org: Mapped[Organisation] = relationship(foreign_keys=[submitting_org_id], lazy="joined", innerjoin=True)
    recipient_org: Mapped[Organisation] = relationship(foreign_keys=[recipient_org_id], lazy="joined", innerjoin=True)
    typologies: Mapped[list[SubmissionTypology]] = relationship(lazy="selectin", cascade="all, delete-orphan")
    attachments: Mapped[list[SubmissionAttachment]] = relationship(
        lazy="selectin", order_by="SubmissionAttachment.id",
        primaryjoin="Submission.id == SubmissionAttachment.submission_id")

    @property
    def typology_codes(self) -> list[str]:
        return sorted(t.code for t in self.typologies)

    @property
    def subjects(self) -> list[dict[str, Any]]:
        return list(self.content.get("subjects", []))

    @property
    def transactions(self) -> list[dict[str, Any]]:
        return list(self.content.get("transactions", []))


class SubmissionTypology(db.Model):
    __tablename__ = "submission_typologies"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), primary_key=True, index=True)


class SubmissionIdentifier(db.Model):
    """A normalised identifier a report names (account, IMO, passport, phone, e-mail, …), indexed
    so that a new report finds the others that share it with one lookup."""

    __tablename__ = "submission_identifiers"
    __table_args__ = (Index("ix_submission_identifiers_kind_value", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(200))


class SubmissionPerson(db.Model):
    """A person a report names, by date of birth and folded name: the key for fuzzy matching."""

    __tablename__ = "submission_people"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(40))
    date_of_birth: Mapped[dt.date] = mapped_column(Date, index=True)
    name_key: Mapped[str] = mapped_column(String(300))


class SubmissionEvent(db.Model):
    """The triage history: status changes and assignments, shown to the recipient agency."""

    __tablename__ = "submission_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))  # status | assigned
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(String(300), default="")

    actor = relationship("User", lazy="joined")


class SubmissionNote(db.Model):
    """An internal note of the recipient agency. The submitter never sees it."""

    __tablename__ = "submission_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    author = relationship("User", lazy="joined")


class SubmissionFeedback(db.Model):
    """What the recipient agency tells the submitter came of the report."""

    __tablename__ = "submission_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubmissionDraft(db.Model):
    """A report being written: saved as the submitter types, visible to its author only."""

    __tablename__ = "submission_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    attachments: Mapped[list[SubmissionAttachment]] = relationship(
        lazy="selectin", order_by="SubmissionAttachment.id",
        primaryjoin="SubmissionDraft.id == SubmissionAttachment.draft_id")


class SubmissionAttachment(AttachedFile, db.Model):
    """A file of a report (or of a draft, until it is submitted); bytes live in the store."""

    __tablename__ = "submission_attachments"
    owner = "submission_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("submission_drafts.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

