from __future__ import annotations

import datetime as dt
import json
import uuid as uuid_

from sqlalchemy import ForeignKey, Index, Integer, String, Text, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.attachments import AttachedFile
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.types import ClassificationType, UTCDateTime, utcnow
from portal.vocabulary import Classification

STATUSES = ("draft", "pending-review", "published", "withdrawn")


def needs_second_publisher(classification: Classification, tlp: str | None) -> bool:
    """The two-person rule: SENSITIVE or above, or TLP:RED."""
    return classification >= Classification.SENSITIVE or tlp == "RED"


class Bulletin(db.Model):
    """A threat bulletin written by one organisation for an audience of others."""

    __tablename__ = "bulletins"
    __table_args__ = (Index("ix_bulletins_status_id", "status", "id"),
                      Index("ix_bulletins_readers_changed_at_id", "readers_changed_at", "id"),
                      # The newest bulletins of one author organisation: a backward walk (migration 0027).
                      Index("ix_bulletins_author_org_id_id", "author_org_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable across versions: the MISP event uuid (and a STIX report id) of this bulletin. Nullable
    # in the database only so that SQLite keeps its full-text triggers (migration 0019).
    uuid: Mapped[str] = mapped_column(String(36), unique=True, index=True, nullable=True,
                                      default=lambda: str(uuid_.uuid4()))
    author_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # indexed with id (__table_args__)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    classification: Mapped[Classification] = mapped_column(ClassificationType)
    tlp: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The reviewer's comment when a bulletin pending review is sent back to its author as a draft.
    review_comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    # A published bulletin's change waiting for a second publisher (JSON: the proposed bulletin as
    # input, its change note, who proposed it). The columns above stay the approved version, which
    # is all recipients ever read — pages, API, search, exports and notifications alike.
    pending_change: Mapped[str | None] = mapped_column(Text)
    # When the bulletin last changed for whoever may read it: created, a new version (which is also
    # how its audience, classification or TLP change), published, approved or withdrawn. Set by
    # ``_note_change_for_readers`` below, never by hand. It is TAXII's ``date_added``: a bulletin
    # whose audience widens is a new version with a new instant, so an ``added_after`` poll of
    # every reader who can now read it finds it (README, "TAXII 2.1 and STIX 2.1").
    readers_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    author_org: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    audience: Mapped[list["BulletinAudience"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", back_populates="bulletin"
    )
    indicators: Mapped[list["BulletinIndicator"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="BulletinIndicator.position"
    )
    typologies: Mapped[list["BulletinTypology"]] = relationship(lazy="selectin", cascade="all, delete-orphan")
    attachments: Mapped[list["BulletinAttachment"]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                                   order_by="BulletinAttachment.id")

    @property
    def typology_codes(self) -> list[str]:
        return sorted(t.code for t in self.typologies)

    @property
    def needs_second_publisher(self) -> bool:
        """The two-person rule: SENSITIVE or above, or TLP:RED."""
        return needs_second_publisher(self.classification, self.tlp)

    @property
    def proposed_change(self) -> dict | None:
        """The change waiting for review on a published bulletin (see ``pending_change``)."""
        return json.loads(self.pending_change) if self.pending_change else None

    def audience_values(self, kind: str) -> list[str]:
        return sorted(a.value for a in self.audience if a.kind == kind)


#: A change to any of these changes what some reader reads (or who reads it).
READER_FACING = ("status", "version", "classification", "tlp", "title", "summary", "body_html", "expires_at")


@event.listens_for(Session, "before_flush")
def _note_change_for_readers(session: Session, flush_context: object, instances: object) -> None:
    """Keep ``Bulletin.readers_changed_at`` true whatever code path changed the bulletin."""
    now = utcnow()
    for obj in session.new:
        if isinstance(obj, Bulletin):
            obj.readers_changed_at = now
    for obj in session.dirty:
        if isinstance(obj, Bulletin):
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in (*READER_FACING, "audience", "indicators")):
                obj.readers_changed_at = now


AUDIENCE_KINDS = ("org", "sector", "country", "user")


class BulletinAudience(db.Model):
    """One member of a bulletin's audience: an organisation slug, sector, country or user e-mail."""

    __tablename__ = "bulletin_audience"
    __table_args__ = (Index("ix_bulletin_audience_kind_value", "kind", "value", "bulletin_id"),)

    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(254), primary_key=True)

    bulletin: Mapped[Bulletin] = relationship(back_populates="audience")


class BulletinIndicator(db.Model):
    """A typed, validated indicator (a vessel's IMO, an IBAN, a wallet …) and its normalised form."""

    __tablename__ = "bulletin_indicators"
    __table_args__ = (Index("ix_bulletin_indicators_type_normalised", "type", "normalised"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    type: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(300))
    normalised: Mapped[str] = mapped_column(String(300))


class BulletinTypology(db.Model):
    __tablename__ = "bulletin_typologies"

    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class BulletinVersion(db.Model):
    """What a bulletin said at each version, and why it changed; recipients see what changed."""

    __tablename__ = "bulletin_versions"

    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    change_note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class BulletinEditor(db.Model):
    """Someone who wrote or changed the version of a bulletin that waits for review: none of them
    may approve it (the two-person rule). Cleared when a version is approved or published."""

    __tablename__ = "bulletin_editors"

    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class BulletinAcknowledgement(db.Model):
    """An organisation has read the bulletin (first person to say so, and when)."""

    __tablename__ = "bulletin_acknowledgements"

    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)


FEEDBACK_RATINGS = ("useful", "actioned", "not-relevant")


class BulletinFeedback(db.Model):
    """A recipient organisation's rating of a bulletin; the latest per organisation counts."""

    __tablename__ = "bulletin_feedback"

    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    rating: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)


class BulletinRead(db.Model):
    """When a person first opened a bulletin (for unread markers in the feed)."""

    __tablename__ = "bulletin_reads"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), primary_key=True)
    read_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class BulletinQuestion(db.Model):
    """A private thread between one recipient organisation and the author organisation."""

    __tablename__ = "bulletin_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), index=True)
    asking_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    asking_org: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    messages: Mapped[list["BulletinMessage"]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                             order_by="BulletinMessage.id")


class BulletinMessage(db.Model):
    __tablename__ = "bulletin_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("bulletin_questions.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    author_org: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)


class BulletinSighting(db.Model):
    """'We saw this': a recipient reports seeing an indicator, without sharing more."""

    __tablename__ = "bulletin_sightings"

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    indicator_id: Mapped[int | None] = mapped_column(ForeignKey("bulletin_indicators.id", ondelete="SET NULL"))
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    context: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The STIX id of a sighting written back over TAXII: the same object sent again is not counted twice.
    stix_id: Mapped[str | None] = mapped_column(String(64), unique=True)

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)


class BulletinAttachment(AttachedFile, db.Model):
    """A file attached to a bulletin; the bytes live in the attachment store, not the database."""

    __tablename__ = "bulletin_attachments"
    owner = "bulletin_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
