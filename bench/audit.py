"""The audit log: what appending costs a request, how fast the sequencer seals, how long verification takes.

In one run, on one database (SQLite by default; ``--postgres`` starts a throw-away PostgreSQL):

1. **Append.** p50 of a transaction that records one entry and commits, against the same
   transaction without the entry (a ``SELECT 1`` and a commit) — the difference is what recording
   adds to a request. Target: < 1 ms at p50.
2. **Seal.** ``--entries`` entries bulk-inserted as requests write them (HMAC included), then sealed
   by ``portal.audit.log.seal`` with a checkpoint every ``--checkpoint-every`` entries. Entries/s,
   against the rate of the bulk insert itself (the baseline). Target: >= 5,000 entries/s.
3. **Verify.** ``portal.audit.verify.verify`` over all of it (every checkpoint, HMAC, leaf and tree
   node). Seconds, against one plain streaming read of the same entries (the baseline). Target:
   < 30 s at 1,000,000 entries.

    .venv/bin/python bench/audit.py [--entries 1000000] [--checkpoint-every 10000] [--postgres]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

from portal.config import settings  # noqa: E402
from portal.types import utcnow  # noqa: E402


def append_cost(app, rounds: int) -> tuple[float, float]:
    from sqlalchemy import text

    from portal.audit import trail
    from portal.extensions import db

    def p50(work) -> float:
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    def with_entry() -> None:
        db.session.execute(text("SELECT 1"))
        trail.record("bench.read", "bulletin", 1, "bench-org", source_ip="127.0.0.1", count=50)
        db.session.commit()

    def without() -> None:
        db.session.execute(text("SELECT 1"))
        db.session.commit()

    with app.app_context():
        p50(with_entry), p50(without)  # warm up
        return p50(with_entry), p50(without)


def bulk_entries(app, count: int) -> float:
    """Insert ``count`` entries as the portal writes them (uid, HMAC); returns entries/s."""
    from sqlalchemy import insert

    from portal.audit import trail
    from portal.audit.models import AuditEntry
    from portal.extensions import db
    from portal.types import utcnow

    actions = ["bulletin.read", "bulletin.list", "submission.read", "api.call", "auth.login.success"]
    started = time.perf_counter()
    with app.app_context():
        key = trail._key()
        base = utcnow() - dt.timedelta(hours=1)
        for chunk in range(0, count, 20_000):
            rows = []
            for i in range(chunk, min(chunk + 20_000, count)):
                entry = {"uid": secrets.token_hex(16), "occurred_at": base + dt.timedelta(microseconds=i),
                         "actor_id": i % 500, "actor_email": f"user{i % 500}@bank{i % 40}.example",
                         "actor_org": f"bank{i % 40}", "action": actions[i % 5], "object_type": "bulletin",
                         "object_id": str(i % 100_000), "object_org": f"org{i % 70}", "source_ip": "10.1.2.3",
                         "reason": "", "details": json.dumps({"count": i % 50, "token": i % 90}, sort_keys=True)}
                entry["mac"] = trail.mac_of(trail.leaf_bytes(entry), key)
                rows.append(entry)
            db.session.execute(insert(AuditEntry), rows)
            db.session.commit()
    return count / (time.perf_counter() - started)


def seal_all(app, checkpoint_every: int) -> tuple[float, int, int]:
    """Seal everything, a checkpoint every ``checkpoint_every`` entries; returns (entries/s, entries, checkpoints)."""
    from portal.audit import log as audit_log

    with app.app_context():
        conf = settings(app)
        moment = utcnow()
        sealed, started = 0, time.perf_counter()
        while True:
            result = audit_log.seal(moment, max_seconds=0)  # one batch per run, then a checkpoint
            sealed += result.sealed
            if result.sealed == 0:
                break
            moment += dt.timedelta(seconds=conf.audit_checkpoint_seconds + 1)
        elapsed = time.perf_counter() - started
        from sqlalchemy import func, select

        from portal.audit.models import AuditCheckpoint
        from portal.extensions import db

        checkpoints = db.session.scalar(select(func.count()).select_from(AuditCheckpoint))
        return sealed / elapsed, sealed, checkpoints


def verify_time(app) -> tuple[float, float, int, str]:
    from portal.audit.verify import verify
    from portal.extensions import db

    with app.app_context():
        started = time.perf_counter()
        cursor = db.session.connection().connection.dbapi_connection.cursor()
        cursor.execute("SELECT * FROM audit_entries")  # every column of every entry, straight from the driver
        while cursor.fetchmany(20_000):
            pass
        cursor.close()
        baseline = time.perf_counter() - started
        db.session.rollback()
        started = time.perf_counter()
        report = verify(utcnow() + dt.timedelta(hours=2))
        elapsed = time.perf_counter() - started
        # An hour-old backlog would fail the "unsealed too long" bound; everything is sealed here.
        return elapsed, baseline, report.entries, str(report.problem or "intact")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--checkpoint-every", type=int, default=10_000)
    parser.add_argument("--append-rounds", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true", help="start a throw-away PostgreSQL (pgserver)")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    url, postgres = benchlib.database_for(args, workdir, "audit.sqlite3")
    try:
        from flask_migrate import upgrade

        from app import create_app

        overrides = {**benchlib.settings(url, workdir), "audit_seal_batch": args.checkpoint_every,
                     "audit_unsealed_bound_seconds": 10 ** 7, "audit_checkpoint_seconds": 1}
        app = create_app(overrides)
        with app.app_context():
            upgrade()
        print(f"audit log benchmark on {benchlib.backend_name(url)}, {args.entries:,} entries", flush=True)
        with_entry, without = append_cost(app, args.append_rounds)
        print(f"append: p50 {with_entry:.3f} ms with an entry, {without:.3f} ms without: "
              f"+{with_entry - without:.3f} ms per request  (target < 1 ms)", flush=True)
        insert_rate = bulk_entries(app, args.entries)
        print(f"bulk insert (baseline): {insert_rate:,.0f} entries/s", flush=True)
        seal_rate, sealed, checkpoints = seal_all(app, args.checkpoint_every)
        print(f"seal: {sealed:,} entries in {sealed / seal_rate:.1f} s = {seal_rate:,.0f} entries/s, "
              f"{checkpoints} checkpoints; {seal_rate / insert_rate:.2f}x the bulk insert rate  (target >= 5,000/s)",
              flush=True)
        benchlib.analyse(app)
        elapsed, baseline, verified, outcome = verify_time(app)
        print(f"verify: {verified:,} entries in {elapsed:.1f} s ({outcome}); reading every entry from the driver takes "
              f"{baseline:.1f} s, so verification takes {elapsed / baseline:.1f}x that read  (target < 30 s at 1,000,000)",
              flush=True)
    finally:
        if postgres is not None:
            postgres.close()


if __name__ == "__main__":
    main()
