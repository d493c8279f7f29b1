"""What is behind an organisation's scores for a period: counts by kind, and the items that were
answered late or are still open. An item is linked and named only when the viewer may read it
(the access policy's predicates); otherwise only its kind and its age are shown."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import url_for
from sqlalchemy import select

from portal import policy
from portal.config import settings
from portal.bulletins.models import Bulletin, BulletinQuestion
from portal.deportees.models import DeporteeNotification
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.organisations.models import Organisation
from portal.rfis.models import InformationRequest
from portal.scorecards import outstanding, periods
from portal.scorecards.compute import as_of
from portal.scorecards.models import MonthlyActivity
from portal.types import utcnow

KIND_LABELS = {"bulletin": _l("Bulletin to acknowledge"), "question": _l("Question on your bulletin"),
               "request": _l("Request for information"), "deportee": _l("Deportee notification")}


@dataclass
class ItemLine:
    kind: str
    label: str | None  # None: the viewer may not read it
    url: str | None
    asked_at: dt.datetime
    hours: float
    answered_at: dt.datetime | None = None


def response_target() -> float:
    return float(settings().scorecards["response_target_hours"])


def _describe(kind: str, object_id: int, viewer: Any) -> tuple[str | None, str | None]:
    """(label, url) when the viewer may read the item, else (None, None)."""
    if kind == "bulletin":
        bulletin = db.session.get(Bulletin, object_id)
        if bulletin is not None and policy.can_read_bulletin(viewer, bulletin):
            return bulletin.title, url_for("bulletins.show", bulletin_id=bulletin.id)
    elif kind == "question":
        question = db.session.get(BulletinQuestion, object_id)
        bulletin = db.session.get(Bulletin, question.bulletin_id) if question else None
        if bulletin is not None and policy.can_read_bulletin(viewer, bulletin) and \
                viewer.organisation_id in (question.asking_org_id, bulletin.author_org_id):
            return bulletin.title, url_for("bulletins.show", bulletin_id=bulletin.id)
    elif kind == "request":
        request = db.session.get(InformationRequest, object_id)
        if request is not None and policy.can_read_information_request(viewer, request):
            return request.reference, url_for("rfis.show", request_id=request.id)
    elif kind == "deportee":
        notification = db.session.get(DeporteeNotification, object_id)
        if notification is not None and policy.can_read_deportee_notification(viewer, notification):
            return notification.reference, url_for("deportees.show", notification_id=notification.id)
    return None, None


def explain(org: Organisation, period: str, viewer: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    target = response_target()
    counts = {"shares": 0, "reactive_shares": 0, "ratings": 0, "useful_ratings": 0.0, "responses": 0}
    for row in db.session.scalars(select(MonthlyActivity).where(MonthlyActivity.organisation_id == org.id,
                                                                MonthlyActivity.month.in_(periods.months_of(period)))):
        counts["shares"] += row.shares
        counts["reactive_shares"] += row.reactive_shares
        counts["ratings"] += row.ratings
        counts["useful_ratings"] += row.useful_ratings
        counts["responses"] += sum(row.responses or [])
    at = as_of(period, now)
    open_lines: list[ItemLine] = []
    if at is not None:
        for item in sorted(outstanding.open_items(at, target, org.id), key=lambda i: i.asked_at):
            label, url = _describe(item.kind, item.object_id, viewer)
            open_lines.append(ItemLine(item.kind, label, url, item.asked_at, round(item.age_hours(at), 1)))
    start, end = periods.bounds(period)
    late_lines = []
    for kind, object_id, asked, answered in outstanding.late_responses(org.id, start, min(end, now), target):
        label, url = _describe(kind, object_id, viewer)
        late_lines.append(ItemLine(kind, label, url, asked, round((answered - asked).total_seconds() / 3600, 1),
                                   answered))
    by_kind = {kind: sum(1 for line in open_lines if line.kind == kind) for kind in outstanding.KINDS}
    return {"counts": counts, "open": open_lines, "late": late_lines, "open_by_kind": by_kind,
            "kind_labels": KIND_LABELS, "as_of": at}
