"""Scorecards for a quarter: 1,000 organisations, 5,000,000 activity events.

Bulk-loads the events (not through the pages) spread over the current quarter's months, then, in
one run, times:

- the scorecard job from scratch (`portal.scorecards.compute.run`): one pass over the new events,
  folded into monthly sums, then every organisation's scores for each month and the quarter;
- one aggregate SQL scan of the same events grouped by organisation and kind — the least any
  per-organisation computation that reads every event must do (the target's yardstick) — and, for
  reference, an ungrouped count and sums over every event;
- an incremental run after 10,000 more events.

Target: the job within 3x of the grouped scan. Prints the times and the ratios.

    .venv/bin/python bench/scorecards.py [--events 5000000] [--organisations 1000] [--database-url URL]
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECTORS = ["banking", "ports", "airports", "freight", "remittance", "telecoms"]


def quarter_months(now: dt.datetime) -> list[dt.datetime]:
    first = (now.month - 1) // 3 * 3 + 1
    return [now.replace(month=m, day=1, hour=0, minute=0, second=0, microsecond=0)
            for m in range(first, first + 3) if m <= now.month]


def load_events(app, org_ids: list[int], count: int, start_id: int, rng: random.Random) -> None:
    from portal.activity import bucket_of, month_of
    from portal.extensions import db

    now = dt.datetime.now(dt.timezone.utc)
    starts = quarter_months(now)
    span = (now - dt.timedelta(hours=1) - starts[0]).total_seconds()
    kinds = ["share"] * 3 + ["share-reactive"] + ["rating"] * 2 + ["response"] * 4
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            batch = []
            for n in range(count):
                kind = rng.choice(kinds)
                at = starts[0] + dt.timedelta(seconds=rng.random() * span)
                value = (float(rng.random() < 0.7) if kind == "rating" else
                         rng.expovariate(1 / 30) if kind == "response" else None)
                batch.append((start_id + n, rng.choice(org_ids), kind, at.replace(tzinfo=None).isoformat(" "),
                              month_of(at), value, 1, bucket_of(value) if kind == "response" else -1))
                if len(batch) == 50_000:
                    cursor.executemany("INSERT INTO activity_events (id, organisation_id, kind, at, month, value, "
                                       "weight, bucket) VALUES (?, ?, ?, ?, ?, ?, ?, ?)" if "sqlite" in str(db.engine.url) else
                                       "INSERT INTO activity_events (id, organisation_id, kind, at, month, value, "
                                       "weight, bucket) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", batch)
                    batch = []
            if batch:
                cursor.executemany("INSERT INTO activity_events (id, organisation_id, kind, at, month, value, weight, bucket) "
                                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)" if "sqlite" in str(db.engine.url) else
                                   "INSERT INTO activity_events (id, organisation_id, kind, at, month, value, weight, bucket) "
                                   "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", batch)
            raw.commit()
        finally:
            raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--organisations", type=int, default=1000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from app import create_app
    from portal.activity import ActivityEvent
    from portal.extensions import db
    from portal.organisations.models import Organisation
    from portal.scorecards import compute

    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app({"env": "test", "database_url": url, "instance_path": tmp, "secret_key": "b" * 48,
                          "audit_key": "a" * 48})
        with app.app_context():
            upgrade()
            orgs = [Organisation(slug=f"org-{n}", name=f"Organisation {n}", kind="private",
                                 sector=SECTORS[n % len(SECTORS)], country="NZ") for n in range(args.organisations)]
            db.session.add_all(orgs)
            db.session.commit()
            org_ids = [o.id for o in orgs]
        started = time.perf_counter()
        load_events(app, org_ids, args.events, 1, rng)
        print(f"loaded {args.events:,} events for {args.organisations:,} organisations in "
              f"{time.perf_counter() - started:.1f} s")
        with app.app_context():
            db.session.execute(text("ANALYZE"))  # statistics, as autovacuum or a nightly ANALYZE would keep
            db.session.commit()
            statement = (select(ActivityEvent.organisation_id, ActivityEvent.kind, func.count(),
                                func.sum(ActivityEvent.value))
                         .group_by(ActivityEvent.organisation_id, ActivityEvent.kind))
            total = select(func.count(), func.sum(ActivityEvent.value), func.sum(ActivityEvent.weight))
            db.session.execute(total).all()  # once untimed: every measurement then reads a warm cache
            started = time.perf_counter()
            db.session.execute(total).all()
            plain = time.perf_counter() - started
            started = time.perf_counter()
            scan = db.session.execute(statement).all()
            grouped = time.perf_counter() - started
            db.session.commit()
            started = time.perf_counter()
            written = compute.run()
            job = time.perf_counter() - started
            cards = sum(written.values())
        load_events(app, org_ids, 10_000, args.events + 1, rng)
        with app.app_context():
            started = time.perf_counter()
            compute.run()
            incremental = time.perf_counter() - started
        print(f"plain aggregate scan:        {plain:7.2f} s  (count and sums over every event)")
        print(f"grouped aggregate scan:      {grouped:7.2f} s  (GROUP BY organisation, kind: {len(scan):,} groups)")
        print(f"scorecard job from scratch:  {job:7.2f} s  ({cards:,} scorecards for {', '.join(sorted(written))})")
        print(f"ratio job / grouped scan:    {job / grouped:7.2f}x  (target <= 3x: "
              f"{'met' if job / grouped <= 3 else 'NOT met'})")
        print(f"ratio job / ungrouped scan:  {job / plain:7.2f}x  (for reference: a count that yields no "
              f"per-organisation figure)")
        print(f"incremental run, +10,000 events: {incremental:.2f} s")


if __name__ == "__main__":
    main()
