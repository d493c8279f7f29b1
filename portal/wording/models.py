"""Translators, and their suggestions and confirmations of wordings."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.types import UTCDateTime, utcnow


class TranslatorLanguage(db.Model):
    """A user may suggest and confirm wordings in ``language`` (granted by their org-admin)."""

    __tablename__ = "translator_languages"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = mapped_column(String(10), primary_key=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WordingSuggestion(db.Model):
    """A translator's proposed wording of one message in one language (``kind`` ``suggest``), or their
    confirmation that the current wording is right (``confirm``, which needs no decision).

    Only the message (``context``, ``msgid``, and a plural message's ``msgid_plural``), the language and
    the wording are stored: never anything from the page the translator was reading. A plural message's
    wording is one text per plural form of the language (``plural_wordings``, in ``msgstr[n]`` order;
    ``wording`` then holds the first form, for lists)."""

    __tablename__ = "wording_suggestions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="suggest")  # suggest | confirm
    language: Mapped[str] = mapped_column(String(10), index=True)
    context: Mapped[str] = mapped_column(String(100), default="")
    msgid: Mapped[str] = mapped_column(Text)
    wording: Mapped[str] = mapped_column(Text)
    msgid_plural: Mapped[str] = mapped_column(Text, default="", server_default="")
    plural_wordings: Mapped[list[str] | None] = mapped_column(JSON)

    @property
    def forms(self) -> list[str]:
        """The wording of each plural form; a singular message's one wording."""
        return list(self.plural_wordings) if self.plural_wordings is not None else [self.wording]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # pending → accepted | rejected (suggestions); confirmations are stored as "confirmed".
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
