"""Scheduled: scorecards from new activity; reassessment reminders for resilience ratings."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask

from portal import jobs
from portal.extensions import db


def init_app(app: Flask) -> None:
    @jobs.register("scorecards.compute", every=timedelta(minutes=10), lease=timedelta(minutes=30))
    def compute() -> None:
        from portal.scorecards import compute as scorecards
        scorecards.run()

    @jobs.register("ratings.reminders", every=timedelta(hours=6))
    def reminders() -> None:
        from portal.ratings import service
        service.remind_reassessment()
        db.session.commit()
