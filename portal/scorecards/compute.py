"""Computing scorecards from recorded activity, incrementally.

1. New activity events (id above a watermark) are summed per organisation, month, kind and
   response-time bucket in one ``GROUP BY`` and merged into ``scorecard_months``. Each event is
   read once, ever. The watermark stops at the last event recorded ``SETTLE`` ago
   (``settled_upper``): ids are not handed out in commit order, and an event whose transaction is
   still open when the job runs is never passed over.
2. The scores of every organisation are recomputed, from those monthly sums and the items still
   open, for the current month, quarter and financial year and for any other open period that
   received new events (frequency is relative to the sector, so one organisation's activity moves
   its peers' scores too). A score row is written only when a value changed: running the job twice
   changes nothing.
3. A period that has ended is closed once: scored with open items at their age at its end, then
   frozen (only ``scorecards recompute`` changes it); a quarter's close sends the notices and keeps
   the accountability report (``portal/scorecards/consequences.py``).

Scores, each 0–100 (README, "Scorecards"):

- proactiveness = 100 × unprompted shares ÷ all shares (0 when nothing was shared);
- relevance = 100 × (useful ratings + 1) ÷ (ratings + 2): recipients' ratings with a neutral prior,
  so no ratings is 50 and each useful rating moves it up;
- frequency = 100 × min(1, shares ÷ the sector's median shares in the period) (100 when the median
  is 0 and the organisation shared; 0 when it did not);
- responsiveness = 100 × T ÷ max(T, median hours to respond), T = ``response_target_hours``,
  where an item still open past T counts as a response at its current age (at the close, for a
  closed period: ``portal/scorecards/outstanding.py``); 50 when there was nothing to respond to;
- overall = the weighted mean of the four (``[scorecards.weights]``).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import logging
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, SmallInteger, bindparam, delete, func, or_, select, text, type_coerce, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from portal import settings_store
from portal.activity import KIND_CODES, ActivityEvent
from portal.config import settings
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.scorecards import consequences, outstanding, periods
from portal.scorecards.models import RESPONSE_BUCKETS, ClosedPeriod, MonthlyActivity, Scorecard
from portal.scorecards.periods import month_key, months_of, quarter_key, recent_months  # noqa: F401  (re-exported)
from portal.types import utcnow

#: A transaction that records activity commits within this long of recording it.
LAG = dt.timedelta(minutes=2)
#: Events recorded this recently are left for the next run (``settled_upper``).
SETTLE = 2 * LAG
log = logging.getLogger(__name__)

BULK = 50_000  # more new events than this: read them through the covering index
DIMENSIONS = ("proactiveness", "relevance", "frequency", "responsiveness")
SHARE, SHARE_REACTIVE, RATING, RESPONSE = (KIND_CODES[k] for k in ("share", "share-reactive", "rating", "response"))
SCORE_KEYS = (*DIMENSIONS, "overall", "shares", "ratings", "responses", "median_response_hours", "open_items")


def _scorecards() -> Any:
    return settings().scorecards


# --- Periods (portal/scorecards/periods.py) ----------------------------------------------------

def current_quarter(now: dt.datetime | None = None) -> str:
    return periods.current_quarter(now)


# --- Step 1: fold new events into monthly sums -------------------------------------------------

def settled_upper(last: int, now: dt.datetime) -> int | None:
    """The highest event id below which every event is committed and visible: the largest id
    above ``last`` among events recorded at least ``SETTLE`` before ``now`` (None: none yet).

    Ids are handed out when an event is inserted, not when its transaction commits: on PostgreSQL
    an open transaction can hold id 100 while id 101 is already committed and visible, so neither
    "the lowest recent id minus one" nor "the highest visible id" is a safe watermark — the event
    that commits later would fall below it and never be counted. A transaction commits within
    ``LAG`` of recording its events, so one recorded ``SETTLE`` (twice ``LAG``) ago was given its id
    more than ``LAG`` ago, before any event of a transaction still open now: every id up to it is
    committed, or was rolled back for good. (SQLite has one writer at a time; the rule holds there
    too.)"""
    return db.session.scalar(select(ActivityEvent.id).where(ActivityEvent.id > last,
                                                            ActivityEvent.at < now - SETTLE)
                             .order_by(ActivityEvent.id.desc()).limit(1))


def fold_new_events(now: dt.datetime | None = None) -> set[int]:
    """Merge events above the watermark, up to ``settled_upper``, into monthly sums; return the
    months touched. Events recorded in the last ``SETTLE`` wait for a later run."""
    now = now or utcnow()
    last = settings_store.read(settings_store.SCORECARD_WATERMARK)
    upper = settled_upper(last, now)
    if upper is None:
        return set()
    # New events are found by their id range and hashed. A large backlog that is most of the table
    # (a first run, a recount) is cheaper summed by walking the covering index in GROUP BY order,
    # reading no table rows and sorting nothing: on SQLite "id + 0" keeps the planner from choosing
    # the id range and sorting every row; on PostgreSQL the walk reads the index alone only where
    # the table's pages are marked all-visible (as vacuum leaves them) — elsewhere a parallel hash
    # aggregate, given room in memory, is cheaper.
    dialect = db.session.get_bind().dialect.name
    most = upper - last > BULK and 2 * (upper - last) >= upper  # ids count the rows, give or take gaps
    walk = most and (dialect == "sqlite" or _all_visible() >= 0.9)
    event_id = ActivityEvent.id + 0 if walk and dialect == "sqlite" else ActivityEvent.id
    if most and dialect == "postgresql":  # for this statement (reset below)
        db.session.execute(text("SET LOCAL enable_hashagg = off" if walk else "SET LOCAL work_mem = '64MB'"))
    rows = _sums(event_id > last, event_id <= upper)
    if most and dialect == "postgresql":
        db.session.execute(text("SET LOCAL enable_hashagg = DEFAULT" if walk else "SET LOCAL work_mem = DEFAULT"))
    # Moving the watermark first claims these events: another run (a second scheduler, a run-once)
    # that read the same watermark loses here and adds nothing; its sums would count them twice.
    if not settings_store.compare_and_set(settings_store.SCORECARD_WATERMARK, last, upper):
        db.session.rollback()
        log.info("scorecards: another run folded events %s-%s meanwhile; nothing folded here", last + 1, upper)
        return set()
    return _merge(rows)


def _sums(*criteria: Any) -> list[Any]:
    """``(organisation, month, kind code, bucket, Σweight, Σweight×value)`` of the events that meet
    ``criteria``: one GROUP BY, run as a plain Core statement (tens of thousands of rows: no ORM
    bookkeeping, the kind left as its code)."""
    events = ActivityEvent.__table__
    kind = type_coerce(events.c.kind, SmallInteger)
    return db.session.connection().execute(
        select(events.c.organisation_id, events.c.month, kind, events.c.bucket,
               func.sum(events.c.weight), func.sum(events.c.weight * events.c.value))  # NULL where no value
        .where(*criteria)
        .group_by(events.c.organisation_id, events.c.month, events.c.kind, events.c.bucket)).all()


def upsert(table: Any, rows: list[dict[str, Any]], keys: tuple[str, ...], only_changed: bool = False) -> int:
    """Insert ``rows`` into ``table``, or update the row with the same ``keys`` (``INSERT … ON
    CONFLICT DO UPDATE``). ``only_changed``: a row whose values are all the same is left as it is
    (``computed_at`` and all), and not counted. Returns how many rows were written.

    PostgreSQL gets one statement for all the rows, each column sent as one array and unnested —
    thousands of rows for the price of one; a statement per row, even pipelined, or thousands of
    parameters in a long VALUES list each cost more than the scan they follow. SQLite runs in the
    process: one prepared statement, executed per row."""
    if not rows:
        return 0
    columns = list(rows[0])
    values = [c for c in columns if c not in keys]
    compared = [c for c in values if c != "computed_at"] if only_changed else []
    connection = db.session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        statement = sqlite_insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys], set_={c: statement.excluded[c] for c in values},
            where=or_(*(table.c[c].is_distinct_from(statement.excluded[c]) for c in compared)) if compared else None)
        return connection.execute(statement, rows).rowcount
    params: dict[str, Any] = {}
    arrays, selected = [], []
    for n, column in enumerate(columns):
        kind = table.c[column].type
        given = [row[column] for row in rows]
        if isinstance(kind, JSON):
            given = [json.dumps(value) for value in given]
        elif process := kind.bind_processor(dialect):  # once per distinct value (computed_at: one)
            done = {value: process(value) for value in set(given)}
            given = [done[value] for value in given]
        params[f"a{n}"] = _array_literal(given)
        sql_type = "text" if isinstance(kind, JSON) else kind.compile(dialect=dialect)
        arrays.append(f"%(a{n})s::{sql_type}[]")
        selected.append(f"{column}::json" if isinstance(kind, JSON) else column)
    where = (" WHERE " + " OR ".join(f"{table.name}.{c} IS DISTINCT FROM excluded.{c}" for c in compared)
             if compared else "")
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
           f"SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)}) AS given({', '.join(columns)}) "
           f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in values)}"
           f"{where}")
    return connection.exec_driver_sql(sql, params).rowcount  # inserted or updated


def _array_literal(values: list[Any]) -> str:
    """A PostgreSQL array literal (``{1,NULL,"2026-Q4"}``) of numbers, text or timestamps, cast by
    the statement: built here in one pass, where the driver would adapt every element on its own.
    A column of numbers (most of them) is written by ``json.dumps``, in C (``null`` is PostgreSQL's
    NULL too, floats as Python writes them); other values are quoted once per distinct value."""
    if set(map(type, values)) <= _NUMBERS:
        return "{" + json.dumps(values)[1:-1] + "}"

    def element(value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, (int, float)):
            return repr(value)
        text_value = value.isoformat(" ") if isinstance(value, dt.datetime) else str(value)
        return '"' + text_value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    quoted = {value: element(value) for value in set(values)}
    return "{" + ",".join(map(quoted.__getitem__, values)) + "}"


_NUMBERS = {int, float, bool, type(None)}


def _all_visible() -> float:
    """PostgreSQL: the share of ``activity_events``' pages marked all-visible (vacuum's visibility
    map), where an index-only scan need not visit the table."""
    pages, visible = db.session.execute(text(
        "SELECT relpages, relallvisible FROM pg_class WHERE oid = 'activity_events'::regclass")).one()
    return visible / pages if pages > 0 else 0.0


def _merge(rows: list[Any]) -> set[int]:
    """Add grouped sums ``(organisation, month, kind code, bucket, Σweight, Σweight×value)`` into
    ``scorecard_months``; return the months touched."""
    months = {r[1] for r in rows}
    orgs = {r[0] for r in rows}
    table = MonthlyActivity.__table__
    width = len(RESPONSE_BUCKETS) + 1
    # Plain lists and Core statements: tens of thousands of sums per run from scratch, and the
    # ORM's per-row bookkeeping would cost more than the scan.
    existing = {(org_id, month): [shares, reactive, ratings, useful, list(responses or [0] * width)]
                for org_id, month, shares, reactive, ratings, useful, responses in db.session.connection().execute(
                    select(table.c.organisation_id, table.c.month, table.c.shares, table.c.reactive_shares,
                           table.c.ratings, table.c.useful_ratings, table.c.responses)
                    .where(table.c.month.in_(months or {0}), table.c.organisation_id.in_(orgs or {0})))}
    touched: dict[tuple[int, int], list[Any]] = {}
    for org_id, month, kind, bucket_index, weight, weighted in rows:
        key = (org_id, month)
        row = touched.get(key)
        if row is None:
            row = touched[key] = existing.get(key) or [0, 0, 0, 0.0, [0] * width]
        weight = int(weight or 0)
        if kind == SHARE:
            row[0] += weight
        elif kind == SHARE_REACTIVE:
            row[1] += weight
        elif kind == RATING:
            row[2] += weight
            row[3] += float(weighted or 0)
        elif kind == RESPONSE:
            row[4][int(bucket_index)] += weight
    upsert(table, [{"organisation_id": org_id, "month": month, "shares": shares, "reactive_shares": reactive,
                    "ratings": ratings, "useful_ratings": useful, "responses": responses}
                   for (org_id, month), (shares, reactive, ratings, useful, responses) in touched.items()],
           keys=("organisation_id", "month"))
    return months


class ConcurrentRun(RuntimeError):
    """Another run moved the scorecards' watermark while this one worked: nothing was changed."""


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


def outstanding_histograms(at: dt.datetime) -> dict[int, list[int]]:
    """Per organisation, its items open at ``at`` past the target time, as response-time counts
    (one grouped statement: ``outstanding.open_histograms``)."""
    return outstanding.open_histograms(at, float(_scorecards()["response_target_hours"]), RESPONSE_BUCKETS)


def outstanding_histograms_at(instants: Iterable[dt.datetime]) -> dict[dt.datetime, dict[int, list[int]]]:
    """``outstanding_histograms`` for several instants at once: each item read once, in one
    statement (``outstanding.open_histograms_at``)."""
    return outstanding.open_histograms_at(list(instants), float(_scorecards()["response_target_hours"]),
                                          RESPONSE_BUCKETS)


def as_of(period: str, now: dt.datetime) -> dt.datetime | None:
    """The instant at which a period's open items are aged: now while it runs, its end once it has
    ended; None before it starts."""
    start, end = periods.bounds(period)
    if now < start:
        return None
    return min(now, end)


def monthly_sums(months: Iterable[int]) -> dict[int, dict[int, Totals]]:
    """``{month: {organisation: Totals}}`` from ``scorecard_months``: read once per run and shared
    by every period scored in it (a month, its quarter and its financial year hold the same rows)."""
    table = MonthlyActivity.__table__
    out: dict[int, dict[int, Totals]] = {month: {} for month in months}
    for org_id, month, shares, reactive, ratings, useful, responses in db.session.connection().execute(
            select(table.c.organisation_id, table.c.month, table.c.shares, table.c.reactive_shares, table.c.ratings,
                   table.c.useful_ratings, table.c.responses).where(table.c.month.in_(list(out)))):
        out[month][org_id] = Totals(shares, reactive, ratings, useful,
                                    list(responses) if responses else [0] * (len(RESPONSE_BUCKETS) + 1))
    return out


def compute_period(period: str, now: dt.datetime | None = None, open_items: dict[int, list[int]] | None = None,
                   sums: dict[int, dict[int, Totals]] | None = None) -> dict[int, dict[str, Any]]:
    """Every active organisation's scores for a period, from the monthly sums and the items open
    (no writes). ``open_items``: the histograms at the period's ``as_of`` instant, if known;
    ``sums``: ``monthly_sums`` of (at least) the period's months, if read already."""
    now = now or utcnow()
    rules = _scorecards()
    months = months_of(period)
    if sums is None or any(month not in sums for month in months):
        sums = monthly_sums(months)
    totals: dict[int, Totals] = {}
    for month in months:
        for org_id, m in sums[month].items():
            t = totals.get(org_id)
            if t is None:
                totals[org_id] = Totals(m.shares, m.reactive, m.ratings, m.useful, list(m.histogram))
                continue
            t.shares += m.shares
            t.reactive += m.reactive
            t.ratings += m.ratings
            t.useful += m.useful
            t.histogram = [a + b for a, b in zip(t.histogram, m.histogram, strict=True)]
    if open_items is None:
        at = as_of(period, now)
        open_items = outstanding_histograms(at) if at is not None else {}
    orgs = db.session.connection().execute(
        select(Organisation.id, Organisation.sector).where(Organisation.active.is_(True))).all()
    by_sector: dict[str, list[int]] = defaultdict(list)
    for org_id, sector in orgs:
        t = totals.get(org_id)
        by_sector[sector].append((t.shares + t.reactive) if t else 0)
    medians = {sector: statistics.median(values) for sector, values in by_sector.items()}
    weights = {k: float(v) for k, v in dict(rules["weights"]).items()}
    target = float(rules["response_target_hours"])
    out = {}
    for org_id, sector in orgs:
        t = totals.get(org_id) or Totals()
        late = open_items.get(org_id)
        if late:
            t = Totals(t.shares, t.reactive, t.ratings, t.useful, [a + b for a, b in zip(t.histogram, late, strict=True)])
        values = scores(t, medians[sector], target, weights)
        values["open_items"] = sum(late) if late else 0
        out[org_id] = values
    return out


def is_closed(period: str) -> bool:
    return db.session.get(ClosedPeriod, period) is not None


def store_period(period: str, now: dt.datetime | None = None, open_items: dict[int, list[int]] | None = None,
                 force: bool = False, sums: dict[int, dict[int, Totals]] | None = None) -> int:
    """Write the period's scores; only rows whose values changed. A closed period is left as it is
    unless ``force`` (an explicit recompute). Returns how many rows were written."""
    now = now or utcnow()
    if not force and is_closed(period):
        return 0
    computed = compute_period(period, now, open_items, sums)
    return upsert(Scorecard.__table__, [{"organisation_id": org_id, "period": period, **values, "computed_at": now}
                                        for org_id, values in computed.items()],
                  keys=("organisation_id", "period"), only_changed=True)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the job's few seconds: a run from scratch keeps
    tens of thousands of sums and scores alive, and each full collection it set off would walk
    every object of the process (0.2–0.35 s a run, timed with ``gc.callbacks``) to free no cycle
    (the job makes none that matter). Reference counting frees everything as usual; the collector
    is back on, as it was, when the job ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run(now: dt.datetime | None = None) -> dict[str, int]:
    """The scheduled job: fold new events, rescore the open periods (current ones always: open items
    age), then close the periods that have ended. Returns the periods written and how many rows."""
    with _collector_paused():
        return _run(now)


def _run(now: dt.datetime | None) -> dict[str, int]:
    now = now or utcnow()
    months = fold_new_events(now)
    current = {periods.current(kind, now) for kind in periods.KINDS}
    # A period this run closes is scored once, at its close, not also before it.
    touched = {key for m in months for key in periods.keys_of(m)} | current
    closing = _to_close(now)
    touched -= set(closing)
    # The monthly sums of every period scored here, read once.
    sums = monthly_sums({month for period in touched | set(closing) for month in months_of(period)})
    # Open items by the instant they are aged at (now, and the end of each period closed here), all
    # counted in one statement.
    instants = {as_of(period, now) for period in touched} | {periods.bounds(period)[1] for period in closing
                                                             if _started(period)}
    aged = outstanding_histograms_at(at for at in instants if at is not None)
    written = {}
    for period in sorted(touched):
        at = as_of(period, now)
        written[period] = store_period(period, now, aged.get(at, {}), sums=sums)
    db.session.commit()
    for period, count in close_ended_periods(now, aged, sums).items():
        written[period] = written.get(period, 0) + count
    return {period: n for period, n in written.items() if n}


def _to_close(now: dt.datetime) -> dict[str, str]:
    """The last ended month, quarter and financial year not closed yet: ``{period: kind}``."""
    out = {}
    for kind in periods.KINDS:
        period = periods.last_closed(kind, now)
        # Every event recorded before its end is folded once the end is SETTLE past (settled_upper).
        if periods.bounds(period)[1] <= now - SETTLE and not is_closed(period):
            out[period] = kind
    return out


def _started(period: str) -> bool:
    """Whether anything was recorded by the end of the period: before that (the portal not yet in
    use) nothing can be open, and a period that ended then closes quietly."""
    first = db.session.scalar(select(func.min(MonthlyActivity.month)))
    return first is not None and first <= months_of(period)[-1]


def close_ended_periods(now: dt.datetime | None = None,
                        aged: dict[dt.datetime, dict[int, list[int]]] | None = None,
                        sums: dict[int, dict[int, Totals]] | None = None) -> dict[str, int]:
    """Close the last ended month, quarter and financial year, once each (a second run, or a second
    scheduler, finds them closed). Each close commits on its own. ``aged``: open items already
    counted at some instants (a quarter and its last month end together); ``sums``: the monthly
    sums, if read already."""
    now = now or utcnow()
    aged = {} if aged is None else aged
    written: dict[str, int] = {}
    closing = _to_close(now)
    if sums is None:
        sums = monthly_sums({month for period in closing for month in months_of(period)})
    for period, kind in closing.items():
        _, end = periods.bounds(period)
        try:
            db.session.add(ClosedPeriod(period=period, ends_at=end, closed_at=now))
            db.session.flush()
            if end not in aged:
                aged[end] = outstanding_histograms(end) if _started(period) else {}
            written[period] = store_period(period, now, aged[end], force=True, sums=sums)
            consequences.period_closed(period, kind, now)
            db.session.commit()
        except IntegrityError:  # closed meanwhile by another process
            db.session.rollback()
    return written


# --- Recounting a period in the reporting time zone ----------------------------------------------

def recompute(period: str, now: dt.datetime | None = None) -> dict[str, int]:
    """Recount a period from its events: each event near a month boundary is put in its reporting
    month, the monthly sums of every month concerned are rebuilt from the events already folded,
    and every period holding those months is rescored (closed ones too). Running it again changes
    nothing. Returns the periods written and how many rows."""
    now = now or utcnow()
    months = set(months_of(period))
    start, end = periods.bounds(period)
    last = settings_store.read(settings_store.SCORECARD_WATERMARK)
    tz = periods.zone()
    boundaries = [periods.bounds(periods.month_key(m))[0] for m in sorted(months)] + [end]
    margin = dt.timedelta(days=2)  # any two time zones' months begin within 26 hours of each other
    moves = []
    for boundary in boundaries:
        for event_id, at, month in db.session.execute(
                select(ActivityEvent.id, ActivityEvent.at, ActivityEvent.month)
                .where(ActivityEvent.at >= boundary - margin, ActivityEvent.at < boundary + margin,
                       ActivityEvent.id <= last)):
            right = periods.month_of(at, tz)
            if right != month:
                moves.append({"event_id": event_id, "right": right})
                months |= {month, right}
    # The sums are rebuilt from the events up to the watermark read above: a fold committed since
    # then would have added later events to sums this deletes. Hold the watermark (its first write)
    # or stop.
    if not settings_store.compare_and_set(settings_store.SCORECARD_WATERMARK, last, last):
        db.session.rollback()
        raise ConcurrentRun("The scorecard job folded new events meanwhile; nothing was changed. Run it again.")
    if moves:
        table = ActivityEvent.__table__
        db.session.execute(update(table).where(table.c.id == bindparam("event_id")).values(month=bindparam("right")),
                           moves)
    db.session.execute(delete(MonthlyActivity).where(MonthlyActivity.month.in_(months)))
    _merge(_sums(ActivityEvent.month.in_(months), ActivityEvent.id <= last))
    affected = {period} | {key for m in months for key in periods.keys_of(m)}
    written = {p: store_period(p, now, force=True) for p in sorted(affected) if as_of(p, now) is not None}
    db.session.commit()
    return written


def scorecard_for(organisation_id: int, period: str) -> dict[str, Any]:
    """The stored scorecard, or (for a period with no activity yet) the same computation unstored."""
    row = db.session.get(Scorecard, (organisation_id, period))
    if row is not None:
        values = {k: getattr(row, k) for k in SCORE_KEYS}
        values["computed_at"] = row.computed_at
        return values
    values = compute_period(period).get(organisation_id) or {
        **scores(Totals(), 0, float(_scorecards()["response_target_hours"]), {}), "open_items": 0}
    values["computed_at"] = None
    return values


def period_scores(period: str) -> dict[int, dict[str, Any]]:
    """Every organisation's scores for a period: the stored rows when the job has scored it (one
    query), else the same computation unstored."""
    rows = db.session.scalars(select(Scorecard).where(Scorecard.period == period)).all()
    active = db.session.scalar(select(func.count()).select_from(Organisation).where(Organisation.active.is_(True)))
    if len({row.organisation_id for row in rows}) < (active or 0):  # not scored yet, or new organisations
        return compute_period(period)
    return {row.organisation_id: {k: getattr(row, k) for k in SCORE_KEYS} for row in rows}


def target_for(sector: str) -> float:
    rules = _scorecards()
    return float(dict(rules["targets"]).get(sector, rules.get("default_target", 50)))
