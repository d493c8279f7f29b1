"""Which activity events a scorecard run folds into the monthly sums (its watermark), on a
controlled clock: each event exactly once, however transactions interleave.

On PostgreSQL an event's id is handed out when it is inserted, not when its transaction commits:
a later id can be committed and visible while an earlier one is still open. Those tests hold a
second connection's transaction open while the job runs (SQLite has one writer at a time, so the
interleaving cannot happen there).
"""
from __future__ import annotations

import datetime as dt

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
