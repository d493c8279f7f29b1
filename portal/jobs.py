"""Scheduled jobs, safe with any number of portal processes on one database.

Features register jobs with :func:`register` (a name, a function, an interval). A job runs only
under a lease taken in the database (a conditional ``UPDATE`` on its row in ``job_leases``), so
if several processes look for due jobs at once, each job runs once. ``flask --app app jobs
run-once`` runs every due job once and exits; ``flask --app app scheduler`` runs them as they fall
due, with APScheduler (the production set-up, described in README).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import String, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.types import UTCDateTime, utcnow

log = logging.getLogger(__name__)


class JobLease(db.Model):
    """One row per job: who holds it until when, and when it last finished."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), default="")
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[], object]
    every: dt.timedelta  # due when this long has passed since it last finished
    lease: dt.timedelta  # longer than the job can take


JOBS: dict[str, Job] = {}
OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def register(name: str, every: dt.timedelta = dt.timedelta(0), lease: dt.timedelta = dt.timedelta(minutes=10)):
    def decorator(func: Callable[[], object]) -> Callable[[], object]:
        JOBS[name] = Job(name, func, every, lease)
        return func
    return decorator


def _ensure_row(name: str) -> None:
    if db.session.get(JobLease, name) is None:
        try:
            db.session.add(JobLease(name=name))
            db.session.commit()
        except IntegrityError:  # another process created it
            db.session.rollback()


def try_lease(job: Job) -> bool:
    """Take the job's lease if it is due and nobody holds it. Exactly one process can win."""
    _ensure_row(job.name)
    now = utcnow()
    result = db.session.execute(
        update(JobLease)
        .where(JobLease.name == job.name,
               or_(JobLease.lease_until.is_(None), JobLease.lease_until < now),
               or_(JobLease.last_finished_at.is_(None), JobLease.last_finished_at <= now - job.every))
        .values(owner=OWNER, lease_until=now + job.lease, last_started_at=now)
    )
    db.session.commit()
    return result.rowcount == 1


def release(job: Job) -> None:
    db.session.execute(update(JobLease).where(JobLease.name == job.name, JobLease.owner == OWNER)
                       .values(lease_until=None, last_finished_at=utcnow()))
    db.session.commit()


def run_due_jobs() -> list[str]:
    """Run every due job once, each under its lease. Returns the names of the jobs this process ran."""
    ran = []
    for job in list(JOBS.values()):
        if not try_lease(job):
            continue
        try:
            job.func()
            ran.append(job.name)
        except Exception:  # one failing job must not stop the others; it is retried when due
            db.session.rollback()
            log.exception("job %s failed", job.name)
        finally:
            release(job)
    return ran


def lease_holders() -> dict[str, str]:
    return {row.name: row.owner for row in db.session.scalars(select(JobLease))}
