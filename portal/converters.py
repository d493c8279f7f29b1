"""URL converters that answer 404 for what no row can match, before any query is made.

Werkzeug's ``int`` takes any run of digits (``\\d`` also matches other scripts' digits), so an id
beyond the column's range reached the database and came back as a server error; its ``string`` takes a
NUL byte, which PostgreSQL refuses. Installed for the whole application (pages and API alike).
"""
from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter, UnicodeConverter, ValidationError

from portal.api.errors import api_error
from portal.errors import error_page
from portal.i18n import gettext as _
from portal.security import is_api_request
from portal.types import MAX_ID


def up_to(maximum: int) -> str:
    """A regular expression of the decimal numbers from 0 to ``maximum`` (no sign, no leading
    zeros beyond one digit's): the router then never matches a larger one, for any method."""
    digits = str(maximum)
    options = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for index, digit in enumerate(digits):
        rest = len(digits) - index - 1
        low = "1" if index == 0 else "0"
        if int(digit) > int(low):
            options.append(f"{digits[:index]}[{low}-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """``<int:…>``: ASCII digits only, from 0 to :data:`MAX_ID`; anything else is 404 — whatever the
    method: a regular expression that matched a larger number and a conversion that refused it made
    Werkzeug answer 405 to every method but GET."""

    regex = up_to(MAX_ID)

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """``<name>`` and ``<string:…>``: no control characters (NUL above all) and at most 200
    characters; anything else is 404."""

    def to_python(self, value: str) -> str:
        if len(value) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValidationError()
        return value


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse_unstorable_query() -> Any:
    """before_request: a query string or submitted form whose names or values hold NUL is 400 (the
    API's error shape under /api), before a view hands it to a database that cannot store it. Form
    fields are checked here, where every page's form is parsed, not in each feature's validation;
    uploaded files are not text and are checked by their own reader."""
    values = request.args.items(multi=True)
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in FORM_TYPES:
        values = [*values, *request.form.items(multi=True)]
    # (a form part can come without a name or a value: the parser gives None, which holds no NUL)
    bad = sorted({key or "" for key, value in values if any(isinstance(text, str) and "\x00" in text
                                                           for text in (key, value))})
    if not bad:
        return None

    if is_api_request():
        return api_error(400, message="The request holds a NUL character.",
                         fields={key.replace("\x00", "") or "query": ["Holds a NUL character."] for key in bad})
    if request.method in ("GET", "HEAD"):
        abort(400)
    return error_page(400, _("A field of the form holds a NUL character, which cannot be stored. "
                             "Remove it and send the form again."))


def init_app(app: Flask) -> None:
    """Call before any route is registered (rules pick their converter when they are added), and
    after the default-deny gate (so an anonymous visitor learns nothing new)."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["default"] = TextConverter
    app.url_map.converters["string"] = TextConverter
    app.before_request(refuse_unstorable_query)
