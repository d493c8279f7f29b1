"""Deportee notifications that share a subject with a report. Notifications hold personal data
encrypted; matching goes through keyed hashes (blind indexes), never through clear values."""
from __future__ import annotations

import datetime as dt
from typing import Any


def find(reader: Any, identifiers: list[tuple[str, str]],
         people: list[tuple[dt.date, str]]) -> list[tuple[Any, str]]:
    """(notification, why) pairs ``reader`` may read. Notifications carry no personal data yet."""
    return []
