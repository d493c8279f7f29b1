"""Writing and verifying the audit trail.

``record()`` appends an entry in the caller's transaction, so a change and its audit entry
commit or roll back together. The chain head row is locked first (``UPDATE`` takes a row lock in
PostgreSQL and the write lock in SQLite), so concurrent processes append one after another.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Iterator

from flask import current_app, g, has_request_context, request
from sqlalchemy import select, update

from portal.audit.models import GENESIS_HASH, AuditChainHead, AuditEntry
from portal.extensions import db
from portal.types import utcnow

HEAD_ID = 1


def _key() -> bytes:
    return current_app.extensions["portal_settings"].audit_key.encode()


def _canonical(entry: AuditEntry) -> bytes:
    fields = [
        entry.seq,
        entry.occurred_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        entry.actor_id,
        entry.actor_email,
        entry.actor_org,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.object_org,
        entry.source_ip,
        entry.reason,
        entry.details,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hmac.new(_key(), prev_hash.encode() + b"\n" + _canonical(entry), hashlib.sha256).hexdigest()


def _actor() -> tuple[int | None, str, str]:
    user = getattr(g, "portal_user", None) if has_request_context() else None
    if user is None and has_request_context():
        from flask_login import current_user

        if current_user and current_user.is_authenticated:
            user = current_user
    if user is None:
        return None, "", ""
    return user.id, user.email, user.organisation.slug


def record(
    action: str,
    object_type: str = "",
    object_id: object = "",
    object_org: str = "",
    reason: str = "",
    actor: Any = None,
    actor_email: str | None = None,
    source_ip: str | None = None,
    **details: Any,
) -> AuditEntry:
    """Append an entry to the trail in the current transaction. The caller commits.

    ``details`` must never carry content (titles, narratives, personal data): only identifiers,
    counts, filters and outcomes.
    """
    if actor is not None:
        actor_id, email, org = actor.id, actor.email, actor.organisation.slug
    else:
        actor_id, email, org = _actor()
    if actor_email is not None and not email:
        email = actor_email
    if source_ip is None:
        source_ip = request.remote_addr or "" if has_request_context() else "cli"
    if has_request_context():
        g._audited = True
        if g.get("api_token") is not None:
            details.setdefault("token", g.api_token.id)  # every use of a token is attributable to it

    db.session.execute(
        update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(seq=AuditChainHead.seq + 1)
    )
    head = db.session.execute(
        select(AuditChainHead.seq, AuditChainHead.last_hash).where(AuditChainHead.id == HEAD_ID)
    ).one()
    entry = AuditEntry(
        seq=head.seq,
        occurred_at=utcnow(),
        actor_id=actor_id,
        actor_email=email[:254],
        actor_org=org,
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:64],
        object_org=object_org,
        source_ip=source_ip[:45],
        reason=reason,
        details=json.dumps(details, sort_keys=True, default=str, ensure_ascii=False),
        prev_hash=head.last_hash,
    )
    entry.entry_hash = compute_hash(head.last_hash, entry)
    db.session.add(entry)
    db.session.execute(
        update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(last_hash=entry.entry_hash)
    )
    return entry


@dataclass(frozen=True)
class Problem:
    seq: int
    what: str

    def __str__(self) -> str:
        return f"audit entry {self.seq}: {self.what}"


def verify(batch: int = 5000) -> Problem | None:
    """Walk the chain in order; return the first entry that was altered, removed or reordered."""
    expected_seq, prev_hash = 1, GENESIS_HASH
    for entry in _entries(batch):
        if entry.seq != expected_seq:
            return Problem(expected_seq, f"missing (the next entry present is {entry.seq}): removed")
        if entry.prev_hash != prev_hash:
            return Problem(entry.seq, "does not follow the entry before it: removed or reordered")
        if not hmac.compare_digest(compute_hash(prev_hash, entry), entry.entry_hash):
            return Problem(entry.seq, "its contents do not match its hash: altered")
        expected_seq, prev_hash = entry.seq + 1, entry.entry_hash
    head = db.session.get(AuditChainHead, HEAD_ID)
    if head is None:
        return Problem(0, "the chain head is missing")
    if head.seq != expected_seq - 1 or head.last_hash != prev_hash:
        return Problem(expected_seq, f"missing: the chain should end at entry {head.seq}: removed")
    return None


def _entries(batch: int) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        db.session.expunge_all()
