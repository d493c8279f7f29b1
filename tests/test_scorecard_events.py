"""Which activity events a scorecard run folds into the monthly sums (its watermark), on a
controlled clock: each event exactly once, however transactions interleave.

On PostgreSQL an event's id is handed out when it is inserted, not when its transaction commits:
a later id can be committed and visible while an earlier one is still open. Those tests hold a
second connection's transaction open while the job runs (SQLite has one writer at a time, so the
interleaving cannot happen there).
"""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, insert, select

from portal import activity, settings_store
from portal.activity import ActivityEvent
from portal.extensions import db
from portal.scorecards import compute, periods
from portal.scorecards.models import MonthlyActivity, Scorecard
from portal.types import utcnow

postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def org(world):
    return world.org("harbour-bank")


def _folded_shares(org_id: int) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(MonthlyActivity.shares), 0))
                             .where(MonthlyActivity.organisation_id == org_id))


def _held_open(org_id: int, at: dt.datetime):
    """A share recorded at ``at`` by another connection whose transaction stays open: its id is
    taken now, its row is invisible until ``commit``."""
    connection = db.engine.connect()
    transaction = connection.begin()
    event_id = connection.execute(insert(ActivityEvent).values(
        organisation_id=org_id, kind="share", at=at, month=activity.month_of(at), weight=1, bucket=-1)
        .returning(ActivityEvent.id)).scalar_one()
    return connection, transaction, event_id


def _record_share(org_id: int, at: dt.datetime) -> int:
    activity.record(org_id, "share", at=at)
    db.session.flush()
    event_id = db.session.scalar(select(func.max(ActivityEvent.id)))
    db.session.commit()
    return event_id


@postgresql_only
def test_an_earlier_id_committed_after_a_later_one_is_folded_once(org):
    now = utcnow()
    connection, transaction, early = _held_open(org.id, now - dt.timedelta(seconds=30))
    late = _record_share(org.id, now - dt.timedelta(seconds=20))
    assert early < late  # the open transaction holds the lower id
    compute.run(now=now)  # while it is still open
    transaction.commit()
    connection.close()
    compute.run(now=now + dt.timedelta(minutes=10))
    assert _folded_shares(org.id) == 2
    compute.run(now=now + dt.timedelta(minutes=20))
    assert _folded_shares(org.id) == 2


@postgresql_only
def test_an_open_event_is_not_passed_by_an_older_one_inserted_after_it(org):
    """A transaction that recorded its event (the ``at``) just before the lag and inserted it after
    an event still open: no recent visible event, yet a higher id than the open one."""
    now = utcnow()
    connection, transaction, open_id = _held_open(org.id, now - compute.LAG + dt.timedelta(seconds=5))
    committed = _record_share(org.id, now - compute.LAG - dt.timedelta(seconds=1))
    assert open_id < committed
    compute.run(now=now)
    assert settings_store.read(settings_store.SCORECARD_WATERMARK) < open_id
    transaction.commit()
    connection.close()
    compute.run(now=now + dt.timedelta(minutes=10))
    assert _folded_shares(org.id) == 2


def test_recent_events_wait_for_a_later_run_and_count_once(org):
    now = utcnow()
    _record_share(org.id, now - dt.timedelta(minutes=10))
    _record_share(org.id, now - dt.timedelta(minutes=1))
    compute.run(now=now)
    assert _folded_shares(org.id) == 1  # the recent one waits
    compute.run(now=now)
    assert _folded_shares(org.id) == 1
    compute.run(now=now + dt.timedelta(minutes=10))
    assert _folded_shares(org.id) == 2
    compute.run(now=now + dt.timedelta(minutes=20))
    assert _folded_shares(org.id) == 2
    assert settings_store.read(settings_store.SCORECARD_WATERMARK) == db.session.scalar(select(func.max(ActivityEvent.id)))


def test_a_month_closes_only_once_its_last_events_are_folded(org):
    month = periods.current("month", utcnow())
    end = periods.bounds(month)[1]
    _record_share(org.id, end - dt.timedelta(minutes=1))
    compute.run(now=end + compute.LAG + dt.timedelta(seconds=30))
    assert not compute.is_closed(month)
    compute.run(now=end + compute.SETTLE + dt.timedelta(seconds=30))
    assert compute.is_closed(month)
    assert db.session.get(Scorecard, (org.id, month)).shares == 1


def _in_another_process_like(app, work, errors: list) -> threading.Thread:
    """``work`` run in a thread with its own application context, session and connection, as a
    second scheduler on another host would run it."""
    def target():
        try:
            with app.app_context():
                work()
                db.session.commit()
        except Exception as exc:  # noqa: BLE001  (reported to the test)
            errors.append(exc)
    thread = threading.Thread(target=target)
    thread.start()
    return thread


def test_two_runs_that_read_the_same_watermark_fold_each_event_once(app, org, monkeypatch):
    """Two schedulers (or a scheduler and ``jobs run-once``) start the fold together: both read
    the same watermark and sum the same events before either writes. Exactly one adds them."""
    org_id = org.id
    for minutes in (30, 20, 10):
        _record_share(org_id, utcnow() - dt.timedelta(minutes=minutes))
    db.session.remove()
    both_read = threading.Barrier(2, timeout=30)
    sums = compute._sums

    def summed_then_wait(*criteria):
        rows = sums(*criteria)
        both_read.wait()  # neither writes until both have read
        return rows

    monkeypatch.setattr(compute, "_sums", summed_then_wait)
    months: list[set[int]] = []
    errors: list[Exception] = []
    threads = [_in_another_process_like(app, lambda: months.append(compute.fold_new_events()), errors)
               for _ in range(2)]
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(months) == 2
    assert sorted(len(m) for m in months) == [0, 1]  # one folded the month, the other nothing
    assert _folded_shares(org_id) == 3
    assert settings_store.read(settings_store.SCORECARD_WATERMARK) == db.session.scalar(select(func.max(ActivityEvent.id)))


def _a_fold_after_the_watermark_is_read(app, org, monkeypatch) -> list[Exception]:
    """One share folded, one more waiting; the next read of the watermark is followed by another
    process's fold of the waiting one (committed) before the reader goes on."""
    _record_share(org.id, utcnow() - dt.timedelta(minutes=30))
    compute.run()
    _record_share(org.id, utcnow() - dt.timedelta(minutes=20))  # not folded yet
    read = settings_store.read
    errors: list[Exception] = []

    def read_then_a_fold_meanwhile(setting):
        value = read(setting)
        monkeypatch.setattr(settings_store, "read", read)
        _in_another_process_like(app, compute.fold_new_events, errors).join(timeout=60)
        return value

    monkeypatch.setattr(settings_store, "read", read_then_a_fold_meanwhile)
    return errors


def test_a_recompute_overtaken_by_a_fold_changes_nothing(app, org, monkeypatch):
    """A recount rebuilds the sums from the events up to the watermark it read; a fold committed
    meanwhile added later events to those sums. The recount stops rather than delete them."""
    errors = _a_fold_after_the_watermark_is_read(app, org, monkeypatch)
    month = periods.current("month", utcnow())
    with pytest.raises(compute.ConcurrentRun):
        compute.recompute(month)
    assert errors == []
    db.session.rollback()
    assert _folded_shares(org.id) == 2  # the fold's event is still counted
    compute.recompute(month)  # run again: the same result
    assert _folded_shares(org.id) == 2


def test_the_recompute_command_overtaken_by_a_fold_says_run_it_again_and_exits_1(app, org, monkeypatch):
    errors = _a_fold_after_the_watermark_is_read(app, org, monkeypatch)
    result = app.test_cli_runner().invoke(args=["scorecards", "recompute", "--period",
                                                periods.current("month", utcnow())])
    assert errors == []
    assert result.exit_code == 1 and "Run it again" in result.output and "Traceback" not in result.output
    db.session.rollback()
    assert _folded_shares(org.id) == 2
