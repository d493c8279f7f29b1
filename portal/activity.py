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
differ between databases. ``kind`` is stored as a small integer (``KIND_CODES``; migration 0025):
the scorecard job groups millions of events by it, and hashing or comparing a two-byte integer
costs a fraction of a text key. Python code keeps using the words (``ActivityKind``).
"""
from __future__ import annotations

import datetime as dt

from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from portal.extensions import db
from portal.scorecards.models import RESPONSE_BUCKETS
from portal.scorecards.periods import month_of as reporting_month
from portal.types import UTCDateTime, utcnow

KINDS = ("share", "share-reactive", "rating", "response")
#: How each kind is stored. Never renumber: stored rows and migration 0025 hold these codes.
KIND_CODES = {"share": 1, "share-reactive": 2, "rating": 3, "response": 4}
KIND_WORDS = {code: word for word, code in KIND_CODES.items()}


class ActivityKind(TypeDecorator[str]):
    """An activity kind stored as its code (``KIND_CODES``), read back as its word; an unknown word
    is refused before it reaches the database."""

    impl = SmallInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        try:
            return KIND_CODES[value]
        except KeyError:
            raise ValueError(f"unknown activity kind {value!r}") from None

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else KIND_WORDS[value]


class ActivityEvent(db.Model):
    __tablename__ = "activity_events"
    # Covering, in the scorecard job's GROUP BY order: a full recount walks this index instead of
    # sorting or hashing every event (README, "Measured: a quarter for 1,000 organisations"). The
    # job reads events by id range, so PostgreSQL keeps the id in it too (SQLite's indexes hold the
    # rowid, which is the id, anyway).
    __table_args__ = (Index("ix_activity_events_scorecard", "organisation_id", "month", "kind", "bucket", "weight",
                            "value", postgresql_include=["id"]),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(ActivityKind)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    month: Mapped[int] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Float)
    #: 1, or -1 to take back an earlier event (a rating withdrawn). Small integers (migration 0026),
    #: as the bucket: both are in the covering index the job walks.
    weight: Mapped[int] = mapped_column(SmallInteger, default=1)
    #: For ``response``: the index of the response-time bucket (see scorecards.models); else -1.
    bucket: Mapped[int] = mapped_column(SmallInteger, default=-1)


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
