"""Deportee notification pages. Issuing and receiving come with the deportees feature."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from portal import policy
from portal.audit import trail
from portal.deportees.models import DeporteeNotification
from portal.extensions import db
from portal.vocabulary import COUNTRY_TIME_ZONES

bp = Blueprint("deportees", __name__, url_prefix="/deportee-notifications")


@bp.get("")
def index():
    user = policy.reader()
    notifications = db.session.scalars(
        policy.readable_deportee_notifications(user).order_by(DeporteeNotification.id.desc()).limit(100)
    ).all()
    trail.record("deportee_notification.list", "deportee_notification", count=len(notifications))
    db.session.commit()
    return render_template("deportees/index.html", notifications=notifications, zones=COUNTRY_TIME_ZONES)


@bp.get("/<int:notification_id>")
def show(notification_id: int):
    user = policy.reader()
    notification = db.session.scalar(
        select(DeporteeNotification).where(DeporteeNotification.id == notification_id,
                                           policy.deportee_notification_readable(user))
    )
    if notification is None:
        abort(404)
    trail.record("deportee_notification.read", "deportee_notification", notification.id,
                 notification.issuing_org.slug)
    db.session.commit()
    return render_template("deportees/show.html", notification=notification, zones=COUNTRY_TIME_ZONES)
