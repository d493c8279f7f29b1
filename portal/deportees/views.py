"""Deportee notification pages. Issuing and receiving come with the deportees feature."""
from __future__ import annotations

from flask import Blueprint, render_template

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
    page = render_template("deportees/index.html", notifications=notifications, zones=COUNTRY_TIME_ZONES)
    db.session.commit()
    return page


@bp.get("/<int:notification_id>")
def show(notification_id: int):
    user = policy.reader()
    notification = policy.readable_or_404(DeporteeNotification, user, DeporteeNotification.id == notification_id)
    trail.record("deportee_notification.read", "deportee_notification", notification.id,
                 notification.issuing_org.slug)
    db.session.commit()
    return render_template("deportees/show.html", notification=notification, zones=COUNTRY_TIME_ZONES)
