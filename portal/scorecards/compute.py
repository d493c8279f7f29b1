"""Computing scorecards from recorded activity, incrementally.

1. New activity events (id above a watermark) are summed per organisation, month, kind and
   response-time bucket in one ``GROUP BY`` and merged into ``scorecard_months``. Each event is
   read once, ever. Events younger than a short lag are left for the next run, so a transaction
   still open when the job runs is never skipped.
2. The scores of every organisation are recomputed, from those monthly sums only, for each month
   and quarter that received new events (frequency is relative to the sector, so one
   organisation's activity moves its peers' scores too). A score row is written only when a value
   changed: running the job twice changes nothing.

Scores, each 0–100 (README, "Scorecards"):

- proactiveness = 100 × unprompted shares ÷ all shares (0 when nothing was shared);
- relevance = 100 × (useful ratings + 1) ÷ (ratings + 2): recipients' ratings with a neutral prior,
  so no ratings is 50 and each useful rating moves it up;
- frequency = 100 × min(1, shares ÷ the sector's median shares in the period) (100 when the median
  is 0 and the organisation shared; 0 when it did not);
- responsiveness = 100 × T ÷ max(T, median hours to respond), T = ``response_target_hours``
  (50 when there was nothing to respond to);
- overall = the weighted mean of the four (``[scorecards.weights]``).
"""
from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, text, update

from portal import settings_store
from portal.activity import ActivityEvent
from portal.config import settings
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.scorecards.models import RESPONSE_BUCKETS, MonthlyActivity, Scorecard
from portal.types import utcnow

LAG = dt.timedelta(minutes=2)
BULK = 50_000  # more new events than this: read them through the covering index
DIMENSIONS = ("proactiveness", "relevance", "frequency", "responsiveness")


def _scorecards() -> Any:
    return settings().scorecards


# --- Periods ---------------------------------------------------------------------------------

def month_key(month: int) -> str:
    return f"{month // 100}-{month % 100:02d}"


def quarter_key(month: int) -> str:
    return f"{month // 100}-Q{(month % 100 - 1) // 3 + 1}"


def months_of(period: str) -> list[int]:
    """``2026-Q4`` → [202610, 202611, 202612]; ``2026-11`` → [202611]. ValueError for anything else."""
    match = re.fullmatch(r"(\d{4})-(?:Q([1-4])|(0[1-9]|1[0-2]))", period or "")
    if not match:
        raise ValueError(f"not a period: {period!r}")
    year = int(match.group(1))
    if match.group(2):
        first = (int(match.group(2)) - 1) * 3 + 1
        return [year * 100 + m for m in range(first, first + 3)]
    return [year * 100 + int(match.group(3))]


def current_quarter(now: dt.datetime | None = None) -> str:
    now = (now or utcnow()).astimezone(dt.timezone.utc)
    return quarter_key(now.year * 100 + now.month)


def recent_months(count: int, now: dt.datetime | None = None) -> list[int]:
    now = (now or utcnow()).astimezone(dt.timezone.utc)
    out, year, month = [], now.year, now.month
    for _ in range(count):
        out.append(year * 100 + month)
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(out))


# --- Step 1: fold new events into monthly sums -------------------------------------------------

def fold_new_events(now: dt.datetime | None = None) -> set[int]:
    """Merge events above the watermark into monthly sums; return the months touched."""
    now = now or utcnow()
    last = settings_store.read(settings_store.SCORECARD_WATERMARK)
    blocker = db.session.scalar(select(func.min(ActivityEvent.id)).where(
        ActivityEvent.id > last, ActivityEvent.at >= now - LAG))
    upper = blocker - 1 if blocker is not None else db.session.scalar(select(func.max(ActivityEvent.id)))
    if upper is None or upper <= last:
        return set()
    # A small batch is found by its id range. On SQLite a large backlog (a first run, a recount) is
    # better read by walking the covering index in GROUP BY order than by sorting every row: "id + 0"
    # keeps it from choosing the id range. PostgreSQL hashes in parallel; the trick would only spoil
    # its estimates (measured: twice as slow).
    dialect = db.session.get_bind().dialect.name
    bulk = upper - last > BULK and dialect == "sqlite"
    event_id = ActivityEvent.id + 0 if bulk else ActivityEvent.id
    if dialect == "postgresql" and upper - last > BULK:
        # Room for the hash aggregate of a large backlog in memory, for this transaction only.
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))
    rows = db.session.execute(
        select(ActivityEvent.organisation_id, ActivityEvent.month, ActivityEvent.kind, ActivityEvent.bucket,
               func.sum(ActivityEvent.weight), func.sum(ActivityEvent.weight * func.coalesce(ActivityEvent.value, 0)))
        .where(event_id > last, event_id <= upper)
        .group_by(ActivityEvent.organisation_id, ActivityEvent.month, ActivityEvent.kind, ActivityEvent.bucket)).all()
    months = {r[1] for r in rows}
    orgs = {r[0] for r in rows}
    table = MonthlyActivity.__table__
    # Plain rows and bulk statements: thousands of sums change per run, and the ORM's per-object
    # bookkeeping would cost more than the scan.
    existing = {(r.organisation_id, r.month): dict(r._mapping) for r in db.session.execute(
        select(table).where(table.c.month.in_(months or {0}), table.c.organisation_id.in_(orgs or {0})))}
    fresh: dict[tuple[int, int], dict[str, Any]] = {}
    touched: set[tuple[int, int]] = set()
    for org_id, month, kind, bucket_index, weight, weighted in rows:
        key = (org_id, month)
        row = existing.get(key) or fresh.get(key)
        if row is None:
            row = fresh[key] = {"organisation_id": org_id, "month": month, "shares": 0, "reactive_shares": 0,
                                "ratings": 0, "useful_ratings": 0.0, "responses": [0] * (len(RESPONSE_BUCKETS) + 1)}
        touched.add(key)
        weight, weighted = int(weight or 0), float(weighted or 0)
        if kind == "share":
            row["shares"] += weight
        elif kind == "share-reactive":
            row["reactive_shares"] += weight
        elif kind == "rating":
            row["ratings"] += weight
            row["useful_ratings"] += weighted
        elif kind == "response":
            histogram = list(row["responses"] or [0] * (len(RESPONSE_BUCKETS) + 1))
            histogram[int(bucket_index)] += weight
            row["responses"] = histogram
    if fresh:
        db.session.execute(insert(MonthlyActivity), list(fresh.values()))
    changed = [existing[key] for key in touched if key in existing]
    if changed:
        db.session.execute(update(MonthlyActivity), changed)  # by primary key, batched
    settings_store.write(settings_store.SCORECARD_WATERMARK, upper)
    return months


# --- Step 2: scores from monthly sums ----------------------------------------------------------

@dataclass
class Totals:
    shares: int = 0
    reactive: int = 0
    ratings: int = 0
    useful: float = 0.0
    histogram: list[int] = field(default_factory=lambda: [0] * (len(RESPONSE_BUCKETS) + 1))


def median_hours(histogram: list[int]) -> float | None:
    """The median response time, interpolated within its histogram bucket."""
    total = sum(histogram)
    if total <= 0:
        return None
    half, seen, lower = total / 2, 0, 0.0
    for index, count in enumerate(histogram):
        upper = RESPONSE_BUCKETS[index] if index < len(RESPONSE_BUCKETS) else RESPONSE_BUCKETS[-1] * 2
        if count and seen + count >= half:
            return lower + (upper - lower) * (half - seen) / count
        seen += count
        lower = upper
    return RESPONSE_BUCKETS[-1] * 2


def scores(totals: Totals, sector_median: float, target_hours: float, weights: dict[str, float]) -> dict[str, Any]:
    shared = totals.shares + totals.reactive
    proactiveness = 100.0 * totals.shares / shared if shared else 0.0
    relevance = 100.0 * (totals.useful + 1) / (totals.ratings + 2)
    if shared == 0:
        frequency = 0.0
    elif sector_median <= 0:
        frequency = 100.0
    else:
        frequency = 100.0 * min(1.0, shared / sector_median)
    median = median_hours(totals.histogram)
    responsiveness = 50.0 if median is None else 100.0 * target_hours / max(target_hours, median)
    values = {"proactiveness": proactiveness, "relevance": relevance, "frequency": frequency,
              "responsiveness": responsiveness}
    weight_sum = sum(weights.get(d, 1) for d in DIMENSIONS) or 1
    values["overall"] = sum(values[d] * weights.get(d, 1) for d in DIMENSIONS) / weight_sum
    out: dict[str, Any] = {k: round(v, 1) for k, v in values.items()}
    out.update(shares=shared, ratings=totals.ratings, responses=sum(totals.histogram),
               median_response_hours=round(median, 2) if median is not None else None)
    return out


def compute_period(period: str) -> dict[int, dict[str, Any]]:
    """Every active organisation's scores for a period, from the monthly sums (no writes)."""
    rules = _scorecards()
    totals: dict[int, Totals] = defaultdict(Totals)
    table = MonthlyActivity.__table__
    for row in db.session.execute(select(table).where(table.c.month.in_(months_of(period)))):
        t = totals[row.organisation_id]
        t.shares += row.shares
        t.reactive += row.reactive_shares
        t.ratings += row.ratings
        t.useful += row.useful_ratings
        if row.responses:
            t.histogram = [a + b for a, b in zip(t.histogram, row.responses, strict=True)]
    orgs = db.session.execute(select(Organisation.id, Organisation.sector).where(Organisation.active.is_(True))).all()
    by_sector: dict[str, list[int]] = defaultdict(list)
    for org_id, sector in orgs:
        t = totals.get(org_id)
        by_sector[sector].append((t.shares + t.reactive) if t else 0)
    medians = {sector: statistics.median(values) for sector, values in by_sector.items()}
    weights = {k: float(v) for k, v in dict(rules["weights"]).items()}
    target = float(rules["response_target_hours"])
    return {org_id: scores(totals.get(org_id) or Totals(), medians[sector], target, weights)
            for org_id, sector in orgs}


def store_period(period: str, now: dt.datetime | None = None) -> int:
    """Write the period's scores; only rows whose values changed. Returns how many were written."""
    now = now or utcnow()
    computed = compute_period(period)
    table = Scorecard.__table__
    existing = {r.organisation_id: dict(r._mapping) for r in db.session.execute(
        select(table).where(table.c.period == period))}
    new_rows, changed = [], []
    for org_id, values in computed.items():
        row = existing.get(org_id)
        if row is not None and all(row[k] == v for k, v in values.items()):
            continue
        record = {"organisation_id": org_id, "period": period, **values, "computed_at": now}
        (changed if row is not None else new_rows).append(record)
    if new_rows:
        db.session.execute(insert(Scorecard), new_rows)
    if changed:
        db.session.execute(update(Scorecard), changed)  # by primary key, batched
    written = len(new_rows) + len(changed)
    return written


def run(now: dt.datetime | None = None) -> dict[str, int]:
    """The scheduled job: fold new events, then rescore the periods they touched."""
    months = fold_new_events(now)
    periods = {month_key(m) for m in months} | {quarter_key(m) for m in months}
    written = {period: store_period(period, now) for period in sorted(periods)}
    db.session.commit()
    return written


def scorecard_for(organisation_id: int, period: str) -> dict[str, Any]:
    """The stored scorecard, or (for a period with no activity yet) the same computation unstored."""
    row = db.session.get(Scorecard, (organisation_id, period))
    if row is not None:
        values = {k: getattr(row, k) for k in (*DIMENSIONS, "overall", "shares", "ratings", "responses",
                                               "median_response_hours")}
        values["computed_at"] = row.computed_at
        return values
    values = compute_period(period).get(organisation_id) or scores(Totals(), 0, float(
        _scorecards()["response_target_hours"]), {})
    values["computed_at"] = None
    return values


def period_scores(period: str) -> dict[int, dict[str, Any]]:
    """Every organisation's scores for a period: the stored rows when the job has scored it (one
    query), else the same computation unstored."""
    rows = db.session.scalars(select(Scorecard).where(Scorecard.period == period)).all()
    active = db.session.scalar(select(func.count()).select_from(Organisation).where(Organisation.active.is_(True)))
    if len({row.organisation_id for row in rows}) < (active or 0):  # not scored yet, or new organisations
        return compute_period(period)
    keys = (*DIMENSIONS, "overall", "shares", "ratings", "responses", "median_response_hours")
    return {row.organisation_id: {k: getattr(row, k) for k in keys} for row in rows}


def target_for(sector: str) -> float:
    rules = _scorecards()
    return float(dict(rules["targets"]).get(sector, rules.get("default_target", 50)))
