"""Languages, translations and reader-local formatting.

A *language* picks the message catalogue (``translations/<code>/LC_MESSAGES/messages.mo``); a
*formatting locale* picks CLDR data for dates and numbers. They are usually the same, but Babel's
CLDR has no Samoan (``sm``), Fijian (``fj``) or Bislama (``bi``): for those the portal shows the
language's catalogue and formats with the country's English or French locale (``en_WS``,
``en_FJ``, ``fr_VU``). Flask-Babel ties both to one CLDR locale, hence this small module.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.support import LazyProxy, NullTranslations, Translations
from flask import g, has_request_context, request

from portal.config import settings

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"

#: language code → (name in that language, CLDR locale used to format dates and numbers)
LANGUAGES: dict[str, tuple[str, str]] = {
    "en": ("English", "en_NZ"),
    "mi": ("Te reo Māori", "mi"),
    "sm": ("Gagana Sāmoa", "en_WS"),
    "to": ("Lea faka-Tonga", "to"),
    "fj": ("Na vosa vakaViti", "en_FJ"),
    "fr": ("Français", "fr"),
    "bi": ("Bislama", "fr_VU"),
}


def formatting_locale(language: str) -> Locale:
    """The CLDR locale for a language, falling back to its configured stand-in, then en_NZ."""
    candidate = LANGUAGES.get(language, (language, language))[1]
    for code in (language, candidate, "en_NZ"):
        try:
            locale = Locale.parse(code)
        except (UnknownLocaleError, ValueError):
            continue
        # A bare language (e.g. "sm") can parse on some Babel versions without real data; only
        # trust it when it is the configured locale.
        if code == candidate or code == "en_NZ":
            return locale
    return Locale.parse("en_NZ")


@lru_cache(maxsize=32)
def translations_for(language: str) -> NullTranslations:
    """The compiled catalogue for ``language`` (English, the source language, has none)."""
    if language == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [language], domain="messages")


#: (language, time zone) of the person a message is being written for, outside any request.
_reader: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("reader", default=None)


@contextlib.contextmanager
def reading_as(language: str, time_zone: str):
    """Render for someone else — an e-mail's recipient — in their language and time zone."""
    token = _reader.set((language, time_zone))
    try:
        yield
    finally:
        _reader.reset(token)


def current_language() -> str:
    """The reader's language: the signed-in user's choice, else the browser's, else the default."""
    override = _reader.get()
    if override is not None:
        return override[0]
    if not has_request_context():
        return "en"
    cached = getattr(g, "_language", None)
    if cached:
        return cached
    conf = settings()
    language = None
    user = _current_user()
    if user is not None and getattr(user, "locale", None) in conf.languages:
        language = user.locale
    if language is None:
        language = request.accept_languages.best_match(conf.languages) or conf.default_language
    g._language = language
    return language


def current_time_zone() -> ZoneInfo:
    default = "Pacific/Auckland"
    override = _reader.get()
    if override is not None:
        return zone(override[1])
    if has_request_context():
        default = settings().default_time_zone
        user = _current_user()
        if user is not None and getattr(user, "time_zone", None):
            return zone(user.time_zone)
    return zone(default)


def _current_user() -> Any:
    user = getattr(g, "portal_user", None)
    if user is not None:
        return user
    try:
        from flask_login import current_user

        return current_user if current_user.is_authenticated else None
    except Exception:  # outside a login-managed app (CLI)
        return None


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Pacific/Auckland")


@lru_cache(maxsize=1)
def time_zone_names() -> tuple[str, ...]:
    return tuple(sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/")))


def is_time_zone(name: str) -> bool:
    return name in time_zone_names()


def gettext(message: str, **variables: Any) -> str:
    text = translations_for(current_language()).ugettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    text = translations_for(current_language()).ungettext(singular, plural, num)
    return text % variables


def lazy_gettext(message: str, **variables: Any) -> LazyProxy:
    """A string translated when it is used, for labels defined at import time (forms, enums)."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


_ = gettext


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it with gettext where it is used."""
    return message


def to_local(value: dt.datetime, tz: ZoneInfo | None = None) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(tz or current_time_zone())


def format_datetime(value: dt.datetime | None, format: str = "medium", tz: str | None = None) -> str:
    """A moment in the reader's time zone (or ``tz``), in the reader's language: the date, the time
    to the minute, and the zone — its abbreviation (NZDT) or, where IANA has none (+13), its place."""
    if value is None:
        return ""
    zone_info = zone(tz) if tz else current_time_zone()
    local = to_local(value, zone_info)
    locale = formatting_locale(current_language())
    date_text = babel_dates.format_date(local, format=format, locale=locale)
    time_text = babel_dates.format_time(local, format="short", tzinfo=zone_info, locale=locale)
    pattern = str(locale.datetime_formats.get(format, "{1} {0}"))
    return f"{pattern.replace('{1}', date_text).replace('{0}', time_text)} {zone_label(local, zone_info)}"


def zone_label(local: dt.datetime, zone_info: ZoneInfo) -> str:
    abbreviation = local.tzname() or ""
    if abbreviation[:1].isalpha():
        return abbreviation
    place = zone_info.key.rsplit("/", 1)[-1].replace("_", " ")
    return f"({place}, UTC{abbreviation})" if abbreviation else f"({place})"


def format_date(value: dt.date | dt.datetime | None, format: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = to_local(value).date()
    return babel_dates.format_date(value, format=format, locale=formatting_locale(current_language()))


def format_number(value: int | float) -> str:
    return babel_numbers.format_decimal(value, locale=formatting_locale(current_language()))


def init_app(app: Any) -> None:
    """Install gettext into Jinja and the formatting filters templates use."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["number"] = format_number

    @app.context_processor
    def language_context() -> dict[str, Any]:
        return {"current_language": current_language(), "LANGUAGES": LANGUAGES}
