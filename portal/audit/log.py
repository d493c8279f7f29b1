"""The sequencer: seals appended audit entries into a Merkle tree and signs checkpoints.

It runs alone, under a database lease (``audit.seal``), in a loop of its own in ``flask scheduler``
(never queued behind long jobs) and in ``flask --app app jobs run-once``. Each run:

1. finds entries not yet sealed — by looking for entries without a leaf, never by ``id > last``:
   on PostgreSQL ids are taken before commit, so a lower id can become visible after a higher one.
   It looks back ``audit_lookback_seconds`` of sealing runs for such late commits (an entry's id
   is taken in the very statement before its commit, so milliseconds would do), and every
   ``audit_sweep_minutes`` it looks at the whole table;
2. gives them the next gap-free leaf numbers (``audit_leaves``) and adds them to the tree
   (RFC 9162 hashing), storing every new perfect subtree (``audit_nodes``);
3. when the tree grew and the last checkpoint is at least ``audit_checkpoint_seconds`` old, signs a
   checkpoint of the new size and root with the active Ed25519 key.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import exists, func, insert, select, tuple_
from sqlalchemy.exc import IntegrityError

from portal import jobs
from portal.audit import merkle, signing, trail
from portal.audit.models import AuditCheckpoint, AuditEntry, AuditLeaf, AuditLogState, AuditNode
from portal.config import settings
from portal.extensions import db
from portal.types import utcnow

log = logging.getLogger(__name__)
STATE_ID = 1
#: A run is bounded (``seal``'s max_seconds), so a sequencer that died frees the lease within a minute.
SEAL_JOB = jobs.Job("audit.seal", lambda: None, every=dt.timedelta(0), lease=dt.timedelta(minutes=1))




@dataclass
class SealResult:
    sealed: int = 0
    tree_size: int = 0
    checkpoint: int | None = None  # the tree size of a checkpoint written in this run
    bad_macs: int = 0


# --- Reading the tree ---------------------------------------------------------------------------

def tree_size() -> int:
    last = db.session.scalar(select(func.max(AuditLeaf.seq)))
    return 0 if last is None else last + 1


def load_nodes(wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Perfect subtree hashes by (level, index), in at most two queries whatever their number."""
    wanted = set(wanted)
    leaves = [idx for level, idx in wanted if level == 0]
    inner = [(level, idx) for level, idx in wanted if level > 0]
    found: dict[tuple[int, int], bytes] = {}
    for start in range(0, len(leaves), 500):
        chunk = leaves[start:start + 500]
        for seq, digest in db.session.execute(select(AuditLeaf.seq, AuditLeaf.hash).where(AuditLeaf.seq.in_(chunk))):
            found[(0, seq)] = bytes(digest)
    for start in range(0, len(inner), 500):
        chunk = inner[start:start + 500]
        rows = db.session.execute(select(AuditNode.level, AuditNode.idx, AuditNode.hash)
                                  .where(tuple_(AuditNode.level, AuditNode.idx).in_(chunk)))
        for level, idx, digest in rows:
            found[(level, idx)] = bytes(digest)
    missing = wanted - found.keys()
    if missing:
        raise LookupError(f"the audit tree lacks node(s) {sorted(missing)[:3]}")
    return found


def getter(nodes: dict[tuple[int, int], bytes]):
    return lambda level, idx: nodes[(level, idx)]


def root_at(size: int) -> bytes:
    if size == 0:
        return merkle.EMPTY_ROOT
    nodes = load_nodes(merkle.Appender.frontier_nodes(size))
    return merkle.root(size, getter(nodes))


def latest_checkpoint() -> AuditCheckpoint | None:
    return db.session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.number.desc()).limit(1))


# --- Sealing ------------------------------------------------------------------------------------

def _state() -> AuditLogState:
    state = db.session.get(AuditLogState, STATE_ID)
    if state is None:
        try:
            db.session.add(AuditLogState(id=STATE_ID, floor_id=0, recent="[]"))
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
        state = db.session.get(AuditLogState, STATE_ID)
    assert state is not None
    return state


def _unsealed(floor: int, limit: int) -> list[Any]:
    columns = [AuditEntry.id, AuditEntry.uid, AuditEntry.mac] + [getattr(AuditEntry, f) for f in trail.FIELDS]
    statement = (select(*columns)
                 .where(AuditEntry.id > floor, ~exists().where(AuditLeaf.entry_id == AuditEntry.id))
                 .order_by(AuditEntry.id).limit(limit))
    return list(db.session.execute(statement))


def _advance_floor(state: AuditLogState, now: float, highest: int) -> int:
    """Remember the highest id this run sealed; the floor is the highest id sealed by a run at
    least ``audit_lookback_seconds`` ago (anything at or below it was committed long before)."""
    lookback = settings().audit_lookback_seconds
    recent = [item for item in json.loads(state.recent or "[]")]
    if highest:
        recent.append([now, max(highest, recent[-1][1] if recent else 0)])
    old = [item for item in recent if item[0] <= now - lookback]
    floor = max([state.floor_id] + [item[1] for item in old])
    keep = [item for item in recent if item[0] > now - lookback]
    state.recent = json.dumps(keep[-200:])
    state.floor_id = floor
    return floor


def seal(now: dt.datetime | None = None, max_seconds: float = 5.0) -> SealResult:
    """One sequencer run (the caller holds the lease): seal what is waiting, then checkpoint."""
    conf = settings()
    now = now or utcnow()
    state = _state()
    sweep_due = (state.last_sweep_at is None
                 or now - state.last_sweep_at >= dt.timedelta(minutes=conf.audit_sweep_minutes))
    floor = 0 if sweep_due else state.floor_id
    result = SealResult(tree_size=tree_size())
    appender = merkle.Appender(result.tree_size, getter(load_nodes(merkle.Appender.frontier_nodes(result.tree_size))))
    key = trail._key()
    started = time.monotonic()
    highest = 0
    while True:
        rows = _unsealed(floor, conf.audit_seal_batch)
        if not rows:
            break
        leaves, nodes = [], []
        for row in rows:
            data = trail.leaf_bytes(row._mapping)
            if trail.mac_of(data, key) != row.mac:
                # Sealed all the same (leaving it out would hide it); `audit verify` names it.
                result.bad_macs += 1
                log.error("audit entry %s does not match its HMAC: altered or inserted", row.id)
            digest = merkle.leaf_hash(data)
            leaves.append({"seq": appender.size, "entry_id": row.id, "hash": digest, "sealed_at": now})
            for level, idx, node in appender.append(digest):
                if level:
                    nodes.append({"level": level, "idx": idx, "hash": node})
            highest = max(highest, row.id)
        db.session.execute(insert(AuditLeaf), leaves)
        if nodes:
            db.session.execute(insert(AuditNode), nodes)
        db.session.commit()
        result.sealed += len(rows)
        floor = rows[-1].id  # what is below was taken in this run, in id order
        if len(rows) < conf.audit_seal_batch or time.monotonic() - started > max_seconds:
            break
    state = _state()
    _advance_floor(state, now.timestamp(), highest)
    if sweep_due:
        state.last_sweep_at = now
    db.session.commit()
    result.tree_size = appender.size
    result.checkpoint = _checkpoint_if_due(appender, now)
    return result


def _checkpoint_if_due(appender: merkle.Appender, now: dt.datetime) -> int | None:
    conf = settings()
    last = latest_checkpoint()
    if appender.size == 0 or (last is not None and last.tree_size >= appender.size):
        return None
    if last is not None and now - last.created_at < dt.timedelta(seconds=conf.audit_checkpoint_seconds):
        return None
    key = signing.active_key()
    if key is None:
        if conf.production:
            log.error("no audit signing key: run `flask --app app audit keys new`; no checkpoint written")
            return None
        key = signing.create_key()
        trail.record("audit.key.create", "audit_signing_key", key.key_id, source_ip="scheduler", automatic=True)
    root = appender.root()
    text = signing.checkpoint_text(conf.audit_log_origin, appender.size, root)
    number = (last.number + 1) if last is not None else 1
    checkpoint = AuditCheckpoint(number=number, tree_size=appender.size, root_hash=root.hex(), key_id=key.key_id,
                                 signed_text=text, signature=signing.sign(key, text), created_at=now)
    checkpoint.mac = checkpoint_mac(checkpoint)
    db.session.add(checkpoint)
    try:
        db.session.commit()
    except IntegrityError:  # another sequencer got there first (its lease had run out)
        db.session.rollback()
        return None
    return appender.size


def checkpoint_mac(checkpoint: AuditCheckpoint) -> str:
    data = "\n".join([str(checkpoint.number), checkpoint.signed_text, checkpoint.key_id, checkpoint.signature,
                      trail.timestamp(checkpoint.created_at)])
    return trail.mac_of(data.encode())


def seal_under_lease(now: dt.datetime | None = None) -> SealResult | None:
    """Seal if no other process is sealing; None when another holds the lease."""
    if not jobs.try_lease(SEAL_JOB):
        return None
    try:
        return seal(now)
    except Exception:
        db.session.rollback()
        log.exception("sealing the audit log failed")
        raise
    finally:
        jobs.release(SEAL_JOB)


# --- Health -------------------------------------------------------------------------------------

def lag() -> dict[str, Any]:
    """For /readyz: how long the oldest unsealed entry has waited, and the log's size."""
    state = db.session.get(AuditLogState, STATE_ID)
    floor = state.floor_id if state is not None else 0
    oldest = db.session.scalar(select(func.min(AuditEntry.occurred_at)).where(
        AuditEntry.id > floor, ~exists().where(AuditLeaf.entry_id == AuditEntry.id)))
    checkpoint = latest_checkpoint()
    now = utcnow()
    return {
        "tree_size": tree_size(),
        "unsealed_for_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0,
        "checkpoint_size": checkpoint.tree_size if checkpoint else 0,
        "checkpoint_age_seconds": round((now - checkpoint.created_at).total_seconds(), 1) if checkpoint else None,
    }
