"""Scorecards for a quarter: 1,000 organisations, 5,000,000 activity events, and outstanding items.

Bulk-loads the events (not through the pages) spread over the current quarter's months (in the
reporting time zone), one org-admin per organisation, and items the organisations were asked to
act on — bulletins addressed to sectors (most acknowledged, the rest open past the target),
requests for information and deportee notifications still open — then, in one run, times:

- the scorecard job from scratch (`portal.scorecards.compute.run`): one pass over the new events,
  folded into monthly sums, the items still open, then every organisation's scores for the current
  month, quarter and financial year (and the close of the periods that ended before them);
- one aggregate SQL scan of the same events grouped by organisation and kind — the least any
  per-organisation computation that reads every event must do (the target's yardstick) — and, for
  reference, an ungrouped count and sums over every event;
- an incremental run after 10,000 more events, recorded in the last hour as the features record them
  (at the moment of the action, so in the current month);
- the close of the quarter (`compute.close_ended_periods` at its end): every organisation scored
  with open items at their age at the close, a notice (outbox) for each one below target, and the
  accountability report with every organisation's eligibility, kept.

Targets: the job within 3x of the grouped scan; the quarter's close under 10 s. Prints the times
and the ratios.

    .venv/bin/python bench/scorecards.py [--events 5000000] [--organisations 1000] [--bulletins 300]
                                         [--postgres | --database-url URL] [--no-vacuum]
"""
from __future__ import annotations

import argparse
import bisect
import contextlib
import datetime as dt
import functools
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import benchlib as bl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECTORS = ["banking", "ports", "airports", "freight", "remittance", "telecoms"]


def quarter_start(now: dt.datetime) -> dt.datetime:
    from portal.scorecards import periods
    return periods.bounds(periods.current_quarter(now))[0]


def load_events(app, org_ids: list[int], count: int, start_id: int, rng: random.Random, recent: bool = False) -> None:
    """``count`` events spread over the quarter so far, or, when ``recent``, over the last hour (as
    the features record them: at the moment of the action, so new events land in the current
    month), ending five minutes ago so that the job's four-minute settling time leaves none for later. Kinds
    are stored as their codes (``activity.KIND_CODES``). PostgreSQL loads them with ``COPY``,
    SQLite with batched inserts."""
    from portal.activity import KIND_CODES, bucket_of, month_of
    from portal.extensions import db
    from portal.scorecards import periods

    now = dt.datetime.now(dt.timezone.utc)
    with app.app_context():
        start = now - dt.timedelta(hours=1) if recent else quarter_start(now)
    span = (now - dt.timedelta(minutes=5 if recent else 60) - start).total_seconds()
    kinds = ["share"] * 3 + ["share-reactive"] + ["rating"] * 2 + ["response"] * 4

    # Each event's reporting month, found among the month boundaries in the span (as month_of
    # would, without a time-zone conversion per event; checked on the first thousand).
    with app.app_context():
        boundaries, month = [], month_of(start)
        while True:
            boundaries.append((periods.bounds(periods.month_key(month))[0], month))
            if boundaries[-1][0] > now:
                break
            month = month + 1 if month % 100 < 12 else (month // 100 + 1) * 100 + 1
    starts = [b for b, _ in boundaries]

    def rows():
        for n in range(count):
            kind = rng.choice(kinds)
            at = start + dt.timedelta(seconds=rng.random() * span)
            value = (float(rng.random() < 0.7) if kind == "rating" else
                     rng.expovariate(1 / 30) if kind == "response" else None)
            month = boundaries[bisect.bisect_right(starts, at) - 1][1]
            if n < 1000:
                assert month == month_of(at), (at, month)
            yield (start_id + n, rng.choice(org_ids), KIND_CODES[kind], at.replace(tzinfo=None).isoformat(" "),
                   month, value, 1, bucket_of(value) if kind == "response" else -1)

    columns = "id, organisation_id, kind, at, month, value, weight, bucket"
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            if "sqlite" in str(db.engine.url):
                batch = []
                for row in rows():
                    batch.append(row)
                    if len(batch) == 50_000:
                        cursor.executemany(f"INSERT INTO activity_events ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                           batch)
                        batch = []
                if batch:
                    cursor.executemany(f"INSERT INTO activity_events ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                       batch)
            else:
                with cursor.copy(f"COPY activity_events ({columns}) FROM STDIN") as copy:
                    for row in rows():
                        copy.write_row(row)
            raw.commit()
        finally:
            raw.close()


def load_items(app, org_ids: list[int], bulletins: int, rng: random.Random) -> int:
    """One org-admin per organisation (half name an accountable executive outside the portal), a
    government sender, bulletins to whole sectors (70% acknowledged), and 1,000 requests for
    information and 1,000 deportee notifications still open. Returns the items left open."""
    from sqlalchemy import insert, select

    from portal.accounts.models import User, UserRole
    from portal.bulletins.models import Bulletin, BulletinAcknowledgement, BulletinAudience
    from portal.deportees.models import DeporteeNotification, DeporteeNotificationRecipient
    from portal.extensions import db
    from portal.organisations.models import Organisation
    from portal.rfis.models import InformationRequest
    from portal.vocabulary import Classification

    now = dt.datetime.now(dt.timezone.utc)
    start = quarter_start(now)
    span = (now - dt.timedelta(hours=48) - start).total_seconds()
    with app.app_context():
        sender = Organisation(slug="bench-customs", name="Bench Customs", kind="government", sector="customs",
                              country="NZ")
        db.session.add(sender)
        db.session.flush()
        sender_user = User(email="sender@bench.example", organisation_id=sender.id,
                           clearance=Classification.RESTRICTED)
        db.session.add(sender_user)
        db.session.flush()
        db.session.execute(insert(User), [{"email": f"admin{n}@bench.example", "organisation_id": org_id,
                                           "clearance": Classification.IN_CONFIDENCE, "display_name": "",
                                           "session_nonce": f"{n:032d}"} for n, org_id in enumerate(org_ids)])
        users = dict(db.session.execute(select(User.organisation_id, User.id).where(
            User.organisation_id.in_(org_ids))).all())
        db.session.execute(insert(UserRole), [{"user_id": u, "role": "org-admin"} for u in users.values()])
        for n, org_id in enumerate(org_ids[::2]):
            db.session.get(Organisation, org_id).executive_email = f"ceo{n}@bench.example"
        sectors = dict(db.session.execute(select(Organisation.id, Organisation.sector).where(
            Organisation.id.in_(org_ids))).all())
        bulletin_rows, audience, acks, open_count = [], [], [], 0
        for n in range(bulletins):
            published = start + dt.timedelta(seconds=rng.random() * span)
            sector = SECTORS[n % len(SECTORS)]
            bulletin_rows.append({"author_org_id": sender.id, "title": f"Bulletin {n}", "summary": "", "body_html": "",
                                  "classification": Classification.UNCLASSIFIED, "tlp": "GREEN",
                                  "status": "published", "version": 1, "created_at": published,
                                  "published_at": published})
        ids = list(db.session.scalars(insert(Bulletin).returning(Bulletin.id, sort_by_parameter_order=True),
                                      bulletin_rows))
        for n, bulletin_id in enumerate(ids):
            sector = SECTORS[n % len(SECTORS)]
            audience.append({"bulletin_id": bulletin_id, "kind": "sector", "value": sector})
            published = bulletin_rows[n]["published_at"]
            for org_id, org_sector in sectors.items():
                if org_sector != sector:
                    continue
                if rng.random() < 0.7:
                    acks.append({"bulletin_id": bulletin_id, "organisation_id": org_id, "user_id": users[org_id],
                                 "acknowledged_at": published + dt.timedelta(hours=rng.expovariate(1 / 20))})
                else:
                    open_count += 1
        db.session.execute(insert(BulletinAudience), audience)
        for batch in range(0, len(acks), 20_000):
            db.session.execute(insert(BulletinAcknowledgement), acks[batch:batch + 20_000])
        requests, notifications = [], []
        for n in range(1000):
            asked = start + dt.timedelta(seconds=rng.random() * span)
            requests.append({"reference": f"RFI-B-{n}", "requesting_org_id": sender.id,
                             "holder_org_id": rng.choice(org_ids), "classification": Classification.IN_CONFIDENCE,
                             "subject": "", "legal_basis": "", "grounds": "", "status": "open",
                             "due_at": asked + dt.timedelta(days=7), "created_at": asked})
            notifications.append({"reference": f"DN-B-{n}", "issuing_org_id": sender.id, "destination_country": "NZ",
                                  "classification": Classification.IN_CONFIDENCE, "status": "sent",
                                  "created_at": asked})
        db.session.execute(insert(InformationRequest), requests)
        notification_ids = list(db.session.scalars(
            insert(DeporteeNotification).returning(DeporteeNotification.id, sort_by_parameter_order=True),
            notifications))
        db.session.execute(insert(DeporteeNotificationRecipient), [
            {"notification_id": i, "organisation_id": rng.choice(org_ids)} for i in notification_ids])
        db.session.commit()
    return open_count + 2000


def from_scratch(first_message: int) -> None:
    """Empty what the scorecard job writes (its sums, scores, closes, notices, reports and the outbox
    messages they sent) and put its watermark back to 0: the next run starts from scratch again."""
    from sqlalchemy import delete, text

    from portal import settings_store
    from portal.extensions import db
    from portal.outbox import Delivery, OutboxMessage
    from portal.scorecards.models import AccountabilityReport, ClosedPeriod, MonthlyActivity, Scorecard, ScorecardNotice

    db.session.execute(delete(Delivery).where(Delivery.message_id > first_message))
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.id > first_message))
    for model in (ScorecardNotice, AccountabilityReport, ClosedPeriod, Scorecard, MonthlyActivity):
        db.session.execute(delete(model))
    settings_store.write(settings_store.SCORECARD_WATERMARK, 0)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # the dead rows cleared, as autovacuum would
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("deliveries", "outbox_messages", "scorecard_notices", "accountability_reports",
                          "scorecard_closed_periods", "scorecards", "scorecard_months"):
                connection.execute(text(f"VACUUM {table}"))


@contextlib.contextmanager
def steps_timed(module, names: tuple[str, ...]):
    """Time, cumulatively, each named function of ``module`` while inside (nested calls count in
    each: the closes include their scoring and writes)."""
    totals = dict.fromkeys(names, 0.0)
    originals = {name: getattr(module, name) for name in names}

    def timed(name, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                totals[name] += time.perf_counter() - started
        return wrapper

    for name, function in originals.items():
        setattr(module, name, timed(name, function))
    try:
        yield totals
    finally:
        for name, function in originals.items():
            setattr(module, name, function)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--organisations", type=int, default=1000)
    parser.add_argument("--bulletins", type=int, default=300, help="bulletins addressed to whole sectors")
    parser.add_argument("--postgres", action="store_true", help="start a throw-away PostgreSQL (pgserver) and use it")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--rounds", type=int, default=3,
                        help="times the grouped scan and the job from scratch are timed, one after the other "
                             "(the scorecards emptied between rounds); the median ratio is reported")
    parser.add_argument("--no-vacuum", action="store_true",
                        help="PostgreSQL: ANALYZE only after the load, no VACUUM (the visibility map as the load "
                             "and autovacuum left it)")
    args = parser.parse_args()
    rng = random.Random(11)
    import tomllib
    with (ROOT / "config" / "defaults.toml").open("rb") as fh:
        scorecards = tomllib.load(fh)["scorecards"]
    # Every sector's target out of reach: every organisation closes the quarter below it (1,000 notices).
    scorecards = {**scorecards, "targets": {sector: 100 for sector in scorecards["targets"]}, "default_target": 100}
    with tempfile.TemporaryDirectory() as tmp:
        url, postgres = bl.database_for(args, Path(tmp), "bench.sqlite3")
        try:
            measure(args, url, tmp, scorecards, rng)
        finally:
            if postgres is not None:
                postgres.close()


def measure(args: argparse.Namespace, url: str, tmp: str, scorecards: dict, rng: random.Random) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from app import create_app
    from portal.activity import ActivityEvent
    from portal.extensions import db
    from portal.organisations.models import Organisation
    from portal.outbox import OutboxMessage
    from portal.scorecards import compute

    app = create_app({"env": "test", "database_url": url, "instance_path": tmp, "secret_key": "b" * 48,
                      "audit_key": "a" * 48, "scorecards": scorecards})
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
    open_items = load_items(app, org_ids, args.bulletins, rng)
    print(f"loaded {args.bulletins:,} bulletins to sectors and 2,000 other requests: "
          f"{open_items:,} items open")
    with app.app_context():
        if db.engine.dialect.name == "postgresql" and not args.no_vacuum:
            # What autovacuum does to a table after many inserts (autovacuum_vacuum_insert_threshold):
            # statistics, and the visibility map that lets an index-only scan skip the table.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM (ANALYZE) activity_events"))
                connection.execute(text("ANALYZE"))
            pages, visible = db.session.execute(text(
                "SELECT relpages, relallvisible FROM pg_class WHERE relname = 'activity_events'")).one()
            print(f"activity_events: {visible / max(pages, 1):.0%} of {pages:,} pages all-visible")
        else:
            db.session.execute(text("ANALYZE"))  # statistics, as autovacuum or a nightly ANALYZE would keep
        db.session.commit()
        # The load's writes, flushed now rather than by a checkpoint spread over the minutes of the
        # measurements (PostgreSQL: checkpoint_completion_target; SQLite: the WAL folded back).
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("CHECKPOINT"))
        else:
            db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            db.session.commit()
        statement = (select(ActivityEvent.organisation_id, ActivityEvent.kind, func.count(),
                            func.sum(ActivityEvent.value))
                     .group_by(ActivityEvent.organisation_id, ActivityEvent.kind))
        total = select(func.count(), func.sum(ActivityEvent.value), func.sum(ActivityEvent.weight))
        db.session.execute(total).all()  # once untimed: every measurement then reads a warm cache
        started = time.perf_counter()
        db.session.execute(total).all()
        plain = time.perf_counter() - started
        db.session.commit()
        started = time.perf_counter()
        counted = compute.outstanding_histograms(dt.datetime.now(dt.timezone.utc))
        outstanding = time.perf_counter() - started
        db.session.commit()
        first_message = db.session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))
        rounds = []  # (grouped scan, job, steps) of each round
        for round_ in range(args.rounds):
            if round_:
                from_scratch(first_message)
            started = time.perf_counter()
            scan = db.session.execute(statement).all()
            grouped = time.perf_counter() - started
            db.session.commit()
            with steps_timed(compute, ("_sums", "_merge", "outstanding_histograms_at", "compute_period", "upsert",
                                       "close_ended_periods")) as steps:
                started = time.perf_counter()
                written = compute.run()
                job = time.perf_counter() - started
            rounds.append((grouped, job, dict(steps)))
        cards = sum(written.values())
    # New events arrive as they happen, in the current month: the steady state of a job run every
    # few minutes, which ages the open items at one instant (now).
    load_events(app, org_ids, 10_000, args.events + 1, rng, recent=True)
    with app.app_context():
        started = time.perf_counter()
        compute.run()
        incremental = time.perf_counter() - started

        from portal.scorecards import periods
        from portal.scorecards.models import AccountabilityReport
        quarter = periods.current_quarter()
        close = periods.bounds(quarter)[1] + dt.timedelta(minutes=10)
        before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
        started = time.perf_counter()
        closed = compute.close_ended_periods(close)
        closing = time.perf_counter() - started
        notices = db.session.scalar(select(func.count()).select_from(OutboxMessage)) - before
        report = db.session.get(AccountabilityReport, quarter)
    print(f"plain aggregate scan:        {plain:7.2f} s  (count and sums over every event)")
    for n, (grouped, job, steps) in enumerate(rounds, 1):
        print(f"round {n}: grouped aggregate scan {grouped:.2f} s (GROUP BY organisation, kind: {len(scan):,} "
              f"groups), then the scorecard job from scratch {job:.2f} s: ratio {job / grouped:.2f}x")
        print("  of which: " + ", ".join(f"{label} {steps[name]:.2f} s" for name, label in (
            ("_sums", "the fold's GROUP BY"), ("_merge", "merging the sums"),
            ("outstanding_histograms_at", "open items at every instant"), ("compute_period", "scoring (Python)"),
            ("upsert", "writing sums and scores"), ("close_ended_periods", "the closes (with their scores)"))))
    ratio = statistics.median(job / grouped for grouped, job, _ in rounds)
    grouped = statistics.median(grouped for grouped, _, _ in rounds)
    job = statistics.median(job for _, job, _ in rounds)
    print(f"grouped aggregate scan:      {grouped:7.2f} s  (median of {len(rounds)} rounds)")
    print(f"scorecard job from scratch:  {job:7.2f} s  (median; {cards:,} scorecards for {', '.join(sorted(written))})")
    print(f"ratio job / grouped scan:    {ratio:7.2f}x  (median of the rounds' ratios; target <= 3x: "
          f"{'met' if ratio <= 3 else 'NOT met'})")
    print(f"ratio job / ungrouped scan:  {job / plain:7.2f}x  (for reference: a count that yields no "
          f"per-organisation figure)")
    print(f"incremental run, +10,000 events: {incremental:.2f} s")
    print(f"items open past the target:  {outstanding:7.2f} s  ({sum(sum(h) for h in counted.values()):,} items "
          f"for {len(counted):,} organisations; part of the job)")
    print(f"quarter close:               {closing:7.2f} s  ({', '.join(sorted(closed))}: "
          f"{notices:,} outbox messages (notices and the report), report of "
          f"{len(report.rows) if report else 0:,} organisations; target < 10 s: "
          f"{'met' if closing < 10 else 'NOT met'})")


if __name__ == "__main__":
    main()
