"""Scheduled work on deportee notifications: reminders, escalations and purges (issue 4's
scheduler; `flask --app app jobs run-once` runs whatever is due)."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask

from portal import jobs
from portal.deportees import service
from portal.extensions import db


def init_app(app: Flask) -> None:
    # Registered before the outbox's jobs, so one `jobs run-once` also delivers what these queue.
    @jobs.register("deportees.reminders", every=timedelta(minutes=5))
    def reminders() -> None:
        service.remind_and_escalate()
        db.session.commit()

    @jobs.register("deportees.purge", every=timedelta(hours=1), lease=timedelta(minutes=30))
    def purge() -> None:
        while service.purge_due():
            db.session.commit()
        db.session.commit()
