"""Granting the translator permission, taking suggestions and confirmations, and deciding them.

Each function checks its permission (``portal/permissions.py``), records the act in the audit trail
and leaves the commit to its caller."""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Sequence

from sqlalchemy import func, select

from portal import permissions
from portal.audit import trail
from portal.extensions import db
from portal.i18n import gettext as _
from portal.payloads import check
from portal.problems import Conflict, Invalid, NotAllowed
from portal.types import utcnow
from portal.wording import overrides
from portal.wording.messages import REVIEWABLE_LANGUAGES, Message, plural_problems, plural_rule, wording_problems
from portal.wording.models import TranslatorLanguage, WordingSuggestion
from portal.wording.schemas import DecisionInput, SuggestionInput, TranslatorInput, suggestion_fields

#: Rate limits per translator: suggestions and confirmations in the last hour, suggestions waiting.
PER_HOUR = 120
PENDING_AT_ONCE = 500


class TooMany(Exception):
    """The translator has sent too many suggestions for now (429)."""


def translator_languages(user: Any) -> frozenset[str]:
    if user is None:
        return frozenset()
    rows = db.session.scalars(select(TranslatorLanguage.language).where(TranslatorLanguage.user_id == user.id))
    return frozenset(rows)


def may_suggest(user: Any, language: str) -> bool:
    if user is None or language not in REVIEWABLE_LANGUAGES or not permissions.may_be_translator(user):
        return False
    return permissions.may_suggest_wording(user, language, translator_languages(user))


def set_translator_languages(actor: Any, subject: Any, languages: Iterable[str]) -> bool:
    """Make ``subject`` a translator for exactly ``languages``; True when that changed anything."""
    if not permissions.may_grant_translator(actor, subject):
        raise NotAllowed()
    wanted = set(check(TranslatorInput, {"languages": sorted(languages)}).languages)
    rows = db.session.scalars(select(TranslatorLanguage).where(TranslatorLanguage.user_id == subject.id)).all()
    before = {row.language for row in rows}
    if wanted == before:
        return False
    for row in rows:
        if row.language not in wanted:
            db.session.delete(row)
    for language in sorted(wanted - before):
        db.session.add(TranslatorLanguage(user_id=subject.id, language=language, granted_by_id=actor.id))
    trail.record("user.translator", "user", subject.id, subject.organisation.slug,
                 before=sorted(before), after=sorted(wanted))
    return True


def _check_rate(author: Any) -> None:
    since = utcnow() - dt.timedelta(hours=1)
    recent = db.session.scalar(select(func.count()).select_from(WordingSuggestion).where(
        WordingSuggestion.author_id == author.id, WordingSuggestion.created_at >= since))
    waiting = db.session.scalar(select(func.count()).select_from(WordingSuggestion).where(
        WordingSuggestion.author_id == author.id, WordingSuggestion.status == "pending"))
    if (recent or 0) >= PER_HOUR or (waiting or 0) >= PENDING_AT_ONCE:
        raise TooMany()


def _forms(wording: str | Sequence[str]) -> list[str]:
    return [wording] if isinstance(wording, str) else [str(text) for text in wording]


def suggest(author: Any, message: Message, language: str, wording: str | Sequence[str]) -> WordingSuggestion:
    """Queue ``wording`` for the portal admin: for a plural message, one wording per plural form of the
    language. Raises Invalid (nothing stored) when a wording (form) drops or adds a placeholder or tag,
    is empty or too long: field ``wording``, or ``wording-<form>`` for a plural message."""
    if not may_suggest(author, language):
        raise NotAllowed()
    forms = _forms(wording)
    check(SuggestionInput, suggestion_fields(forms, message.is_plural))
    if message.is_plural:
        problems = plural_problems(message, language, forms)
        if problems:
            raise Invalid({f"wording-{form}": found for form, found in problems.items()})
        forms = [text.strip() for text in forms[:plural_rule(language)[0]]]
    else:
        found = wording_problems(message, forms[0] if forms else "")
        if found:
            raise Invalid({"wording": found})
        forms = [forms[0].strip()]
    _check_rate(author)
    suggestion = WordingSuggestion(kind="suggest", language=language, context=message.context,
                                   msgid=message.msgid, wording=forms[0], author_id=author.id,
                                   status="pending", msgid_plural=message.plural,
                                   plural_wordings=forms if message.is_plural else None)
    db.session.add(suggestion)
    db.session.flush()
    trail.record("wording.suggest", "wording_suggestion", suggestion.id, author.organisation.slug, language=language)
    return suggestion


def confirm(author: Any, message: Message, language: str, current: str | Sequence[str]) -> WordingSuggestion:
    """The translator says the wording in force (``current``; every form of a plural message) is right:
    the message counts as reviewed."""
    if not may_suggest(author, language):
        raise NotAllowed()
    forms = _forms(current)
    earlier = db.session.scalars(select(WordingSuggestion).where(
        WordingSuggestion.kind == "confirm", WordingSuggestion.author_id == author.id,
        WordingSuggestion.language == language, WordingSuggestion.context == message.context,
        WordingSuggestion.msgid == message.msgid, WordingSuggestion.wording == forms[0]))
    for already in earlier:
        if already.msgid_plural == message.plural and already.forms == forms:
            return already  # confirmed before, word for word: nothing changes
    _check_rate(author)
    now = utcnow()
    confirmation = WordingSuggestion(kind="confirm", language=language, context=message.context,
                                     msgid=message.msgid, wording=forms[0], author_id=author.id,
                                     status="confirmed", decided_by_id=author.id, decided_at=now,
                                     msgid_plural=message.plural,
                                     plural_wordings=forms if message.is_plural else None)
    db.session.add(confirmation)
    db.session.flush()
    overrides.changed()
    trail.record("wording.confirm", "wording_suggestion", confirmation.id, author.organisation.slug,
                 language=language)
    return confirmation


def accepts(decision: Any) -> bool:
    """Whether the queue's posted ``decision`` accepts (checked through :class:`DecisionInput`)."""
    return check(DecisionInput, {"decision": decision}).decision == "accept"


def decide(actor: Any, suggestion: WordingSuggestion, accept: bool) -> None:
    """Accept (the wording is in force in every process from their next request) or reject."""
    if not permissions.may_review_wordings(actor):
        raise NotAllowed()
    if suggestion.status != "pending":
        raise Conflict(_("This suggestion has already been decided."))
    suggestion.status = "accepted" if accept else "rejected"
    suggestion.decided_by_id = actor.id
    suggestion.decided_at = utcnow()
    if accept:
        overrides.changed()
    trail.record("wording.accept" if accept else "wording.reject", "wording_suggestion", suggestion.id,
                 language=suggestion.language)
