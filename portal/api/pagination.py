"""Keyset (cursor) pagination, newest first: constant cost at any depth, stable under inserts."""
from __future__ import annotations

import base64
import json
import re
from typing import Any, Callable, Sequence

from flask import request
from sqlalchemy import Select

from portal.api.errors import ApiError
from portal.extensions import db
from portal.types import MAX_ID

DEFAULT_LIMIT, MAX_LIMIT = 50, 200


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": last_id}).encode()).decode().rstrip("=")


#: A cursor this API gives out is about 20 characters; anything much longer is not one of ours.
MAX_CURSOR_CHARS = 64


def decode_cursor(cursor: str, maximum: int = MAX_ID) -> int:
    """The id a cursor points before, or the contract's 400 for anything this API did not give out
    (``maximum``: the largest value the id column holds)."""
    try:
        if len(cursor) > MAX_CURSOR_CHARS or not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
            raise ValueError
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))["before"]
        if type(value) is not int or not 1 <= value <= maximum:
            raise ValueError
        return value
    except (ValueError, KeyError, TypeError, IndexError, RecursionError):
        raise ApiError(400, "The cursor is not one this API gave out.", {"cursor": ["Invalid cursor."]}) from None


def read_limit() -> int:
    """``?limit=``: ASCII digits, 1–200 (``str.isdigit`` would take '²')."""
    raw = request.args.get("limit", str(DEFAULT_LIMIT))
    if not re.fullmatch(r"[0-9]{1,3}", raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, "limit must be a whole number from 1 to 200.", {"limit": ["Must be 1–200."]})
    return int(raw)


def paginate(statement: Select, id_column: Any, serialise: Callable[[Any], dict]) -> dict[str, Any]:
    """Run ``statement`` (already filtered by the access policy) one page at a time."""
    limit = read_limit()
    cursor = request.args.get("cursor")
    if cursor:
        statement = statement.where(id_column < decode_cursor(cursor))
    rows: Sequence[Any] = db.session.scalars(statement.order_by(id_column.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [serialise(r) for r in rows],
            "next_cursor": encode_cursor(rows[-1].id) if more and rows else None}
