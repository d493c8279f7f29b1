from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.organisations.models import Organisation
from portal.types import ClassificationType, UTCDateTime, utcnow
from portal.vocabulary import Classification

STATUSES = ("draft", "pending-review", "published", "withdrawn")


class Bulletin(db.Model):
    """A threat bulletin written by one organisation for an audience of others."""

    __tablename__ = "bulletins"
    __table_args__ = (Index("ix_bulletins_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    author_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    classification: Mapped[Classification] = mapped_column(ClassificationType)
    tlp: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    author_org: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    audience: Mapped[list["BulletinAudience"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", back_populates="bulletin"
    )

    def audience_values(self, kind: str) -> list[str]:
        return sorted(a.value for a in self.audience if a.kind == kind)


AUDIENCE_KINDS = ("org", "sector", "country", "user")


class BulletinAudience(db.Model):
    """One member of a bulletin's audience: an organisation slug, sector, country or user e-mail."""

    __tablename__ = "bulletin_audience"
    __table_args__ = (Index("ix_bulletin_audience_kind_value", "kind", "value", "bulletin_id"),)

    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(254), primary_key=True)

    bulletin: Mapped[Bulletin] = relationship(back_populates="audience")
