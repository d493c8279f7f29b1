"""Shapes shared by every API answer."""
from __future__ import annotations

import datetime as dt


def iso(value: dt.datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z``, or None."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
