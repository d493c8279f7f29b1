from __future__ import annotations

from typing import Any


from portal import policy, reads
from portal.api import bp
from portal.api.errors import refusals
from portal.api.formats import iso
from portal.api.operations import given, operation
from portal.api.pagination import paginate
from portal.api.scopes import ScopedRoutes
from portal.config import settings
from portal.deportees import service
from portal.deportees.models import DeporteeNotification
from portal.deportees.schemas import NotificationInput, NotificationOut, NotificationPage, NotificationQuery, UpdateInput
from portal.extensions import db

#: Deportee notifications: notifications:read to read, notifications:write to change anything.
routes = ScopedRoutes(bp, "notifications")


def notification_json(notification: DeporteeNotification, reader: Any, full: bool = True) -> dict[str, Any]:
    """docs/contract.md's shape. ``full`` adds the decrypted personal data (one record at a time only)."""
    body: dict[str, Any] = {
        "id": notification.id,
        "reference": notification.reference,
        "issuing_org": notification.issuing_org.slug,
        "destination_country": notification.destination_country,
        "classification": notification.classification.label,
        "status": notification.status,
        "recipients": sorted(r.organisation.slug for r in notification.recipients),
        "acknowledgements": [{"org": r.organisation.slug, "acknowledged_at": iso(r.acknowledged_at)}
                             for r in notification.recipients],
        "removal": {"flight": notification.flight or None, "arrival_airport": notification.arrival_airport or None,
                    "arrival_at": iso(notification.arrival_at)},
        "arrival_at": iso(notification.arrival_at),
        "acknowledged_at": iso(notification.acknowledged_at),
        "legal_basis": notification.legal_basis,
        "created_at": iso(notification.created_at),
        "purged_at": iso(notification.purged_at),
    }
    if full:
        personal = service.personal_data(notification)
        if personal is not None:
            body["person"] = personal.get("person", {})
            body["person"]["has_photo"] = notification.photo is not None
            body.update({k: v for k, v in personal.items() if k != "person"})
        body["updates"] = [{"org": u.organisation.slug, "kind": u.kind, "note": note, "at": iso(u.created_at)}
                           for u, note in service.updates_for(notification)]
    return body


@routes.get("/deportee-notifications")
@operation("Deportee notifications the caller may read", query=NotificationQuery, answer=NotificationPage)
def list_deportee_notifications(query: NotificationQuery):
    user = policy.reader()
    statement = policy.readable_deportee_notifications(user)
    if document := query.document:
        statement = service.find_by_document(statement, document)
    page = paginate(statement, DeporteeNotification.id, lambda n: notification_json(n, user, full=False))
    with reads.listed(DeporteeNotification, len(page["items"]), via="api", by_document=bool(document)):
        return page


#: From a notification just issued, to reading, acknowledging and updating it (OpenAPI links).
NOTIFICATION_LINKS = {name: {"notification_id": "$response.body#/id"} for name in (
    "get_deportee_notification", "acknowledge_deportee_notification", "update_deportee_notification")}


@routes.post("/deportee-notifications")
@operation("Issue a notification (publishers of a New Zealand agency); routed to the destination country's "
           "designated receivers", body=NotificationInput, body_limit=lambda: settings().deportee_body_max_bytes, answer=NotificationOut, status=201,
           errors=(403,), invalid_message="The notification is invalid; nothing was stored.",
           links=NOTIFICATION_LINKS)
def create_deportee_notification(body: NotificationInput):
    user = policy.reader()
    with refusals("The notification is invalid; nothing was stored."):
        notification = service.issue(given(body), user)
    db.session.commit()
    return notification_json(notification, user), 201


@routes.get("/deportee-notifications/<int:notification_id>")
@operation("One deportee notification, with its personal data decrypted for the reader", answer=NotificationOut)
def get_deportee_notification(notification_id: int):
    user = policy.reader()
    return reads.read_one(DeporteeNotification, notification_id, lambda n: notification_json(n, user), via="api")


def _act(notification_id: int, action) -> Any:
    user = policy.reader()
    notification = reads.load(DeporteeNotification, notification_id)
    with refusals():
        action(notification, user)
    db.session.commit()
    return notification_json(notification, user)


@routes.post("/deportee-notifications/<int:notification_id>/acknowledge")
@operation("The caller's (receiving) organisation has received it", answer=NotificationOut, errors=(409,))
def acknowledge_deportee_notification(notification_id: int):
    return _act(notification_id, service.acknowledge)


@routes.post("/deportee-notifications/<int:notification_id>/updates")
@operation("A receiving organisation's news of the person (extension)", body=UpdateInput, answer=NotificationOut,
           status=201, errors=(409,))
def update_deportee_notification(notification_id: int, body: UpdateInput):
    return _act(notification_id, lambda n, u: service.add_update(n, u, body.kind, body.note)), 201
