"""Accepted wordings in force: each language's compiled catalogue with the accepted wordings merged
in, held by each application (process) and rebuilt only when they change.

Every acceptance (and every confirmation, which changes how much is reviewed) writes a new random
*version* into ``portal_settings``. A process reads that one row at most once per request — on a
separate connection, so that a broken or missing table never spoils the request's own transaction —
and, outside requests (e-mails rendered by jobs), at most every :data:`CHECK_SECONDS`. When the
version is unchanged nothing else happens; gettext then reads the same merged dictionary the compiled
catalogue would have given it, so a string costs no more to translate than before.

An accepted plural wording overrides every form at once: gettext holds form ``n`` of a plural message
under ``(msgid, n)``, and all of them come from the one accepted row. A row whose forms no longer fit
the language's plural rule, or whose English plural has changed since, is left out (the catalogue's
wording stays in force).
"""
from __future__ import annotations

import copy
import secrets
import threading
import time
from typing import Any

from babel.support import NullTranslations, Translations
from flask import current_app, g, has_request_context, request
from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError

from portal import settings_store
from portal.extensions import db
from portal.i18n import translations_for
from portal.settings_store import PortalSetting
from portal.wording.messages import catalogue_key, message_key, messages, plural_rule
from portal.wording.models import WordingSuggestion

VERSION_KEY = settings_store.WORDING_VERSION.key
_VERSION_SQL = f"SELECT value FROM {PortalSetting.__tablename__} WHERE key = '{VERSION_KEY}'"
#: Outside a request (jobs), how often the version is read.
CHECK_SECONDS = 2.0


def changed() -> None:
    """Mark the accepted wordings (or confirmations) as changed, in the caller's transaction: every
    process rebuilds its catalogues at its next request."""
    settings_store.write(settings_store.WORDING_VERSION, secrets.token_hex(8))


class RecordingTranslations:
    """A catalogue that notes which messages it translated: a translator's page in suggestion mode."""

    def __init__(self, inner: NullTranslations, used: dict[str, None]) -> None:
        self._inner = inner
        self.used = used

    def ugettext(self, message: str) -> str:
        self.used[message_key(None, message)] = None
        return self._inner.ugettext(message)

    def upgettext(self, context: str, message: str) -> str:
        self.used[message_key(context, message)] = None
        return self._inner.upgettext(context, message)

    def ungettext(self, singular: str, plural: str, num: int) -> str:
        self.used[message_key(None, singular)] = None
        return self._inner.ungettext(singular, plural, num)

    def unpgettext(self, context: str, singular: str, plural: str, num: int) -> str:
        self.used[message_key(context, singular)] = None
        return self._inner.unpgettext(context, singular, plural, num)


class Wordings:
    """One application's accepted wordings and review counts, and its merged catalogues."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: str | None = None
        self._checked_at = float("-inf")
        # Per language: what is merged into gettext's catalogue (keys ``msgid`` or ``(msgid, form)``),
        # and the accepted wordings for the export (a plural message's: a tuple of its forms).
        self._overrides: dict[str, dict[Any, str]] = {}
        self._accepted: dict[str, dict[str, str | tuple[str, ...]]] = {}
        self._reviewed: dict[str, frozenset[str]] = {}
        self._merged: dict[str, NullTranslations] = {}

    # --- what gettext asks ---

    def translations(self, language: str) -> Any:
        """The catalogue to translate with: compiled, plus the accepted wordings; noting the messages
        used when the reader is a translator in suggestion mode for this language."""
        self.refresh()
        merged = self._merged.get(language)
        if merged is None:
            merged = self._merge(language)
        if has_request_context() and g.get("wording_mode") == language and request.blueprint != "wording":
            used = g.setdefault("wording_used", {})
            return RecordingTranslations(merged, used)
        return merged

    def reviewed(self, language: str) -> tuple[int, int]:
        """(messages of ``language`` accepted or confirmed by a native-speaking reviewer, all messages)."""
        self.refresh()
        known = messages()
        return len(self._reviewed.get(language, frozenset()) & known.keys()), len(known)

    def reviewed_percent(self, language: str) -> int:
        done, total = self.reviewed(language)
        if not total or not done:
            return 0
        return max(1, done * 100 // total)  # "0% reviewed" would hide a start

    def accepted(self, language: str) -> dict[str, str | tuple[str, ...]]:
        """Accepted wordings of ``language`` by catalogue key (``context\\x04msgid`` or ``msgid``): a
        singular message's wording, or a plural message's forms in ``msgstr[n]`` order."""
        self.refresh(force=True)
        return dict(self._accepted.get(language, {}))

    # --- keeping current ---

    def refresh(self, force: bool = False) -> None:
        if not force:
            if has_request_context():
                if g.get("_wordings_checked"):
                    return
                g._wordings_checked = True
            elif time.monotonic() - self._checked_at < CHECK_SECONDS:
                return
        self._checked_at = time.monotonic()
        try:
            with db.engine.connect() as connection:
                # The driver's own SQL: a quarter of the cost of a compiled select, on every request.
                version = connection.exec_driver_sql(_VERSION_SQL).scalar()
                if version == self._version:
                    return
                rows = connection.execute(
                    select(WordingSuggestion.language, WordingSuggestion.context, WordingSuggestion.msgid,
                           WordingSuggestion.wording, WordingSuggestion.status, WordingSuggestion.msgid_plural,
                           WordingSuggestion.plural_wordings)
                    .where(or_(WordingSuggestion.status == "accepted", WordingSuggestion.status == "confirmed"))
                    .order_by(WordingSuggestion.decided_at, WordingSuggestion.id)).all()
        except SQLAlchemyError:
            return  # the database is unavailable or not migrated yet: keep what this process has
        overrides: dict[str, dict[Any, str]] = {}
        accepted: dict[str, dict[str, str | tuple[str, ...]]] = {}
        reviewed: dict[str, set[str]] = {}
        known = messages()
        for language, context, msgid, wording, status, msgid_plural, forms in rows:
            key, entry = message_key(context, msgid), catalogue_key(context, msgid)
            message = known.get(key)
            if msgid_plural or forms is not None:
                if (message is not None and message.plural != msgid_plural) or not isinstance(forms, list) \
                        or len(forms) != plural_rule(language)[0]:
                    continue  # the English plural or the language's rule has changed since
            elif message is not None and message.is_plural:
                continue
            reviewed.setdefault(language, set()).add(key)
            if status != "accepted":
                continue
            # The latest acceptance wins.
            if forms is not None:
                accepted.setdefault(language, {})[entry] = tuple(forms)
                overrides.setdefault(language, {}).update({(entry, n): text for n, text in enumerate(forms)})
            else:
                accepted.setdefault(language, {})[entry] = wording
                overrides.setdefault(language, {})[entry] = wording
        with self._lock:
            self._overrides = overrides
            self._accepted = accepted
            self._reviewed = {language: frozenset(keys) for language, keys in reviewed.items()}
            self._merged = {}
            self._version = version

    def _merge(self, language: str) -> NullTranslations:
        with self._lock:  # a refresh meanwhile leaves this merge in the old, discarded dictionary
            overrides, merged_by_language = self._overrides.get(language), self._merged
        base = translations_for(language)
        if not overrides:
            merged = base
        else:
            if isinstance(base, Translations):
                merged = copy.copy(base)
            else:
                merged = Translations()
                merged.plural = plural_rule(language)[1]  # type: ignore[attr-defined]
            merged._catalog = {**getattr(base, "_catalog", {}), **overrides}  # type: ignore[attr-defined]
        merged_by_language[language] = merged
        return merged


def wordings() -> Wordings:
    return current_app.extensions["portal_wordings"]
