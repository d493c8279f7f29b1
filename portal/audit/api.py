"""Audit log proofs (docs/contract.md, "Audit log proofs"), for org-admins and auditors, and "who
accessed our content" with an inclusion proof per row, for org-admins.

An organisation can check every answer offline against the published public keys with
``tools/verify_audit_proof.py``, so it need not trust the portal's operator to show it the same log
that the auditors see. Each answer is itself an audited read. Proof nodes for a whole page are read
in one query.
"""
from __future__ import annotations

import base64
import re
from typing import Any

from flask import request
from sqlalchemy import select

from portal import policy, reads
from portal.api import bp
from portal.api.errors import ApiError
from portal.api.formats import iso
from portal.api.pagination import decode_cursor, encode_cursor, read_limit
from portal.api.operations import operation
from portal.api.scopes import ScopedRoutes
from portal.audit.schemas import CheckpointPage, ConsistencyOut, ConsistencyQuery, OurContentPage, PublicKeyPage
from portal.payloads import Paging
from portal.audit import log as audit_log
from portal.audit import merkle, trail
from portal.audit.models import AuditCheckpoint, AuditEntry, AuditLeaf, AuditSigningKey
from portal.converters import MAX_BIG_ID
from portal.extensions import db
from portal.vocabulary import Role

#: Proofs and who-read-what: the audit:read scope (there is nothing to write here).
routes = ScopedRoutes(bp, "audit")
#: The kinds of object whose accesses an organisation's admins may see (its content).
CONTENT_TYPES = ("bulletin", "submission", "deportee_notification", "attachment")


def _reader(*roles: Role) -> Any:
    user = policy.reader()
    if not any(role in user.roles for role in roles):
        raise ApiError(404)
    return user


def checkpoint_json(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {"tree_size": checkpoint.tree_size, "root_hash": checkpoint.root_hash, "key_id": checkpoint.key_id,
            "signed_text": checkpoint.signed_text, "signature": checkpoint.signature,
            "created_at": iso(checkpoint.created_at)}


@routes.get("/audit/public-keys")
@operation("Every Ed25519 key that signed audit-log checkpoints, retired ones included (org-admins and "
           "auditors)", answer=PublicKeyPage, errors=(404,))
def audit_public_keys():
    """Every key that ever signed a checkpoint, retired ones included."""
    _reader(Role.ORG_ADMIN, Role.AUDITOR)
    keys = db.session.scalars(select(AuditSigningKey).order_by(AuditSigningKey.created_at.desc())).all()
    body = {"items": [{"key_id": k.key_id, "public_key": k.public_key, "created_at": iso(k.created_at),
                       "retired_at": iso(k.retired_at)} for k in keys], "next_cursor": None}
    with reads.audit("audit.public_keys.list", "audit_log", count=len(keys)):
        return body


@routes.get("/audit/checkpoints")
@operation("Signed checkpoints of the audit log, newest first (org-admins and auditors)", query=Paging,
           answer=CheckpointPage, errors=(404,))
def audit_checkpoints(query: Paging):
    _reader(Role.ORG_ADMIN, Role.AUDITOR)
    limit = read_limit()
    statement = select(AuditCheckpoint).order_by(AuditCheckpoint.number.desc()).limit(limit + 1)
    if cursor := request.args.get("cursor"):
        statement = statement.where(AuditCheckpoint.number < decode_cursor(cursor))
    rows = db.session.scalars(statement).all()
    more, rows = len(rows) > limit, rows[:limit]
    body = {"items": [checkpoint_json(c) for c in rows],
            "next_cursor": encode_cursor(rows[-1].number) if more and rows else None}
    with reads.audit("audit.checkpoints.list", "audit_log", count=len(rows)):
        return body


def _size_arg(name: str) -> int:
    raw = request.args.get(name, "")
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        raise ApiError(400, f"{name} must be the tree size of a checkpoint.", {name: ["Give a whole number."]})
    size = int(raw)
    if db.session.scalar(select(AuditCheckpoint.number).where(AuditCheckpoint.tree_size == size)) is None:
        raise ApiError(400, f"No checkpoint has a tree of size {size}.", {name: ["No checkpoint has this size."]})
    return size


@routes.get("/audit/consistency")
@operation("RFC 9162 consistency proof between the checkpoints of sizes from and to", query=ConsistencyQuery,
           answer=ConsistencyOut, errors=(404,))
def audit_consistency(query: ConsistencyQuery):
    """RFC 9162 consistency proof between the checkpoints of sizes ``from`` and ``to``."""
    _reader(Role.ORG_ADMIN, Role.AUDITOR)
    first, second = _size_arg("from"), _size_arg("to")
    if first > second:
        raise ApiError(400, "from must not be larger than to.", {"from": ["Must not be larger than to."]})
    nodes = audit_log.load_nodes(merkle.consistency_nodes(first, second))
    proof = merkle.consistency_proof(first, second, audit_log.getter(nodes))
    with reads.audit("audit.consistency.read", "audit_log", f"{first}-{second}"):
        return {"from": first, "to": second, "proof": [p.hex() for p in proof]}


@routes.get("/audit/our-content")
@operation("Who accessed the caller's organisation's content (org-admins), each row with its leaf bytes and, "
           "once sealed under a checkpoint, its inclusion proof", query=Paging, answer=OurContentPage,
           errors=(404,))
def audit_our_content(query: Paging):
    """Who read, listed, downloaded or exported this organisation's content, newest first, each
    row with its leaf bytes and, once a checkpoint covers it, its inclusion proof."""
    user = _reader(Role.ORG_ADMIN)
    limit = read_limit()
    statement = (select(AuditEntry, AuditLeaf.seq)
                 .outerjoin(AuditLeaf, AuditLeaf.entry_id == AuditEntry.id)
                 .where(AuditEntry.object_org == user.organisation.slug, AuditEntry.object_type.in_(CONTENT_TYPES))
                 .order_by(AuditEntry.id.desc()).limit(limit + 1))
    if cursor := request.args.get("cursor"):
        statement = statement.where(AuditEntry.id < decode_cursor(cursor, MAX_BIG_ID))
    rows = db.session.execute(statement).all()
    more, rows = len(rows) > limit, rows[:limit]
    checkpoint = audit_log.latest_checkpoint()
    size = checkpoint.tree_size if checkpoint else 0
    proven = [seq for _, seq in rows if seq is not None and seq < size]
    wanted: set[tuple[int, int]] = set()
    for seq in proven:
        wanted |= merkle.inclusion_nodes(seq, size)
    get = audit_log.getter(audit_log.load_nodes(wanted))
    items = []
    for entry, seq in rows:
        included = seq is not None and seq < size
        items.append({
            "id": entry.id, "occurred_at": iso(entry.occurred_at), "actor_email": entry.actor_email,
            "actor_org": entry.actor_org, "action": entry.action, "object_type": entry.object_type,
            "object_id": entry.object_id, "source_ip": entry.source_ip, "reason": entry.reason,
            "leaf": base64.b64encode(trail.leaf_bytes(entry)).decode(),
            "sealed": seq is not None,
            "leaf_index": seq if included else None,
            "tree_size": size if included else None,
            "inclusion_proof": [p.hex() for p in merkle.inclusion_proof(seq, size, get)] if included else None,
        })
    body = {"checkpoint": checkpoint_json(checkpoint) if checkpoint else None, "items": items,
            "next_cursor": encode_cursor(rows[-1][0].id) if more and rows else None}
    with reads.audit("audit.list", "audit_entry", count=len(items), scope="own-content", via="api"):
        return body
