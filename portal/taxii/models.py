"""What TAXII keeps beyond the bulletins themselves: the status of each envelope a partner wrote."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.types import UTCDateTime, utcnow


class TaxiiStatus(db.Model):
    """TAXII's status resource for one envelope written to a collection: which objects were taken
    and which refused, and why. Only the user who wrote it reads it."""

    __tablename__ = "taxii_statuses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    collection_id: Mapped[str] = mapped_column(String(36))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    total_count: Mapped[int] = mapped_column(Integer)
    # JSON lists of TAXII status details: [{"id", "version"}] and [{"id", "version", "message"}].
    successes: Mapped[str] = mapped_column(Text, default="[]")
    failures: Mapped[str] = mapped_column(Text, default="[]")
