"""Reporting periods in the portal's reporting time zone (``reporting_time_zone``, default
``Pacific/Auckland``): calendar months (``2026-11``), quarters (``2026-Q4``) and the New Zealand
financial year from 1 July (``FY2026/27``). A month is kept as an integer ``YYYYMM`` of local time,
so that a New Zealand quarter starts at local midnight on its first day (11:00 or 12:00 UTC the day
before), not at 13:00 on that day as UTC months would have it."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from portal.types import utcnow

DEFAULT_ZONE = "Pacific/Auckland"
KINDS = ("month", "quarter", "year")
_PERIOD = re.compile(r"(\d{4})-(?:Q([1-4])|(0[1-9]|1[0-2]))|FY(\d{4})/(\d{2})")


def zone() -> ZoneInfo:
    """The reporting time zone (the app's setting; the default outside an application)."""
    name = DEFAULT_ZONE
    if has_app_context():
        name = getattr(current_app.extensions.get("portal_settings"), "reporting_time_zone", DEFAULT_ZONE)
    return ZoneInfo(name)


def month_of(moment: dt.datetime, tz: ZoneInfo | None = None) -> int:
    """``YYYYMM`` of the reporting month an instant falls in."""
    local = moment.astimezone(tz or zone())
    return local.year * 100 + local.month


def month_key(month: int) -> str:
    return f"{month // 100}-{month % 100:02d}"


def quarter_key(month: int) -> str:
    return f"{month // 100}-Q{(month % 100 - 1) // 3 + 1}"


def year_key(month: int) -> str:
    """The NZ financial year (1 July – 30 June) holding the month: ``FY2026/27``."""
    first = month // 100 if month % 100 >= 7 else month // 100 - 1
    return f"FY{first}/{(first + 1) % 100:02d}"


def keys_of(month: int) -> tuple[str, str, str]:
    return month_key(month), quarter_key(month), year_key(month)


def kind_of(period: str) -> str:
    months_of(period)
    return "year" if period.startswith("FY") else "quarter" if "Q" in period else "month"


def months_of(period: str) -> list[int]:
    """``2026-Q4`` → [202610, 202611, 202612]; ``2026-11`` → [202611]; ``FY2026/27`` → 202607 …
    202706. ValueError for anything else."""
    match = _PERIOD.fullmatch(period or "")
    if not match:
        raise ValueError(f"not a period: {period!r}")
    if match.group(4):
        first = int(match.group(4))
        if (first + 1) % 100 != int(match.group(5)):
            raise ValueError(f"not a financial year: {period!r}")
        return [first * 100 + m for m in range(7, 13)] + [(first + 1) * 100 + m for m in range(1, 7)]
    year = int(match.group(1))
    if match.group(2):
        first_month = (int(match.group(2)) - 1) * 3 + 1
        return [year * 100 + m for m in range(first_month, first_month + 3)]
    return [year * 100 + int(match.group(3))]


def _next_month(month: int) -> int:
    return month + 89 if month % 100 == 12 else month + 1


def _previous_month(month: int) -> int:
    return month - 89 if month % 100 == 1 else month - 1


def bounds(period: str, tz: ZoneInfo | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The period's first instant and the instant after its last, in UTC."""
    tz = tz or zone()
    months = months_of(period)
    end_month = _next_month(months[-1])

    def start_of(month: int) -> dt.datetime:
        return dt.datetime(month // 100, month % 100, 1, tzinfo=tz).astimezone(dt.timezone.utc)

    return start_of(months[0]), start_of(end_month)


def current(kind: str, now: dt.datetime | None = None) -> str:
    month = month_of(now or utcnow())
    return {"month": month_key, "quarter": quarter_key, "year": year_key}[kind](month)


def current_quarter(now: dt.datetime | None = None) -> str:
    return current("quarter", now)


def previous(period: str) -> str:
    """The period of the same kind just before."""
    first = months_of(period)[0]
    kind = kind_of(period)
    back = {"month": 1, "quarter": 3, "year": 12}[kind]
    for _ in range(back):
        first = _previous_month(first)
    return {"month": month_key, "quarter": quarter_key, "year": year_key}[kind](first)


def last_closed(kind: str, now: dt.datetime | None = None) -> str:
    return previous(current(kind, now))


def recent_months(count: int, now: dt.datetime | None = None) -> list[int]:
    out, month = [], month_of(now or utcnow())
    for _ in range(count):
        out.append(month)
        month = _previous_month(month)
    return list(reversed(out))
