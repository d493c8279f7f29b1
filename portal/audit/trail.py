"""Writing the audit trail, without waiting for anyone.

``record()`` prepares an immutable entry and its HMAC (under the audit key) and queues it on the
caller's database session; when that session commits, its queued entries go into the database in
one ``INSERT`` — after the feature's own changes were flushed, so an entry's id is taken just before
the commit. A change and its audit entries commit or roll back together. No shared row is
updated and nothing is read, so requests never queue behind one another to be recorded; the
sequencer (``portal/audit/log.py``) puts entries in order and seals them into the Merkle tree later.

The leaf bytes of an entry (what the tree hashes and the HMAC covers) are documented byte for byte
in README ("Audit log: leaf encoding"); ``leaf_bytes`` is the only place that builds them.
"""
from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
from typing import Any, Mapping, Sequence

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from portal import statements
from portal.audit.models import AuditEntry
from portal.config import settings
from portal.extensions import db
from portal.types import utcnow

#: The session.info key of entries waiting for their transaction to commit.
PENDING = "portal_audit_pending"
LEAF_VERSION = "psp-audit-v1"
#: The columns that make up an entry, in the order of its leaf bytes (after version and uid).
FIELDS = ("occurred_at", "actor_id", "actor_email", "actor_org", "action", "object_type", "object_id",
          "object_org", "source_ip", "reason", "details")


def _key() -> bytes:
    return settings().audit_key.get_secret_value().encode()


def timestamp(moment: dt.datetime) -> str:
    """An instant as the leaf bytes hold it: UTC, microseconds, ``Z``."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stored_timestamp(value: dt.datetime | str) -> str:
    """``timestamp()`` of a value read straight from the database driver (naive UTC: a datetime from
    PostgreSQL, SQLAlchemy's ``YYYY-MM-DD HH:MM:SS.ffffff`` text from SQLite), without parsing it
    when it need not be parsed. For the verifier, which reads a million of them."""
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " " and value[19] == ".":
            return f"{value[:10]}T{value[11:]}Z"
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    iso = value.isoformat()
    return f"{iso if len(iso) == 26 else iso[:19] + '.000000'}Z"


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def leaf_bytes(entry: Mapping[str, Any] | AuditEntry) -> bytes:
    """The bytes of an entry that the Merkle tree hashes and the HMAC covers: the UTF-8 JSON array
    ``["psp-audit-v1", uid, occurred_at, actor_id, actor_email, actor_org, action, object_type,
    object_id, object_org, source_ip, reason, details]``, compact, non-ASCII unescaped."""
    get = entry.get if isinstance(entry, Mapping) else entry.__getattribute__
    values = [LEAF_VERSION, get("uid"), timestamp(get("occurred_at"))]
    values.extend(get(name) for name in FIELDS[1:])
    return _ENCODE(values).encode()


def leaf_bytes_of_row(uid: str, occurred_at: str, rest: Sequence[Any]) -> bytes:
    """``leaf_bytes`` from raw column values: ``occurred_at`` already in leaf form, ``rest`` the
    columns of ``FIELDS`` after ``occurred_at``, in order."""
    return _ENCODE([LEAF_VERSION, uid, occurred_at, *rest]).encode()


def mac_of(data: bytes, key: bytes | None = None) -> str:
    return hmac.digest(key or _key(), data, "sha256").hex()


def _actor() -> tuple[int | None, str, str]:
    user = getattr(g, "portal_user", None) if has_request_context() else None
    if user is None and has_request_context():

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
) -> dict[str, Any]:
    """Queue an entry on the current transaction; it is written when the caller commits.

    ``details`` must never carry content (titles, narratives, personal data, search terms): only
    identifiers, counts, filters and outcomes.
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
    entry: dict[str, Any] = {
        "uid": secrets.token_hex(16),
        "occurred_at": utcnow(),
        "actor_id": actor_id,
        "actor_email": (email or "")[:254],
        "actor_org": org or "",
        "action": action,
        "object_type": object_type or "",
        "object_id": "" if object_id is None else str(object_id)[:64],
        "object_org": object_org or "",
        "source_ip": (source_ip or "")[:45],
        "reason": reason or "",
        "details": json.dumps(details, sort_keys=True, default=str, ensure_ascii=False),
    }
    entry["mac"] = mac_of(leaf_bytes(entry))
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback — even before any query — takes the entry with it
    session.info.setdefault(PENDING, []).append(entry)
    return entry


def pending_count() -> int:
    return len(db.session().info.get(PENDING, ()))


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    """One statement for all of a transaction's entries, after its other changes."""
    entries = session.info.pop(PENDING, None)
    if not entries:
        return
    session.flush()
    if len(entries) == 1:  # nearly every request: a statement built and compiled once
        session.connection().execute(statements.audit_entry_insert(), entries[0])
    else:
        session.execute(insert(AuditEntry).values(entries))


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _drop_unwritten(session: Session, transaction: Any) -> None:
    """A transaction that ended without committing (closed, rolled back) takes its entries along."""
    if transaction.parent is None and not transaction.nested and session.info.get(PENDING):
        session.info.pop(PENDING, None)
