"""Column types shared by the models."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, SmallInteger
from sqlalchemy.types import TypeDecorator

from portal.vocabulary import Classification

#: The largest id the id columns can hold: they are INTEGER, signed 32-bit on PostgreSQL (where
#: SQLAlchemy casts a parameter to the column's type, so a larger one is an error, not "no row").
MAX_ID = 2**31 - 1
#: The same for BIGINT columns (the audit log's entries).
MAX_BIG_ID = 2**63 - 1


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores naive UTC on every backend; always returns an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


class ClassificationType(TypeDecorator[Classification]):
    """A classification stored as its rank, so clearance checks are integer comparisons in SQL."""

    impl = SmallInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return int(Classification.parse(value) if not isinstance(value, int) else Classification(value))

    def process_result_value(self, value: Any, dialect: Any) -> Classification | None:
        return None if value is None else Classification(value)
