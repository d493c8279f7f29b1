from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.organisations.models import Organisation
from portal.types import ClassificationType, UTCDateTime, utcnow
from portal.vocabulary import Classification


class DeporteeNotificationRecipient(db.Model):
    """An organisation a notification was routed to (from its destination country)."""

    __tablename__ = "deportee_notification_recipients"

    notification_id: Mapped[int] = mapped_column(
        ForeignKey("deportee_notifications.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True, index=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)


class DeporteeNotification(db.Model):
    """Advance notice to a Pacific country's agencies of a criminal deportee's arrival.

    Personal data (names, documents) arrives encrypted in a later change; nothing personal is
    stored in clear here.
    """

    __tablename__ = "deportee_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    issuing_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    destination_country: Mapped[str] = mapped_column(String(2))
    classification: Mapped[Classification] = mapped_column(ClassificationType, default=Classification.SENSITIVE)
    status: Mapped[str] = mapped_column(String(20), default="sent")
    arrival_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    issuing_org: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    recipients: Mapped[list[DeporteeNotificationRecipient]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def acknowledged_at(self) -> dt.datetime | None:
        times = [r.acknowledged_at for r in self.recipients if r.acknowledged_at]
        return min(times) if times else None
