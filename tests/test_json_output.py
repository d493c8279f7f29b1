"""JSON answers are encoded by orjson (portal/json_output.py) and mean exactly what Flask's own
encoder gave: the same values, keys sorted, compact, dates in Flask's format; what orjson refuses
falls back to the standard library rather than failing."""
from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import uuid

from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

from portal.json_output import PortalJSONProvider


@dataclasses.dataclass
class Point:
    x: int
    y: str


def _both(app, value):
    with app.test_request_context():
        ours = PortalJSONProvider(app).response(value)
        flasks = DefaultJSONProvider(app).response(value)
    return ours, flasks


def test_json_answers_carry_the_same_values_as_flasks_encoder_with_keys_sorted(app):
    app.debug = False
    value = {"zeta": 1, "alpha": [1.5, None, True, "Māori ā", {"b": 2, "a": 1}],
             "when": dt.datetime(2026, 12, 2, 17, 30, tzinfo=dt.timezone.utc), "day": dt.date(2026, 12, 2),
             "amount": decimal.Decimal("12.50"), "uid": uuid.UUID(int=7), "point": Point(1, "y"),
             "html": Markup("<b>x</b>")}
    ours, flasks = _both(app, value)
    assert ours.mimetype == flasks.mimetype == "application/json"
    assert json.loads(ours.get_data()) == json.loads(flasks.get_data())
    body = ours.get_data(as_text=True)
    # Byte for byte what Flask writes (compact, keys sorted, one final newline) but for non-ASCII,
    # written as UTF-8 rather than escaped.
    assert body == json.dumps(json.loads(flasks.get_data()), sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False) + "\n"
    assert json.loads(body)["when"] == "Wed, 02 Dec 2026 17:30:00 GMT"  # Flask's date format, as before


def test_what_orjson_refuses_is_encoded_by_the_standard_library(app):
    app.debug = False
    value = {"huge": 2**70, "lone": "\ud800"}
    ours, flasks = _both(app, value)
    assert ours.get_data() == flasks.get_data()


def test_every_json_answer_goes_through_the_portals_provider(app):
    assert isinstance(app.json, PortalJSONProvider)
