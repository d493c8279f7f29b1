"""What organisations do on the portal, recorded as it happens, for the sharing scorecards.

Each feature records its events in the same transaction as the action (never typed in):

- ``share``: content shared unprompted (a bulletin published, a report submitted, a sighting, a
  deportee notification issued);
- ``share-reactive``: content shared only in answer to a request for information;
- ``rating``: a recipient's rating of content the organisation shared (value 1 useful or
  actioned, 0 not relevant; a changed rating reverses the old one with weight -1);
- ``response``: hours the organisation took to acknowledge a bulletin or a deportee notification,
  or to answer a question or a request (value = hours).

``month`` (YYYYMM in the reporting time zone, ``reporting_time_zone``) is stored so that the scorecard job aggregates without date functions that
differ between databases.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.scorecards.models import RESPONSE_BUCKETS
from portal.scorecards.periods import month_of as reporting_month
from portal.types import UTCDateTime, utcnow

KINDS = ("share", "share-reactive", "rating", "response")


class ActivityEvent(db.Model):
    __tablename__ = "activity_events"
    # Covering, in the scorecard job's GROUP BY order: a full recount walks this index instead of
    # sorting every event (README, "Measured: a quarter for 1,000 organisations").
    __table_args__ = (Index("ix_activity_events_scorecard", "organisation_id", "month", "kind", "bucket", "weight",
                            "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    month: Mapped[int] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Float)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    #: For ``response``: the index of the response-time bucket (see scorecards.models); else -1.
    bucket: Mapped[int] = mapped_column(Integer, default=-1)


def month_of(moment: dt.datetime) -> int:
    """The reporting month (``YYYYMM`` in the reporting time zone) of an instant."""
    return reporting_month(moment)


def record(organisation_id: int, kind: str, value: float | None = None, weight: int = 1,
           at: dt.datetime | None = None) -> None:
    """Add an event to the caller's transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown activity kind {kind!r}")
    at = at or utcnow()
    db.session.add(ActivityEvent(organisation_id=organisation_id, kind=kind, at=at, month=month_of(at),
                                 value=value, weight=weight, bucket=bucket_of(value) if kind == "response" else -1))


def bucket_of(hours: float | None) -> int:
    if hours is None:
        return len(RESPONSE_BUCKETS)
    return next((i for i, bound in enumerate(RESPONSE_BUCKETS) if hours <= bound), len(RESPONSE_BUCKETS))


def hours_since(moment: dt.datetime | None) -> float | None:
    if moment is None:
        return None
    return max(0.0, (utcnow() - moment).total_seconds() / 3600)
