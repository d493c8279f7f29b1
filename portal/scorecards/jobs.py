"""Scheduled: scorecards from new activity; reassessment reminders for resilience ratings."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask

from portal import jobs
from portal.extensions import db
from portal.ratings import service
from portal.scorecards import compute as scorecards


def init_app(app: Flask) -> None:
    @jobs.register("scorecards.compute", every=timedelta(minutes=10), lease=timedelta(minutes=30))
    def compute() -> None:
        scorecards.run()

    @jobs.register("ratings.reminders", every=timedelta(hours=6))
    def reminders() -> None:
        service.remind_reassessment()
        db.session.commit()
