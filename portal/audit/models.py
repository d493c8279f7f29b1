from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.types import UTCDateTime


class AuditEntry(db.Model):
    """One recorded event. Append-only: database triggers refuse UPDATE and DELETE.

    ``seq`` is assigned from :class:`AuditChainHead` under a row lock, so the sequence has no
    gaps; ``entry_hash`` is an HMAC over the previous hash and this entry's fields.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_action_source", "action", "source_ip", "occurred_at"),
        Index("ix_audit_entries_object_org_seq", "object_org", "seq"),
        Index("ix_audit_entries_actor_seq", "actor_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the trail outlives users
    actor_email: Mapped[str] = mapped_column(String(254), default="")
    actor_org: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    # The organisation that owns the object, so its org-admin can see who accessed its content.
    object_org: Mapped[str] = mapped_column(String(64), default="")
    source_ip: Mapped[str] = mapped_column(String(45), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON, never content
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(db.Model):
    """A single row holding the chain's last sequence number and hash; locked on every append."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


GENESIS_HASH = "0" * 64
