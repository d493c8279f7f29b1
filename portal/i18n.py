"""Languages, translations and reader-local formatting.

A *language* picks the message catalogue (``translations/<code>/LC_MESSAGES/messages.mo``); a
*formatting locale* picks CLDR data for dates and numbers. They are usually the same, but Babel's
CLDR has no Samoan (``sm``), Fijian (``fj``) or Bislama (``bi``): for those the portal shows the
language's catalogue and formats with the country's English or French locale (``en_WS``,
``en_FJ``, ``fr_VU``) — its patterns only: month, weekday, day-period and country names come from
the language's catalogue (``portal/locale_names.py``), so no English or French word is left on the
page. Flask-Babel ties both to one CLDR locale, hence this small module.

Compiled catalogues (``.mo``) are build products: :func:`compile_catalogues` writes any that is
missing or older than its ``.po`` when the portal starts, next to the ``.po`` when that directory is
writable, else under the instance directory.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import os
import tempfile
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, NullTranslations, Translations
from flask import current_app, g, has_app_context, has_request_context, request
from flask_login import current_user

from portal import locale_names as names
from portal.config import settings
from portal.markers import N_, NP_  # noqa: F401  (features mark their strings through portal.i18n)

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

#: Languages whose catalogues were machine-drafted and await review by native-speaking officers.
DRAFT_LANGUAGES = frozenset({"mi", "sm", "to", "fj", "bi"})


def has_cldr(language: str) -> bool:
    """Whether CLDR has the language itself (its formatting locale is not another language's)."""
    candidate = LANGUAGES.get(language, (language, language))[1]
    return candidate.split("_")[0] == language


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


#: Where compiled catalogues are looked for, first match wins: filled by compile_catalogues().
_compiled_dirs: list[Path] = []


@lru_cache(maxsize=32)
def translations_for(language: str) -> NullTranslations:
    """The compiled catalogue for ``language`` (English, the source language, has none)."""
    if language == "en":
        return NullTranslations()
    for directory in [*_compiled_dirs, TRANSLATIONS_DIR]:
        if (directory / language / "LC_MESSAGES" / "messages.mo").exists():
            return Translations.load(str(directory), [language], domain="messages")
    return NullTranslations()


def _fresh(mo: Path, po: Path) -> bool:
    return mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime


def _write_atomically(target: Path, po: Path) -> None:
    """Compile ``po`` into ``target`` through a temporary file, so that a concurrent reader (another
    worker starting at the same moment) sees the old file or the new one, never half of one."""
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=None)
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(descriptor, "wb") as out:
            write_mo(out, catalog, use_fuzzy=False)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def compile_catalogues(fallback_dir: Path | str | None = None, source_dir: Path | None = None) -> list[Path]:
    """Make every catalogue's ``.mo`` current: compile each one that is missing or older than its
    ``.po``, next to it when that directory is writable, else under ``fallback_dir`` (the instance
    directory). Returns the files written. A deployment set up from a clean checkout therefore
    speaks every language without a separate build step."""
    source = source_dir or TRANSLATIONS_DIR
    written: list[Path] = []
    fallback = Path(fallback_dir) if fallback_dir else None
    for po in sorted(source.glob("*/LC_MESSAGES/messages.po")):
        language = po.parent.parent.name
        beside = po.with_suffix(".mo")
        if _fresh(beside, po):
            continue
        if fallback is not None:
            elsewhere = fallback / language / "LC_MESSAGES" / "messages.mo"
            if _fresh(elsewhere, po):
                continue
        try:
            _write_atomically(beside, po)
            written.append(beside)
        except OSError:
            if fallback is None:
                raise
            _write_atomically(elsewhere, po)
            written.append(elsewhere)
    if fallback is not None and fallback not in _compiled_dirs:
        _compiled_dirs.insert(0, fallback)
    translations_for.cache_clear()
    return written


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


def _translations() -> Any:
    """The catalogue gettext reads for the current reader: the compiled one with the wordings
    accepted at run time merged in (``portal/wording``). Within a request it is looked up once (the
    reader's language is fixed for the request), so a string costs one dictionary look-up as before."""
    if _reader.get() is None and has_request_context():
        cached = g.get("_translations")
        if cached is None:
            cached = g._translations = _catalogue(current_language())
        return cached
    return _catalogue(current_language())


def _catalogue(language: str) -> Any:
    wordings = current_app.extensions.get("portal_wordings") if has_app_context() else None
    return wordings.translations(language) if wordings is not None else translations_for(language)


def gettext(message: str, **variables: Any) -> str:
    text = _translations().ugettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    text = _translations().ungettext(singular, plural, num)
    return text % variables


def pgettext(context: str, message: str, **variables: Any) -> str:
    """A message whose meaning depends on ``context`` (``month``, ``weekday``, ``country``, …)."""
    text = _translations().upgettext(context, message)
    return text % variables if variables else text


def npgettext(context: str, singular: str, plural: str, num: int, **variables: Any) -> str:
    """A plural message whose meaning depends on ``context``."""
    variables.setdefault("num", num)
    text = _translations().unpgettext(context, singular, plural, num)
    return text % variables


def lazy_gettext(message: str, **variables: Any) -> LazyProxy:
    """A string translated when it is used, for labels defined at import time (forms, enums)."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


_ = gettext


def country_name(code: str | None) -> str:
    """A country's name in the reader's language: CLDR's where CLDR has the language, else the
    catalogue's (``country`` context); a code neither knows is shown as it is."""
    if not code:
        return ""
    code = code.strip().upper()
    language = current_language()
    if has_cldr(language):
        name = formatting_locale(language).territories.get(code)
        return str(name) if name else code
    if code in names.COUNTRIES:
        return pgettext("country", names.COUNTRIES[code])
    return code


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
    language = current_language()
    locale = formatting_locale(language)
    date_text = babel_dates.format_date(local, format=_pattern(locale.date_formats, format, local, language),
                                        locale=locale)
    time_text = babel_dates.format_time(local, format=_pattern(locale.time_formats, "short", local, language),
                                        tzinfo=zone_info, locale=locale)
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
    language = current_language()
    locale = formatting_locale(language)
    return babel_dates.format_date(value, format=_pattern(locale.date_formats, format, value, language),
                                   locale=locale)


def _pattern(formats: Any, format: str, value: dt.date, language: str) -> str:
    """The CLDR pattern for ``format`` (or ``format`` itself, a pattern). For a language CLDR lacks,
    its month, weekday and day-period fields become the catalogue's words, as quoted literals."""
    pattern = str(formats[format].pattern) if format in formats else format
    if has_cldr(language):
        return pattern
    tokens: list[tuple[str, Any]] = []
    for kind, data in babel_dates.tokenize_pattern(pattern):
        if kind == "field":
            char, count = data
            if char in "ML" and count >= 3:
                months = names.MONTHS_WIDE if count == 4 else names.MONTHS_ABBREVIATED
                context = names.MONTH_CONTEXTS["wide" if count == 4 else "abbreviated"]
                kind, data = "chars", pgettext(context, months[value.month - 1])
            elif (char == "E" or (char in "ec" and count >= 3)) and count <= 4:
                days = names.WEEKDAYS_WIDE if count == 4 else names.WEEKDAYS_ABBREVIATED
                context = names.WEEKDAY_CONTEXTS["wide" if count == 4 else "abbreviated"]
                kind, data = "chars", pgettext(context, days[value.weekday()])
            elif char in "abB" and isinstance(value, dt.datetime):
                period = "am" if value.hour < 12 else "pm"
                kind, data = "chars", pgettext("day period", names.DAY_PERIODS[period])
        tokens.append((kind, data))
    return babel_dates.untokenize_pattern(tokens)


def format_number(value: int | float | str | Decimal) -> str:
    """A number with the reader's digit grouping and decimal sign (``9 500,5`` for a French reader)."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return babel_numbers.format_decimal(number, locale=formatting_locale(current_language()))


def format_amount(value: int | float | str | Decimal | None, currency: str | None) -> str:
    """An amount of money as the reader writes it: ``NZ$9,500.00`` (English), ``9 500,00 $NZ``
    (French). A bare ``$`` names no country on a portal shared across the Pacific, so it becomes
    the English symbol that does (``NZ$``, ``US$``), else the ISO code. Unreadable input is shown
    as it came."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return f"{value} {currency or ''}".strip()
    locale = formatting_locale(current_language())
    if not currency:
        return babel_numbers.format_decimal(number, locale=locale)
    code = str(currency).upper()
    try:
        text = babel_numbers.format_currency(number, code, locale=locale)
    except (ValueError, babel_numbers.UnknownCurrencyError):
        return f"{babel_numbers.format_decimal(number, locale=locale)} {code}"
    symbol = locale.currency_symbols.get(code, code)
    if symbol and not any(ch.isalpha() for ch in symbol):
        for other in ("en", "en_NZ"):
            candidate = Locale.parse(other).currency_symbols.get(code, "")
            if any(ch.isalpha() for ch in candidate):
                break
        else:
            candidate = code
        text = text.replace(symbol, candidate, 1)
    return text


def format_day(value: dt.date | dt.datetime | str | None, format: str = "medium", tz: str | None = None) -> str:
    """A calendar day — a birth date, a due date, a "review by" date — as that same day for every
    reader: never moved into the reader's time zone (which would show a birthday a day early in
    Honolulu). A stored instant standing for a day gives its date where it was typed: in ``tz``
    (say, the author's), else in UTC; text that is not ``YYYY-MM-DD`` is shown as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
        day = aware.astimezone(zone(tz) if tz else dt.timezone.utc).date()
    elif isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            return str(value)
    language = current_language()
    locale = formatting_locale(language)
    return babel_dates.format_date(day, format=_pattern(locale.date_formats, format, day, language), locale=locale)


def init_app(app: Any) -> None:
    """Install gettext into Jinja and the formatting filters templates use."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["amount"] = format_amount
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["country"] = country_name
    app.jinja_env.globals["pgettext"] = pgettext
    app.jinja_env.globals["npgettext"] = npgettext
    compile_catalogues(fallback_dir=Path(app.instance_path) / "translations")

    @app.context_processor
    def language_context() -> dict[str, Any]:
        return {"current_language": current_language(), "LANGUAGES": LANGUAGES,
                "DRAFT_LANGUAGES": DRAFT_LANGUAGES}
