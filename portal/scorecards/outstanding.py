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

from sqlalchemy import Select, and_, case, func, literal, null, or_, select, union_all

from portal import policy
from portal.bulletins.models import Bulletin, BulletinAcknowledgement, BulletinMessage, BulletinQuestion
from portal.deportees.models import DeporteeNotification, DeporteeNotificationRecipient
from portal.extensions import db
from portal.rfis.models import InformationRequest
from portal.types import UTCDateTime

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


def _asked(latest_due: dt.datetime, organisation_id: int | None = None) -> Select:
    """Every item asked no later than ``latest_due`` (of one organisation, or of all), whether open
    now or not: ``kind, organisation_id, object_id, asked_at, closed_at, gone_at`` — answered (or
    acknowledged, or closed) at ``closed_at``, withdrawn from the question (a bulletin expired, a
    notification purged) at ``gone_at``; either None while it has not happened. One row per item
    and organisation asked, read once for every instant the caller ages items at."""
    def only(column) -> list:
        return [column == organisation_id] if organisation_id is not None else []

    pairs = policy.bulletin_recipient_pairs(Bulletin.published_at <= latest_due).subquery()
    bulletins = (select(literal("bulletin").label("kind"), pairs.c.organisation_id,
                        pairs.c.bulletin_id.label("object_id"), Bulletin.published_at.label("asked_at"),
                        BulletinAcknowledgement.acknowledged_at.label("closed_at"),
                        Bulletin.expires_at.label("gone_at"))
                 .join(Bulletin, Bulletin.id == pairs.c.bulletin_id)
                 .outerjoin(BulletinAcknowledgement, and_(
                     BulletinAcknowledgement.bulletin_id == pairs.c.bulletin_id,
                     BulletinAcknowledgement.organisation_id == pairs.c.organisation_id))
                 .where(*only(pairs.c.organisation_id)))

    # A question is answered by the author organisation's first message in its thread.
    answers = (select(BulletinMessage.question_id, func.min(BulletinMessage.created_at).label("answered_at"))
               .join(BulletinQuestion, BulletinQuestion.id == BulletinMessage.question_id)
               .join(Bulletin, Bulletin.id == BulletinQuestion.bulletin_id)
               .where(BulletinMessage.author_org_id == Bulletin.author_org_id,
                      BulletinQuestion.created_at <= latest_due)
               .group_by(BulletinMessage.question_id).subquery())
    questions = (select(literal("question").label("kind"), Bulletin.author_org_id.label("organisation_id"),
                        BulletinQuestion.id.label("object_id"), BulletinQuestion.created_at.label("asked_at"),
                        answers.c.answered_at.label("closed_at"), null().label("gone_at"))
                 .join(Bulletin, Bulletin.id == BulletinQuestion.bulletin_id)
                 .outerjoin(answers, answers.c.question_id == BulletinQuestion.id)
                 .where(BulletinQuestion.created_at <= latest_due,
                        policy.member_may_read(Bulletin.author_org_id, Bulletin.classification),
                        *only(Bulletin.author_org_id)))

    requests = (select(literal("request").label("kind"), InformationRequest.holder_org_id.label("organisation_id"),
                       InformationRequest.id.label("object_id"), InformationRequest.created_at.label("asked_at"),
                       InformationRequest.closed_at.label("closed_at"), null().label("gone_at"))
                .where(InformationRequest.created_at <= latest_due,
                       policy.member_may_read(InformationRequest.holder_org_id, InformationRequest.classification),
                       *only(InformationRequest.holder_org_id)))

    recipient = DeporteeNotificationRecipient
    deportees = (select(literal("deportee").label("kind"), recipient.organisation_id.label("organisation_id"),
                        DeporteeNotification.id.label("object_id"), DeporteeNotification.created_at.label("asked_at"),
                        recipient.acknowledged_at.label("closed_at"), DeporteeNotification.purged_at.label("gone_at"))
                 .join(DeporteeNotification, DeporteeNotification.id == recipient.notification_id)
                 .where(DeporteeNotification.created_at <= latest_due,
                        policy.member_may_read(recipient.organisation_id, DeporteeNotification.classification),
                        *only(recipient.organisation_id)))
    return union_all(bulletins, questions, requests, deportees)


def _instants(instants: list[dt.datetime], target_hours: float, bounds: tuple[float, ...] = ()):
    """The instants as rows ``slot, at, due, edge_0 …``: ``due`` is ``at`` minus the target (an item
    asked by then and still open at ``at`` is late), ``edge_k`` is ``at`` minus the ``k``-th bucket
    bound (an item asked no earlier than that is at most that old at ``at``). Instants computed here:
    no date arithmetic in SQL, which differs between databases."""
    rows = [select(literal(slot).label("slot"), literal(at, UTCDateTime).label("at"),
                   literal(at - dt.timedelta(hours=target_hours), UTCDateTime).label("due"),
                   *(literal(at - dt.timedelta(hours=bound), UTCDateTime).label(f"edge_{k}")
                     for k, bound in enumerate(bounds)))
            for slot, at in enumerate(instants)]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("instants")


def _open_at(items, instants):
    """Items open at each instant and late by then: asked by its ``due``, not closed and not gone by
    its ``at``. An item answered after ``at`` was open at ``at``, so the close of a period can be
    recomputed later with the same result."""
    return and_(items.c.asked_at <= instants.c.due,
                or_(items.c.closed_at.is_(None), items.c.closed_at > instants.c.at),
                or_(items.c.gone_at.is_(None), items.c.gone_at > instants.c.at))


def open_items(at: dt.datetime, target_hours: float, organisation_id: int | None = None) -> list[OpenItem]:
    """Every item open at ``at`` and asked at least ``target_hours`` before it (of one
    organisation, or of all), one object each: for the pages that list them."""
    instants = _instants([at], target_hours)
    items = _asked(at - dt.timedelta(hours=target_hours), organisation_id).subquery()
    return [OpenItem(org, kind, item, asked) for kind, org, item, asked in db.session.execute(
        select(items.c.kind, items.c.organisation_id, items.c.object_id, items.c.asked_at)
        .join(instants, _open_at(items, instants))
        .order_by(items.c.kind, items.c.object_id, items.c.organisation_id))]


def open_histograms(at: dt.datetime, target_hours: float, bounds: tuple[float, ...]) -> dict[int, list[int]]:
    """Per organisation, its items open at ``at`` past the target, counted by age at ``at`` in the
    response-time buckets ``bounds`` (hours; one more bucket for anything older)."""
    return open_histograms_at([at], target_hours, bounds)[at]


def open_histograms_at(instants: list[dt.datetime], target_hours: float,
                       bounds: tuple[float, ...]) -> dict[dt.datetime, dict[int, list[int]]]:
    """For each instant, per organisation, its items open then past the target, counted by age at
    that instant in the response-time buckets ``bounds`` (hours; one more bucket for anything
    older): what ``open_items`` would give, bucketed by ``age_hours``, but counted for every instant
    in one grouped statement. Each item is read once; only the comparisons are made per instant.

    An age is at most a bound exactly when the item was asked no earlier than the instant minus
    that bound, so the buckets are comparisons with instants computed here, and no row per item
    leaves the database."""
    instants = sorted(set(instants))
    out: dict[dt.datetime, dict[int, list[int]]] = {at: {} for at in instants}
    if not instants:
        return out
    table = _instants(instants, target_hours, bounds)
    items = _asked(max(instants) - dt.timedelta(hours=target_hours)).subquery()
    bucket = case(*((items.c.asked_at >= table.c[f"edge_{index}"], index) for index in range(len(bounds))),
                  else_=len(bounds))
    aged = (select(table.c.slot, items.c.organisation_id, bucket.label("bucket"))
            .join(table, _open_at(items, table))).subquery()
    for slot, org_id, index, count in db.session.connection().execute(
            select(aged.c.slot, aged.c.organisation_id, aged.c.bucket, func.count())
            .group_by(aged.c.slot, aged.c.organisation_id, aged.c.bucket)):
        out[instants[slot]].setdefault(org_id, [0] * (len(bounds) + 1))[index] += count
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
