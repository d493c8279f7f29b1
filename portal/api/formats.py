"""Shapes shared by every API answer."""
from __future__ import annotations

import datetime as dt


def iso(value: dt.datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z``, or None."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


MAX_JSON_BYTES = 1024 * 1024


def json_body(limit: int = MAX_JSON_BYTES) -> dict:
    """The request's JSON object, or the contract's 415 / 413 / 400."""
    from flask import request

    from portal.api.errors import ApiError

    if request.mimetype != "application/json":
        raise ApiError(415)
    if (request.content_length or 0) > limit:
        raise ApiError(413, f"The body is larger than {limit // 1024} KiB.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "The body is not a JSON object.", {"body": ["Send a JSON object."]})
    return data
