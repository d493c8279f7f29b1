from __future__ import annotations

from typing import Any

from portal import policy
from portal.api import bp
from portal.api.auth import require_scope
from portal.api.formats import iso
from portal.api.pagination import paginate
from portal.audit import trail
from portal.deportees.models import DeporteeNotification
from portal.extensions import db


def notification_json(notification: DeporteeNotification) -> dict[str, Any]:
    return {
        "id": notification.id,
        "reference": notification.reference,
        "issuing_org": notification.issuing_org.slug,
        "destination_country": notification.destination_country,
        "classification": notification.classification.label,
        "status": notification.status,
        "recipients": sorted(r.organisation.slug for r in notification.recipients),
        "arrival_at": iso(notification.arrival_at),
        "acknowledged_at": iso(notification.acknowledged_at),
    }


@bp.get("/deportee-notifications")
def list_deportee_notifications():
    require_scope("notifications:read")
    user = policy.reader()
    page = paginate(policy.readable_deportee_notifications(user), DeporteeNotification.id, notification_json)
    trail.record("deportee_notification.list", "deportee_notification", count=len(page["items"]), via="api")
    db.session.commit()
    return page


@bp.get("/deportee-notifications/<int:notification_id>")
def get_deportee_notification(notification_id: int):
    require_scope("notifications:read")
    user = policy.reader()
    notification = policy.readable_or_404(DeporteeNotification, user, DeporteeNotification.id == notification_id)
    trail.record("deportee_notification.read", "deportee_notification", notification.id,
                 notification.issuing_org.slug, via="api")
    db.session.commit()
    return notification_json(notification)
