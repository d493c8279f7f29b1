"""Outstanding items: what an organisation was asked to act on and has not, as of an instant.

An item counts against an organisation when it was asked to act on it — a bulletin to acknowledge
(it is in the audience), a question on its own bulletin to answer, a request for information it
holds, a deportee notification routed to it — at least one of its active members may read it
(``portal.policy.member_may_read``), and it was still open ``response_target_hours`` after it was
asked. Its age then counts as a response time, so silence costs what slowness costs.

Every query here reads as of ``at``: an item answered after ``at`` was open at ``at``, so the close
of a period can be recomputed later with the same result.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, and_, case, func, or_, select, union_all

from portal import policy
from portal.bulletins.models import Bulletin, BulletinAcknowledgement, BulletinMessage, BulletinQuestion
from portal.deportees.models import DeporteeNotification, DeporteeNotificationRecipient
from portal.extensions import db
from portal.rfis.models import InformationRequest

#: Kinds of outstanding item, in the order pages list them.
KINDS = ("bulletin", "question", "request", "deportee")


@dataclass(frozen=True)
class OpenItem:
    organisation_id: int
    kind: str
    object_id: int
    asked_at: dt.datetime

    def age_hours(self, at: dt.datetime) -> float:
        return max(0.0, (at - self.asked_at).total_seconds() / 3600)


def _only(org_column, organisation_id: int | None) -> list:
    return [org_column == organisation_id] if organisation_id is not None else []


def _open_statements(at: dt.datetime, target_hours: float, organisation_id: int | None = None) -> dict[str, Select]:
    """Per kind, ``SELECT organisation_id, object_id, asked_at`` of every item open at ``at`` and
    asked at least ``target_hours`` before it (of one organisation, or of all)."""
    due = at - dt.timedelta(hours=target_hours)

    pairs = policy.bulletin_recipient_pairs(
        Bulletin.published_at <= due, or_(Bulletin.expires_at.is_(None), Bulletin.expires_at > at)).subquery()
    acknowledged = select(BulletinAcknowledgement.bulletin_id).where(
        BulletinAcknowledgement.bulletin_id == pairs.c.bulletin_id,
        BulletinAcknowledgement.organisation_id == pairs.c.organisation_id,
        BulletinAcknowledgement.acknowledged_at <= at).exists()
    bulletins = (select(pairs.c.organisation_id, pairs.c.bulletin_id.label("object_id"),
                        Bulletin.published_at.label("asked_at"))
                 .join(Bulletin, Bulletin.id == pairs.c.bulletin_id)
                 .where(~acknowledged))
    if organisation_id is not None:
        bulletins = bulletins.where(pairs.c.organisation_id == organisation_id)

    answered = select(BulletinMessage.id).where(
        BulletinMessage.question_id == BulletinQuestion.id, BulletinMessage.author_org_id == Bulletin.author_org_id,
        BulletinMessage.created_at <= at).exists()
    questions = (select(Bulletin.author_org_id.label("organisation_id"), BulletinQuestion.id.label("object_id"),
                        BulletinQuestion.created_at.label("asked_at"))
                 .join(Bulletin, Bulletin.id == BulletinQuestion.bulletin_id)
                 .where(BulletinQuestion.created_at <= due, ~answered,
                        policy.member_may_read(Bulletin.author_org_id, Bulletin.classification),
                        *_only(Bulletin.author_org_id, organisation_id)))

    requests = (select(InformationRequest.holder_org_id.label("organisation_id"),
                       InformationRequest.id.label("object_id"), InformationRequest.created_at.label("asked_at"))
                .where(InformationRequest.created_at <= due,
                       or_(InformationRequest.closed_at.is_(None), InformationRequest.closed_at > at),
                       policy.member_may_read(InformationRequest.holder_org_id, InformationRequest.classification),
                       *_only(InformationRequest.holder_org_id, organisation_id)))

    recipient = DeporteeNotificationRecipient
    deportees = (select(recipient.organisation_id.label("organisation_id"), DeporteeNotification.id.label("object_id"),
                        DeporteeNotification.created_at.label("asked_at"))
                 .join(DeporteeNotification, DeporteeNotification.id == recipient.notification_id)
                 .where(DeporteeNotification.created_at <= due,
                        or_(recipient.acknowledged_at.is_(None), recipient.acknowledged_at > at),
                        or_(DeporteeNotification.purged_at.is_(None), DeporteeNotification.purged_at > at),
                        policy.member_may_read(recipient.organisation_id, DeporteeNotification.classification),
                        *_only(recipient.organisation_id, organisation_id)))
    return {"bulletin": bulletins, "question": questions, "request": requests, "deportee": deportees}


def open_items(at: dt.datetime, target_hours: float, organisation_id: int | None = None) -> list[OpenItem]:
    """Every item open at ``at`` and asked at least ``target_hours`` before it (of one
    organisation, or of all), one object each: for the pages that list them."""
    items: list[OpenItem] = []
    for kind, statement in _open_statements(at, target_hours, organisation_id).items():
        items += [OpenItem(org, kind, item, asked) for org, item, asked in db.session.execute(statement)]
    return items


def open_histograms(at: dt.datetime, target_hours: float, bounds: tuple[float, ...]) -> dict[int, list[int]]:
    """Per organisation, its items open at ``at`` past the target, counted by age at ``at`` in the
    response-time buckets ``bounds`` (hours; one more bucket for anything older): what
    ``open_items`` would give, bucketed by ``age_hours``, but counted in one grouped statement.

    An age is at most a bound exactly when the item was asked no earlier than ``at`` minus that
    bound, so the buckets are comparisons with instants computed here: no date arithmetic in SQL,
    which differs between databases, and no row per item leaves the database."""
    items = union_all(*_open_statements(at, target_hours).values()).subquery()
    bucket = case(*((items.c.asked_at >= at - dt.timedelta(hours=bound), index) for index, bound in enumerate(bounds)),
                  else_=len(bounds))
    aged = select(items.c.organisation_id, bucket.label("bucket")).subquery()
    out: dict[int, list[int]] = {}
    for org_id, index, count in db.session.execute(
            select(aged.c.organisation_id, aged.c.bucket, func.count())
            .group_by(aged.c.organisation_id, aged.c.bucket)):
        out.setdefault(org_id, [0] * (len(bounds) + 1))[index] += count
    return out


def late_responses(organisation_id: int, start: dt.datetime, end: dt.datetime,
                   target_hours: float) -> list[tuple[str, int, dt.datetime, dt.datetime]]:
    """Items the organisation answered within [start, end) later than the target:
    ``(kind, object_id, asked_at, answered_at)``."""
    late = dt.timedelta(hours=target_hours)
    out: list[tuple[str, int, dt.datetime, dt.datetime]] = []
    rows = db.session.execute(
        select(Bulletin.id, Bulletin.published_at, BulletinAcknowledgement.acknowledged_at)
        .join(BulletinAcknowledgement, BulletinAcknowledgement.bulletin_id == Bulletin.id)
        .where(BulletinAcknowledgement.organisation_id == organisation_id,
               BulletinAcknowledgement.acknowledged_at >= start, BulletinAcknowledgement.acknowledged_at < end))
    out += [("bulletin", i, a, b) for i, a, b in rows if a is not None and b - a > late]
    rows = db.session.execute(
        select(InformationRequest.id, InformationRequest.created_at, InformationRequest.closed_at)
        .where(InformationRequest.holder_org_id == organisation_id, InformationRequest.closed_at >= start,
               InformationRequest.closed_at < end))
    out += [("request", i, a, b) for i, a, b in rows if b - a > late]
    rows = db.session.execute(
        select(DeporteeNotification.id, DeporteeNotification.created_at, DeporteeNotificationRecipient.acknowledged_at)
        .join(DeporteeNotificationRecipient, DeporteeNotificationRecipient.notification_id == DeporteeNotification.id)
        .where(DeporteeNotificationRecipient.organisation_id == organisation_id,
               DeporteeNotificationRecipient.acknowledged_at >= start,
               DeporteeNotificationRecipient.acknowledged_at < end))
    out += [("deportee", i, a, b) for i, a, b in rows if b - a > late]
    first_answer = (select(BulletinQuestion.id, BulletinQuestion.created_at, BulletinMessage.created_at)
                    .join(Bulletin, Bulletin.id == BulletinQuestion.bulletin_id)
                    .join(BulletinMessage, and_(BulletinMessage.question_id == BulletinQuestion.id,
                                                BulletinMessage.author_org_id == Bulletin.author_org_id))
                    .where(Bulletin.author_org_id == organisation_id)
                    .order_by(BulletinQuestion.id, BulletinMessage.id))
    seen: set[int] = set()
    for question_id, asked, answered_at in db.session.execute(first_answer):
        if question_id in seen:
            continue
        seen.add(question_id)
        if start <= answered_at < end and answered_at - asked > late:
            out.append(("question", question_id, asked, answered_at))
    return sorted(out, key=lambda row: row[3])
