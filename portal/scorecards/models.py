"""Sharing-maturity scorecards: monthly aggregates of activity (kept incrementally) and the scores
computed from them per organisation and period (``2026-11``, ``2026-Q4``)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.types import UTCDateTime, utcnow

#: Upper bounds (hours) of the response-time histogram's buckets; the last is open-ended.
RESPONSE_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 12, 24, 48, 72, 120, 168, 336, 720)


class MonthlyActivity(db.Model):
    """What an organisation did in a month, summed from activity events (never typed in)."""

    __tablename__ = "scorecard_months"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    shares: Mapped[int] = mapped_column(Integer, default=0)
    reactive_shares: Mapped[int] = mapped_column(Integer, default=0)
    ratings: Mapped[int] = mapped_column(Integer, default=0)
    useful_ratings: Mapped[float] = mapped_column(Float, default=0)
    responses: Mapped[list[Any]] = mapped_column(JSON, default=list)  # counts per RESPONSE_BUCKETS (+ overflow)


class Scorecard(db.Model):
    __tablename__ = "scorecards"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True, index=True)
    proactiveness: Mapped[float] = mapped_column(Float)
    relevance: Mapped[float] = mapped_column(Float)
    frequency: Mapped[float] = mapped_column(Float)
    responsiveness: Mapped[float] = mapped_column(Float)
    overall: Mapped[float] = mapped_column(Float)
    shares: Mapped[int] = mapped_column(Integer, default=0)
    ratings: Mapped[int] = mapped_column(Integer, default=0)
    responses: Mapped[int] = mapped_column(Integer, default=0)
    median_response_hours: Mapped[float | None] = mapped_column(Float)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
