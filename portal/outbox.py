"""The transactional outbox: how a feature tells people something, reliably and without leaking.

A feature calls :func:`notify` inside the transaction that makes its change, so the message
commits or rolls back with it: a crash can neither lose nor invent a notification. Jobs then fan
the message out to each recipient's channels (:class:`Delivery`: inbox, e-mail, webhook) and
deliver them, re-checking the access policy at send time.

What a message may be about is a *topic*, registered by the feature that owns the content (see
``portal/notifications/topics.py``): how to load it, who it is addressed to, who may read it, and
how to describe it within a channel's ceiling.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import seal, unseal
from portal.extensions import db
from portal.types import UTCDateTime, utcnow
from portal.vocabulary import TLP, Classification


class OutboxMessage(db.Model):
    """Something happened that people should hear about. Written in the change's transaction."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_undispatched", "dispatched_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    # Identifiers and routing only (e.g. chosen recipients); never content, which is read at send time.
    payload: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def data(self) -> dict[str, Any]:
        return dict(json.loads(self.payload or "{}"))


CHANNELS = ("inbox", "email", "webhook")
#: pending: waiting to be sent; digest: waiting for the recipient's daily digest; sent; dead:
#: gave up after retries (an admin may retry); withheld: the recipient may no longer read it.
STATUSES = ("pending", "digest", "sent", "dead", "withheld")


class Delivery(db.Model):
    """One message to one recipient on one channel. Its id is stable across retries, so receivers
    can de-duplicate: it is the e-mail Message-ID and the webhook delivery id."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "channel", "recipient_key", name="uq_deliveries_message_channel_recipient"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_inbox", "user_id", "channel", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    recipient_key: Mapped[str] = mapped_column(String(40))  # user:<id>, endpoint:<id> or address:<hash>
    #: An e-mail address outside the portal (an accountable executive who is no user): such a
    #: delivery carries only what the topic's ``external`` description allows (scores, no content).
    address: Mapped[str | None] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    message: Mapped[OutboxMessage] = relationship(lazy="joined", innerjoin=True)


class NotificationPreference(db.Model):
    """A user's choice for one kind of event: immediate, daily digest, or off (e-mail)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    event: Mapped[str] = mapped_column(String(64), primary_key=True)
    mode: Mapped[str] = mapped_column(String(10))


MODES = ("immediate", "digest", "off")


class WebhookEndpoint(db.Model):
    """An organisation's system that receives signed JSON. It reads as the user who registered it."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(1000))
    secret_sealed: Mapped[str] = mapped_column(Text)
    events: Mapped[str] = mapped_column(Text, default="")  # comma-separated; empty = every event
    active: Mapped[bool] = mapped_column(default=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    SECRET_PURPOSE = "webhook-signing-secret"

    @property
    def secret(self) -> str:
        return unseal(self.secret_sealed, self.SECRET_PURPOSE)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_sealed = seal(value, self.SECRET_PURPOSE)

    def wants(self, event: str) -> bool:
        wanted = [e.strip() for e in self.events.split(",") if e.strip()]
        return not wanted or event in wanted


# --- Topics: what messages can be about -----------------------------------------------------

@dataclass(frozen=True)
class Subject:
    """How a topic describes an object; channels show only what their ceiling allows."""

    reference: str
    path: str
    title: str
    summary: str = ""
    classification: Classification = Classification.UNCLASSIFIED
    tlp: str | None = None
    org: str = ""
    #: Facts free of content (a receipt's hash, an arrival time), shown whatever the channel's ceiling:
    #: (label, value, time zone for a datetime value or None). Labels may be lazy (translated per reader).
    facts: tuple[tuple[Any, Any, Any], ...] = ()


class Topic(Protocol):
    def load(self, object_id: str) -> Any: ...  # noqa: E704
    def load_many(self, object_ids: list[str]) -> dict[str, Any]: ...  # noqa: E704  (one query)
    def addressed_to(self, obj: Any, message: OutboxMessage): ...  # noqa: E704  (a Select of users)
    def readable(self, user: Any, obj: Any) -> bool: ...  # noqa: E704
    def describe(self, obj: Any) -> Subject: ...  # noqa: E704


TOPICS: dict[str, Topic] = {}

#: Event kinds people can set preferences for: event → label (lazily translated).
EVENTS: dict[str, Any] = {}


#: Messages to a person about their own account (portal/accounts/notices.py): event → (label,
#: channels). They reach that person at once, whatever their preferences, and no webhook.
PERSONAL_EVENTS: dict[str, tuple[Any, tuple[str, ...]]] = {}


def register_personal_event(event: str, label: Any, channels: tuple[str, ...]) -> None:
    PERSONAL_EVENTS[event] = (label, channels)


def register_topic(object_type: str, topic: Topic) -> None:
    TOPICS[object_type] = topic


def register_event(event: str, label: Any) -> None:
    EVENTS[event] = label


@dataclass
class Ceiling:
    classification: Classification
    tlp: TLP = field(default=TLP.GREEN)

    def allows(self, subject: Subject) -> bool:
        if subject.classification > self.classification:
            return False
        return subject.tlp is None or TLP.parse(subject.tlp).rank <= self.tlp.rank


def notify(event: str, object_type: str, object_id: object, actor: Any = None,
           recipient_ids: list[int] | None = None, **payload: Any) -> OutboxMessage:
    """Queue a notification in the caller's transaction. The caller commits (with its change).

    ``recipient_ids`` narrows the topic's audience to these users (e.g. the asker of a question).
    """
    if object_type not in TOPICS:
        raise ValueError(f"no topic registered for {object_type!r}")
    if recipient_ids is not None:
        payload["recipient_ids"] = sorted(set(recipient_ids))
    message = OutboxMessage(event=event, object_type=object_type, object_id=str(object_id),
                            actor_id=getattr(actor, "id", None), payload=json.dumps(payload, sort_keys=True))
    db.session.add(message)
    return message


Renderer = Callable[..., Any]
