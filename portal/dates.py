"""Dates and times from requests, parsed in one place and kept inside the years the portal can use.

Python takes ``0001-01-01`` and ``9999-12-31T23:59:59-14:00``; moving either to UTC, or adding a
reminder's delay to it, overflows, and PostgreSQL cannot read back an instant after the year 9999.
Every form field, JSON field and query parameter that holds a date or a time goes through
:func:`parse_day` or :func:`parse_instant`, which raise :class:`ValueError` (never anything else)
for what is not a date, or is one outside :data:`FIRST_YEAR`–:data:`LAST_YEAR`.

A person types wall-clock time where they are: a date or time from a form without an offset is read
in the reader's time zone (:func:`from_form`), so a sighting typed at 09:00 in Apia is 09:00 in Apia,
not 09:00 UTC (thirteen hours later, and so "in the future"). The API keeps its documented rule: no
offset means UTC.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from portal.vocabulary import COUNTRY_TIME_ZONES

#: The range of years any date or time the portal stores may fall in.
FIRST_YEAR, LAST_YEAR = 1800, 2999
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class OutOfRange(ValueError):
    """A real date, but outside the years the portal accepts."""


def parse_day(value: Any) -> dt.date:
    """``YYYY-MM-DD`` (ASCII digits only) within the accepted years."""
    if not isinstance(value, str) or not _DAY.fullmatch(value.strip()):
        raise ValueError("not a date as YYYY-MM-DD")
    day = dt.date.fromisoformat(value.strip())
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise OutOfRange(f"the year must be from {FIRST_YEAR} to {LAST_YEAR}")
    return day


def parse_instant(value: Any, *, require_time: bool = False, require_offset: bool = False,
                  time_zone: str | None = None) -> dt.datetime:
    """An ISO 8601 date or date and time, in UTC. Without an offset it is taken as wall-clock time in
    ``time_zone`` when one is given, else as UTC (unless ``require_offset``); a bare date is its
    midnight (unless ``require_time``)."""
    if not isinstance(value, str) or not value.strip() or not value.strip().isascii():
        raise ValueError("not an ISO 8601 date or time")
    text = value.strip()
    if require_time and "T" not in text.upper():
        raise ValueError("a time is required")
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        if require_offset:
            raise ValueError("an offset (or Z) is required")
        moment = moment.replace(tzinfo=_zone(time_zone) if time_zone else dt.timezone.utc)
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise OutOfRange(f"the year must be from {FIRST_YEAR} to {LAST_YEAR}")
    # Within these years neither the move to UTC nor a later delay of days can overflow.
    return moment.astimezone(dt.timezone.utc)


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.timezone.utc


def from_form(value: Any, time_zone: str) -> Any:
    """A date or date and time typed into a form, read in the reader's ``time_zone`` when it carries
    no offset, as ISO 8601 with its offset (what the services take). What does not parse is returned
    as it came, for the service to refuse with its own message."""
    try:
        return parse_instant(value, time_zone=time_zone).isoformat()
    except ValueError:
        return value


def time_zone_for_country(country: str | None, fallback: str) -> str:
    """The time zone a new person of an organisation in ``country`` most likely lives in (WS →
    Pacific/Apia, TO → Pacific/Tongatapu, …); ``fallback`` for a country not listed."""
    return COUNTRY_TIME_ZONES.get((country or "").upper(), fallback)
