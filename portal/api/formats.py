"""Shapes shared by every API answer."""
from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from flask import request

from portal.api.errors import ApiError
from portal.config import settings


def iso(value: dt.datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z``, or None."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def iso_stored(value: dt.datetime | str | None) -> str | None:
    """``iso()`` of a UTC instant read without its column type's conversion
    (``type_coerce(column, String)``): a naive UTC datetime from PostgreSQL, SQLAlchemy's
    ``YYYY-MM-DD HH:MM:SS.ffffff`` text from SQLite. The same string as ``iso()`` of the aware value,
    without building one: a feed page has a hundred of them."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " " and value[19] == ".":
            return f"{value[:10]}T{value[11:19]}Z" if value.endswith(".000000") else f"{value[:10]}T{value[11:]}Z"
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        return iso(value)
    return f"{value.isoformat()}Z"


#: No payload of this API nests deeper than a few levels; 32 leaves room and refuses "[[[[…".
MAX_JSON_DEPTH = 32
#: Integers in a body are ids or counts: anything beyond a signed 64-bit column is refused here.
MAX_JSON_INT = 2**63 - 1


def read_body(limit: int) -> bytes:
    """The request body, read at most ``limit`` bytes at a time, whatever its framing (a
    ``Content-Length``, or chunked with none): 413 as soon as it is larger, never after."""
    too_large = ApiError(413, f"The body is larger than {limit // 1024} KiB.")
    if (request.content_length or 0) > limit:
        raise too_large
    stream, parts, size = request.stream, [], 0
    while True:
        part = stream.read(min(64 * 1024, limit + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
        if size > limit:
            raise too_large
    return b"".join(parts)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def check_json_value(value: Any) -> dict[str, list[str]]:
    """Problems with a parsed JSON value that no field may carry, by field path: nesting deeper
    than :data:`MAX_JSON_DEPTH`, integers beyond 64 bits, non-finite numbers, and text that a
    database cannot store (NUL, unpaired surrogates). Iterative: the depth is checked, not trusted."""
    problems: dict[str, list[str]] = {}
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        name = path or "body"
        if depth > MAX_JSON_DEPTH:
            problems.setdefault(name, []).append(f"Nested deeper than {MAX_JSON_DEPTH} levels.")
            continue
        if isinstance(item, dict):
            for key, child in item.items():
                if not _storable(key):
                    problems.setdefault(name, []).append("A key holds a character that cannot be stored.")
                    continue
                stack.append((child, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(item, list):
            for index, child in enumerate(item):
                stack.append((child, f"{path}.{index}" if path else str(index), depth + 1))
        elif isinstance(item, str):
            if not _storable(item):
                problems.setdefault(name, []).append("Holds a character that cannot be stored (NUL or a lone surrogate).")
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if abs(item) > MAX_JSON_INT:
                problems.setdefault(name, []).append("The number is too large.")
        elif isinstance(item, float) and not math.isfinite(item):
            problems.setdefault(name, []).append("The number is too large.")
    return problems


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_body(limit: int | None = None) -> dict:
    """The request's JSON object, or the contract's 415 / 413 / 400. Every API body is read here,
    so the size limit (``limit``, else ``Settings.api_body_max_bytes``), the nesting cap and the
    checks of :func:`check_json_value` hold for all."""
    if request.mimetype != "application/json":
        raise ApiError(415)
    raw = read_body(settings().api_body_max_bytes if limit is None else limit)
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise ApiError(400, "The body is not valid JSON.", {"body": ["Send a JSON object."]}) from None
    if not isinstance(data, dict):
        raise ApiError(400, "The body is not a JSON object.", {"body": ["Send a JSON object."]})
    problems = check_json_value(data)
    if problems:
        raise ApiError(400, "The body holds values no field accepts; nothing was stored.", problems)
    return data
