"""Deportee notifications: advance notice to a Pacific country's agencies of a criminal deportee's
arrival. Personal data is held only encrypted (``personal``, ``photo``, update notes), each with the
id of its key; document numbers and name/birth-date pairs are findable through keyed hashes only."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.organisations.models import Organisation
from portal.types import ClassificationType, UTCDateTime, utcnow
from portal.vocabulary import Classification

UPDATE_KINDS = ("arrived", "met-by-family", "met-by-services", "of-concern", "left-country", "other")


class DeporteeNotificationRecipient(db.Model):
    """An organisation a notification was routed to (from its destination country)."""

    __tablename__ = "deportee_notification_recipients"

    notification_id: Mapped[int] = mapped_column(
        ForeignKey("deportee_notifications.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True, index=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    acknowledged_by = relationship("User", lazy="joined")


class DeporteeNotification(db.Model):
    """The notification. In clear: routing, timing and classification only (what scheduling,
    routing and statistics need). Everything about the person is in ``personal``, encrypted."""

    __tablename__ = "deportee_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    issuing_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    destination_country: Mapped[str] = mapped_column(String(2), index=True)
    classification: Mapped[Classification] = mapped_column(ClassificationType, default=Classification.SENSITIVE)
    status: Mapped[str] = mapped_column(String(20), default="sent")
    arrival_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    flight: Mapped[str] = mapped_column(String(10), default="")
    arrival_airport: Mapped[str] = mapped_column(String(3), default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    key_id: Mapped[str | None] = mapped_column(String(32))
    personal: Mapped[bytes | None] = mapped_column(LargeBinary)
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)
    photo_type: Mapped[str | None] = mapped_column(String(40))
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    issuing_org: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    recipients: Mapped[list[DeporteeNotificationRecipient]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def acknowledged_at(self) -> dt.datetime | None:
        times = [r.acknowledged_at for r in self.recipients if r.acknowledged_at]
        return min(times) if times else None

    @property
    def context(self) -> str:
        """What an encrypted field of this record is bound to (associated data)."""
        return f"deportee-notification:{self.reference}"


class DeporteeIdentifier(db.Model):
    """A keyed hash (blind index) of a document number or of a birth date with a folded name."""

    __tablename__ = "deportee_identifiers"
    __table_args__ = (Index("ix_deportee_identifiers_kind_digest", "kind", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("deportee_notifications.id", ondelete="CASCADE"),
                                                 index=True)
    kind: Mapped[str] = mapped_column(String(20))  # document | person
    digest: Mapped[str] = mapped_column(String(64))


class DeporteeUpdate(db.Model):
    """A receiving agency's news of the person (arrived, met, of concern, left); the note is encrypted."""

    __tablename__ = "deportee_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("deportee_notifications.id", ondelete="CASCADE"),
                                                 index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))
    key_id: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)

    @property
    def context(self) -> str:
        return f"deportee-update:{self.notification_id}:{self.id}"


class DeporteeRoute(db.Model):
    """A receiving organisation designated for a destination country (managed by admins)."""

    __tablename__ = "deportee_routes"
    __table_args__ = (UniqueConstraint("country", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
