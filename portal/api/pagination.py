"""Keyset (cursor) pagination, newest first: constant cost at any depth, stable under inserts."""
from __future__ import annotations

import base64
import json
from typing import Any, Callable, Sequence

from flask import request
from sqlalchemy import Select

from portal.api.errors import ApiError
from portal.extensions import db

DEFAULT_LIMIT, MAX_LIMIT = 50, 200


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))["before"]
        if not isinstance(value, int) or value < 1:
            raise ValueError
        return value
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise ApiError(400, "The cursor is not one this API gave out.", {"cursor": ["Invalid cursor."]}) from None


def read_limit() -> int:
    raw = request.args.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
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
