"""Verifying the audit log from scratch (``flask --app app audit verify``). It never seals.

What it checks, and what each failure means:
- every checkpoint: gap-free numbers, its HMAC, its signed text (origin, size, root), its Ed25519
  signature under a published key, sizes growing — a checkpoint rewritten, removed or renumbered;
- every sealed entry, in leaf order: gap-free leaf numbers, the entry present, its HMAC, its leaf
  hash — an entry altered, removed, or moved;
- the tree recomputed from the entries themselves: its root at each checkpoint's size must be the
  signed root (so each checkpoint is consistent with every earlier one) — entries reordered,
  inserted or removed; and every stored subtree hash (which proofs are served from) must match;
- every entry not yet sealed: its HMAC, and that it has not waited longer than the bound
  (``audit_unsealed_bound_seconds``) — a forged entry, or a sequencer that stopped;
- no entry twice (a copied row), and no sealed entry left without a checkpoint for long (the newest
  checkpoint removed, or a sequencer that cannot sign).

Deleting entries that are not yet sealed, within the bound, cannot be detected: nothing but the
entries themselves records them yet. That is why the bound is small (README, "Audit log").
"""
from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass, field
from typing import Any, Iterator

from sqlalchemy import func, select

from portal.audit import merkle, signing, trail
from portal.audit.log import checkpoint_mac
from portal.audit.models import AuditCheckpoint, AuditEntry, AuditLeaf
from portal.config import settings
from portal.extensions import db
from portal.types import utcnow

STREAM = 20_000


@dataclass(frozen=True)
class Problem:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class Report:
    sealed: int = 0
    unsealed: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def entries(self) -> int:
        return self.sealed + self.unsealed

    @property
    def problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None


class _Stop(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _fail(where: str, what: str) -> None:
    raise _Stop(Problem(where, what))


def verify(now: dt.datetime | None = None) -> Report:
    """Check everything; stop at the first problem (returned in the report)."""
    conf = settings()
    now = now or utcnow()
    report = Report()
    db.session.commit()  # whatever this session recorded goes in first; the checks then start afresh
    if db.engine.dialect.name == "postgresql":  # one consistent snapshot while the portal writes on
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    try:
        checkpoints = _check_checkpoints()
        report.checkpoints = len(checkpoints)
        report.sealed = _check_leaves(checkpoints, now, conf)
        _check_nodes(report.sealed)
        report.unsealed = _check_unsealed(now, conf.audit_unsealed_bound_seconds)
        _check_copies()
    except _Stop as stop:
        report.problems.append(stop.problem)
    finally:
        db.session.rollback()
    return report


def _check_checkpoints() -> list[AuditCheckpoint]:
    keys = {key.key_id: key.public_key for key in signing.all_keys()}
    checkpoints = list(db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.number)))
    previous = 0
    for expected, checkpoint in enumerate(checkpoints, start=1):
        where = f"checkpoint {checkpoint.number}"
        if checkpoint.number != expected:
            _fail(f"checkpoint {expected}", f"missing (the next checkpoint present is {checkpoint.number}): removed")
        if not hmac.compare_digest(checkpoint.mac, checkpoint_mac(checkpoint)):
            _fail(where, "does not match its HMAC: rewritten or renumbered")
        parsed = signing.parse_checkpoint_text(checkpoint.signed_text)
        if parsed is None or parsed[1] != checkpoint.tree_size or parsed[2].hex() != checkpoint.root_hash:
            _fail(where, "its signed text does not state its tree size and root: rewritten")
        if checkpoint.key_id not in keys:
            _fail(where, f"is signed by key {checkpoint.key_id}, which is not published: rewritten")
        if not signing.signature_valid(keys[checkpoint.key_id], checkpoint.signed_text, checkpoint.signature):
            _fail(where, "its signature does not verify: rewritten")
        if checkpoint.tree_size <= previous:
            _fail(where, f"its tree ({checkpoint.tree_size}) is not larger than the one before ({previous}): rewritten")
        previous = checkpoint.tree_size
    return checkpoints


_cursors = 0


def _raw(sql: str, params: tuple = ()) -> Iterator[tuple]:
    """Rows straight from the database driver, streamed (a server-side cursor on PostgreSQL): the
    verifier reads every entry, and SQLAlchemy's row processing would cost more than the checks."""
    global _cursors
    connection = db.session.connection().connection.dbapi_connection
    postgres = db.engine.dialect.name == "postgresql"
    if postgres:
        _cursors += 1
        cursor = connection.cursor(name=f"audit_verify_{_cursors}")
        sql = sql.replace("?", "%s")
    else:
        cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(STREAM):
            yield from rows
    finally:
        cursor.close()


ENTRY_SQL = ", ".join(["e.id", "e.uid", "e.mac", *(f"e.{name}" for name in trail.FIELDS)])


def _check_leaves(checkpoints: list[AuditCheckpoint], now: dt.datetime, settings: Any) -> int:
    key = trail._key()
    leaf_bytes, stamp, mac_of, leaf_hash = (trail.leaf_bytes_of_row, trail.stored_timestamp, trail.mac_of,
                                            merkle.leaf_hash)
    pending = iter(checkpoints)
    target = next(pending, None)
    tree = merkle.StreamingRoot()
    rows = _raw(f"SELECT l.seq, l.entry_id, l.hash, {ENTRY_SQL} FROM audit_leaves l "
                "LEFT OUTER JOIN audit_entries e ON e.id = l.entry_id ORDER BY l.seq")
    for seq, entry_id, stored, found, uid, mac, occurred_at, *rest in rows:
        size = tree.size
        if seq != size:
            _fail(f"leaf {size}", f"missing (the next leaf present is {seq}): removed")
        if found is None:
            _fail(f"audit entry {entry_id} (leaf {seq})", "missing: removed")
        data = leaf_bytes(uid, stamp(occurred_at), rest)
        if not hmac.compare_digest(mac_of(data, key), mac):
            _fail(f"audit entry {entry_id} (leaf {seq})", "its contents do not match its HMAC: altered")
        digest = leaf_hash(data)
        if bytes(stored) != digest:
            _fail(f"audit entry {entry_id} (leaf {seq})",
                  "its sealed hash does not match its contents: altered, or moved within the log")
        tree.append(digest)
        while target is not None and target.tree_size == tree.size:
            if tree.root().hex() != target.root_hash:
                _fail(f"checkpoint {target.number}", f"the {target.tree_size} entries it covers do not hash to its "
                                                      "root: entries reordered, inserted or removed")
            target = next(pending, None)
    if target is not None:
        _fail(f"leaf {tree.size}", f"missing: checkpoint {target.number} covers {target.tree_size} entries but the "
                                   f"log holds {tree.size}: removed")
    covered = checkpoints[-1].tree_size if checkpoints else 0
    late = now - dt.timedelta(seconds=settings.audit_checkpoint_seconds + settings.audit_unsealed_bound_seconds
                              + settings.audit_seal_seconds)
    uncovered = db.session.execute(select(AuditLeaf.seq, AuditLeaf.entry_id, AuditLeaf.sealed_at)
                                   .where(AuditLeaf.seq >= covered, AuditLeaf.sealed_at < late)
                                   .order_by(AuditLeaf.seq).limit(1)).first()
    if uncovered is not None:
        _fail(f"audit entry {uncovered.entry_id} (leaf {uncovered.seq})",
              f"sealed at {uncovered.sealed_at:%Y-%m-%d %H:%M:%S} UTC but no checkpoint covers it: "
              "the newest checkpoint was removed, or the sequencer cannot sign")
    return tree.size


def _check_nodes(size: int) -> None:
    """Each stored subtree hash must be the hash of the two below it (level 0 being the leaves,
    already checked against the entries)."""
    node_hash = merkle.node_hash
    level = 1
    while size >> level:
        if level == 1:
            lower = (bytes(h) for (h,) in _raw("SELECT hash FROM audit_leaves ORDER BY seq"))
        else:
            lower = (bytes(h) for (h,) in _raw("SELECT hash FROM audit_nodes WHERE level = ? ORDER BY idx",
                                               (level - 1,)))
        upper = _raw("SELECT idx, hash FROM audit_nodes WHERE level = ? ORDER BY idx", (level,))
        count = size >> level
        for expected_idx in range(count):
            row = next(upper, None)
            if row is None or row[0] != expected_idx:
                _fail(f"audit tree node {level}/{expected_idx}", "missing: removed")
            if bytes(row[1]) != node_hash(next(lower), next(lower)):
                _fail(f"audit tree node {level}/{expected_idx}", "does not match the entries below it: altered")
        if next(upper, None) is not None:
            _fail(f"audit tree node {level}/{count}", "lies beyond the sealed leaves: inserted")
        for rows in (lower, upper):
            rows.close()
        level += 1


def _check_unsealed(now: dt.datetime, bound: int) -> int:
    key = trail._key()
    oldest = trail.stored_timestamp((now - dt.timedelta(seconds=bound)).replace(tzinfo=None))
    rows = _raw(f"SELECT {ENTRY_SQL} FROM audit_entries e WHERE NOT EXISTS "
                "(SELECT 1 FROM audit_leaves l WHERE l.entry_id = e.id) ORDER BY e.id")
    count = 0
    for entry_id, uid, mac, occurred_at, *rest in rows:
        where = f"audit entry {entry_id} (not yet sealed)"
        stamp = trail.stored_timestamp(occurred_at)
        if not hmac.compare_digest(trail.mac_of(trail.leaf_bytes_of_row(uid, stamp, rest), key), mac):
            _fail(where, "its contents do not match its HMAC: altered or inserted")
        if stamp < oldest:  # the same fixed-width UTC form: text order is time order
            waited = (now - dt.datetime.fromisoformat(stamp[:-1]).replace(tzinfo=dt.timezone.utc)).total_seconds()
            _fail(where, f"has waited {waited:.0f} s to be sealed, longer than the bound of {bound} s: "
                         "is the scheduler's sequencer running?")
        count += 1
    return count


def _check_copies() -> None:
    uid = db.session.scalar(select(AuditEntry.uid).group_by(AuditEntry.uid).having(func.count() > 1).limit(1))
    if uid is not None:
        ids = sorted(db.session.scalars(select(AuditEntry.id).where(AuditEntry.uid == uid)))
        _fail(f"audit entry {ids[1]}", f"is a copy of audit entry {ids[0]}: inserted")
