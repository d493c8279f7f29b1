"""Jobs that empty the outbox: dispatch (fan out), deliver (e-mail, webhooks) and digests.

Every send re-checks the access policy: someone who can no longer read the content gets nothing
(the delivery is *withheld*). Failures retry with exponential backoff and jitter; after
``delivery_max_attempts`` a delivery is *dead* (visible to admins, who may retry it). An address or
endpoint that keeps failing is flagged and its organisation's admins are told.

Deliveries are claimed with a short lease (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL), so
several processes may run these jobs at once without sending anything twice.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random
import smtplib
from collections import defaultdict
from typing import Any, Iterable

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import User
from portal.config import settings
from portal.extensions import db
from portal.i18n import reading_as, zone
from portal.notifications import email as email_channel
from portal.notifications import webhooks as webhook_channel
from portal.outbox import PERSONAL_EVENTS, TOPICS, Ceiling, Delivery, NotificationPreference, OutboxMessage, WebhookEndpoint, notify
from portal.types import utcnow
from portal.vocabulary import TLP, Classification

LEASE = dt.timedelta(minutes=2)



def external_address_key(address: str) -> str:
    """A delivery's recipient key for an address outside the portal (an accountable executive):
    a hash, so the outbox does not index the address itself."""
    return "address:" + hashlib.sha256(address.lower().encode()).hexdigest()[:32]

def ceiling(channel: str) -> Ceiling:
    s = settings()
    return Ceiling(Classification.parse(getattr(s, f"{channel}_ceiling_classification")),
                   TLP.parse(getattr(s, f"{channel}_ceiling_tlp")))


# --- Dispatch: one message → deliveries --------------------------------------------------------

def next_digest_time(user: User, now: dt.datetime | None = None) -> dt.datetime:
    """The next time it is ``user.digest_hour`` o'clock in the user's own time zone."""
    now = now or utcnow()
    local = now.astimezone(zone(user.time_zone))
    due = local.replace(hour=user.digest_hour, minute=0, second=0, microsecond=0)
    if due <= local:
        due += dt.timedelta(days=1)
    return due.astimezone(dt.timezone.utc)


def dispatch(limit: int = 200) -> int:
    """Fan undispatched messages out to deliveries, by recipients' preferences. Idempotent."""
    messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.dispatched_at.is_(None))
                                  .order_by(OutboxMessage.id).limit(limit)).all()
    for message in messages:
        try:
            _dispatch_one(message)
            message.dispatched_at = utcnow()
            db.session.commit()
        except IntegrityError:  # another process dispatched it first
            db.session.rollback()
    return len(messages)


def _dispatch_one(message: OutboxMessage) -> None:
    topic = TOPICS.get(message.object_type)
    obj = topic.load(message.object_id) if topic else None
    if obj is None:
        return
    users = db.session.scalars(topic.addressed_to(obj, message)).all()
    prefs = {p.user_id: p.mode for p in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.event == message.event,
                                             NotificationPreference.user_id.in_([u.id for u in users] or [0])))}
    now = utcnow()
    personal = PERSONAL_EVENTS.get(message.event)
    channels = personal[1] if personal else ("inbox", "email")
    for user in users:
        if user.id == message.actor_id:
            continue  # nobody is told about what they did themselves
        # About the person's own account: at once, whatever their preferences.
        mode = "immediate" if personal else prefs.get(user.id, "immediate")
        if mode == "off":
            continue
        readable = topic.readable(user, obj)
        if "inbox" in channels:
            db.session.add(Delivery(message=message, channel="inbox", recipient_key=f"user:{user.id}",
                                    user_id=user.id, status="sent" if readable else "withheld",
                                    sent_at=now if readable else None))
        if readable and "email" in channels and message.event != "delivery.failing":  # failure notices stay in the inbox
            db.session.add(Delivery(message=message, channel="email", recipient_key=f"user:{user.id}",
                                    user_id=user.id, status="digest" if mode == "digest" else "pending",
                                    next_attempt_at=next_digest_time(user, now) if mode == "digest" else now))
    if message.event == "delivery.failing" or personal:
        return
    for address in getattr(topic, "external_addresses", lambda *_: [])(obj, message):
        db.session.add(Delivery(message=message, channel="email", recipient_key=external_address_key(address),
                                address=address, next_attempt_at=now))
    orgs = {u.organisation_id for u in users}
    endpoints = db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True),
                                                                 WebhookEndpoint.organisation_id.in_(orgs or {0})))
    for endpoint in endpoints:
        if endpoint.wants(message.event):
            db.session.add(Delivery(message=message, channel="webhook", recipient_key=f"endpoint:{endpoint.id}",
                                    endpoint_id=endpoint.id, next_attempt_at=now))


# --- Claiming and retrying ---------------------------------------------------------------------

def claim(channel: str, status: str = "pending", limit: int | None = None) -> list[Delivery]:
    """Lease due deliveries of a channel to this process."""
    now = utcnow()
    statement = (select(Delivery.id).where(Delivery.channel == channel, Delivery.status == status,
                                           Delivery.next_attempt_at <= now,
                                           or_(Delivery.lease_until.is_(None), Delivery.lease_until < now))
                 .order_by(Delivery.next_attempt_at).limit(limit or settings().delivery_batch_size))
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(statement))
    if not ids:
        db.session.commit()
        return []
    db.session.execute(update(Delivery).where(Delivery.id.in_(ids), or_(
        Delivery.lease_until.is_(None), Delivery.lease_until < now)).values(lease_until=now + LEASE))
    db.session.commit()
    # Only the rows whose lease carries our timestamp are ours (SQLite has no SKIP LOCKED).
    return list(db.session.scalars(select(Delivery).where(Delivery.id.in_(ids),
                                                          Delivery.lease_until == now + LEASE)))


def backoff(attempts: int) -> dt.timedelta:
    s = settings()
    delay = min(s.delivery_retry_seconds * (2 ** max(attempts - 1, 0)), s.delivery_retry_cap_seconds)
    return dt.timedelta(seconds=delay * random.uniform(0.8, 1.2))  # jitter: no thundering herd


def failed(delivery: Delivery, error: str, permanent: bool = False) -> None:
    delivery.attempts += 1
    delivery.last_error = error[:1000]
    delivery.lease_until = None
    if permanent or delivery.attempts >= settings().delivery_max_attempts:
        delivery.status = "dead"
    else:
        delivery.next_attempt_at = utcnow() + backoff(delivery.attempts)


def succeeded(delivery: Delivery) -> None:
    delivery.status, delivery.sent_at, delivery.lease_until, delivery.last_error = "sent", utcnow(), None, ""


# --- E-mail ------------------------------------------------------------------------------------

class _Cache:
    """Objects and their descriptions, loaded once per batch."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], Any] = {}

    def object(self, message: OutboxMessage) -> Any:
        key = (message.object_type, message.object_id)
        if key not in self.objects:
            topic = TOPICS.get(message.object_type)
            self.objects[key] = topic.load(message.object_id) if topic else None
        return self.objects[key]


def deliver_email() -> int:
    batch = claim("email")
    if not batch:
        return 0
    cache = _Cache()
    rendered: dict[Any, Any] = {}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({d.user_id for d in batch})))}
    sendable: list[tuple[list[Delivery], Any]] = []
    for delivery in batch:
        user, obj = users.get(delivery.user_id), cache.object(delivery.message)
        topic = TOPICS.get(delivery.message.object_type)
        if delivery.user_id is None and delivery.address:  # outside the portal: the topic's external view only
            if obj is None or not hasattr(topic, "external"):
                delivery.status, delivery.lease_until = "withheld", None
                continue
            with reading_as(settings().default_language, settings().reporting_time_zone):
                sendable.append(([delivery], email_channel.compose_external(delivery, delivery.address,
                                                                            topic.external(obj))))
            continue
        if user is None or obj is None or not user.may_read or not topic.readable(user, obj):
            delivery.status, delivery.lease_until = "withheld", None  # checked at send time
            continue
        with reading_as(user.locale, user.time_zone):
            sendable.append(([delivery], email_channel.compose_one(delivery, user, topic.describe(obj),
                                                                   ceiling("email"), rendered)))
    _send_emails(sendable, users)
    return len(batch)


def _send_emails(sendable: list[tuple[list[Delivery], Any]], users: dict[int, User]) -> None:
    """Send over one SMTP connection. Each e-mail carries one or more deliveries (a digest).

    Successes are recorded with bulk UPDATEs every few hundred messages; identifiers are read up
    front so that committing does not make every object reload itself.
    """
    plan = [([d.id for d in group], group[0].user_id, message) for group, message in sendable]
    by_id = {d.id: d for group, _ in sendable for d in group}
    failing_before = {uid for uid, user in users.items() if user.email_failing_since is not None}
    db.session.commit()  # what was withheld; read everything needed above, before objects expire
    if not sendable:
        return
    try:
        connection = email_channel.connect()
    except (OSError, smtplib.SMTPException) as exc:
        for delivery in by_id.values():
            failed(delivery, f"SMTP server unavailable: {exc}")
        db.session.commit()
        return
    sent: list[str] = []
    recovered: set[int] = set()

    def record() -> None:
        if sent:
            db.session.execute(update(Delivery).where(Delivery.id.in_(sent))
                               .values(status="sent", sent_at=utcnow(), lease_until=None, last_error=""))
        if recovered:
            db.session.execute(update(User).where(User.id.in_(recovered)).values(email_failing_since=None))
        db.session.commit()
        sent.clear()
        recovered.clear()

    try:
        for index, (ids, user_id, message) in enumerate(plan):
            try:
                connection.send_message(message)
                sent.extend(ids)
                if user_id in failing_before:
                    recovered.add(user_id)
            except smtplib.SMTPRecipientsRefused as exc:
                for delivery_id in ids:
                    failed(by_id[delivery_id], f"recipient refused: {exc.recipients}", permanent=True)
                _address_failing(users.get(user_id))
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                for later_ids, _, _ in plan[index:]:
                    for delivery_id in later_ids:
                        failed(by_id[delivery_id], f"SMTP connection lost: {exc}")
                break
            except smtplib.SMTPException as exc:
                code = getattr(exc, "smtp_code", 0) or 0
                for delivery_id in ids:
                    failed(by_id[delivery_id], f"SMTP error: {exc}", permanent=500 <= code < 600)
                if 500 <= code < 600:
                    _address_failing(users.get(user_id))
            if index % 250 == 249:
                record()
    finally:
        record()
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            pass


def _address_failing(user: User | None) -> None:
    if user is None or user.email_failing_since is not None:
        return
    user.email_failing_since = utcnow()
    notify("delivery.failing", "user", user.id, what="email")


def _address_recovered(user: User | None) -> None:
    if user is not None and user.email_failing_since is not None:
        user.email_failing_since = None


# --- Webhooks ----------------------------------------------------------------------------------

def deliver_webhooks() -> int:
    batch = claim("webhook")
    cache = _Cache()
    for delivery in batch:
        endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
        obj = cache.object(delivery.message)
        topic = TOPICS.get(delivery.message.object_type)
        reader = db.session.get(User, endpoint.user_id) if endpoint else None
        if endpoint is None or not endpoint.active or obj is None or reader is None or not reader.may_read \
                or reader.organisation_id != endpoint.organisation_id or not topic.readable(reader, obj):
            delivery.status, delivery.lease_until = "withheld", None
            db.session.commit()
            continue
        ok, error = webhook_channel.post(endpoint, delivery, topic.describe(obj), ceiling("webhook"))
        if ok:
            succeeded(delivery)
            endpoint.consecutive_failures, endpoint.failing_since = 0, None
        else:
            failed(delivery, error)
            endpoint.consecutive_failures += 1
            if endpoint.consecutive_failures >= settings().delivery_failing_after and endpoint.failing_since is None:
                endpoint.failing_since = utcnow()
                owner = db.session.get(User, endpoint.user_id)
                if owner is not None:
                    notify("delivery.failing", "user", owner.id, what="webhook", endpoint=endpoint.id)
        db.session.commit()
    return len(batch)


# --- Digests -----------------------------------------------------------------------------------

def send_digests() -> int:
    """One e-mail per person whose digest hour has come, listing what is still theirs to read."""
    batch = claim("email", status="digest", limit=5000)
    if not batch:
        return 0
    by_user: dict[int, list[Delivery]] = defaultdict(list)
    for delivery in batch:
        by_user[delivery.user_id].append(delivery)
    cache = _Cache()
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(by_user)))}
    sendable: list[tuple[list[Delivery], Any]] = []
    for user_id, deliveries in by_user.items():
        user = users.get(user_id)
        items = []
        for delivery in deliveries:
            obj = cache.object(delivery.message)
            topic = TOPICS.get(delivery.message.object_type)
            if user is None or obj is None or not user.may_read or not topic.readable(user, obj):
                delivery.status, delivery.lease_until = "withheld", None
            else:
                items.append((delivery, topic.describe(obj)))
        if not items or user is None:
            continue
        with reading_as(user.locale, user.time_zone):
            message = email_channel.compose_digest(user, items, ceiling("email"))
        sendable.append(([delivery for delivery, _ in items], message))
    _send_emails(sendable, users)
    return len(batch)


def retry_dead(delivery_ids: Iterable[str]) -> int:
    count = 0
    for delivery in db.session.scalars(select(Delivery).where(Delivery.id.in_(list(delivery_ids)),
                                                             Delivery.status == "dead")):
        delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, utcnow()
        delivery.lease_until, count = None, count + 1
    return count
