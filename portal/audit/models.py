"""The audit log's tables.

Writers only ever insert into ``audit_entries`` (one immutable row per event, with an HMAC under
the audit key from the moment it is written). The sequencer (``portal/audit/log.py``), alone and
under a database lease, gives sealed entries gap-free leaf numbers in ``audit_leaves``, keeps the
Merkle tree's perfect subtrees in ``audit_nodes`` and signs checkpoints into ``audit_checkpoints``.
Database triggers refuse ``UPDATE`` and ``DELETE`` on the entries, leaves, nodes and checkpoints.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.types import UTCDateTime

#: SQLite only auto-increments an ``INTEGER PRIMARY KEY``; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class AuditEntry(db.Model):
    """One recorded event: who, what, when, from where, why — never the content itself.

    ``id`` says only where the row was stored: on PostgreSQL ids do not follow commit order, so
    the log's order is the leaf number the sequencer gives (``AuditLeaf.seq``). ``uid`` is random
    and covered by ``mac``, so a copied row is recognised as an insertion.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_action_source", "action", "source_ip", "occurred_at"),
        Index("ix_audit_entries_object_org_id", "object_org", "id"),
        Index("ix_audit_entries_actor_id", "actor_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32))
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
    mac: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256 of the leaf bytes under the audit key


class AuditLeaf(db.Model):
    """An entry's place in the log: leaf ``seq`` (0-based, gap-free) of the Merkle tree."""

    __tablename__ = "audit_leaves"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary)  # SHA-256(0x00 ‖ leaf bytes)
    sealed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AuditNode(db.Model):
    """A perfect subtree of the Merkle tree above the leaves: level ``level`` (≥ 1), covering
    leaves ``[idx·2^level, (idx+1)·2^level)``. Proofs are read from these rows."""

    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class AuditCheckpoint(db.Model):
    """A signed statement of the tree's size and root (C2SP tlog-checkpoint body, Ed25519).

    ``number`` is gap-free and ``mac`` binds it to the checkpoint, so a checkpoint removed from the
    middle, or renumbered, is noticed."""

    __tablename__ = "audit_checkpoints"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(32))
    signed_text: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    mac: Mapped[str] = mapped_column(String(64))


class AuditSigningKey(db.Model):
    """An Ed25519 key that signs checkpoints. The private half is sealed under the data keys; a
    retired key signs nothing new, and its public half stays published."""

    __tablename__ = "audit_signing_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the raw 32-byte key
    private_key: Mapped[str] = mapped_column(Text)  # crypto.seal(...)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AuditLogState(db.Model):
    """The sequencer's own bookkeeping (one row, written only under its lease): how far back it
    must look for entries committed late."""

    __tablename__ = "audit_log_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    floor_id: Mapped[int] = mapped_column(BigInteger, default=0)
    recent: Mapped[str] = mapped_column(Text, default="[]")  # [[unix time, highest id sealed], …]
    last_sweep_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
