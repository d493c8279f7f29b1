"""Settings the portal changes at run time, kept in the database (unlike ``config/``).

Each is declared once as a :class:`RunTimeSetting` with its type and default, and read and written
only through :func:`read` and :func:`write`, which give back the declared type: a switch is a
``bool``, a counter an ``int``, never the text the table keeps (JSON, in a ``Text`` column).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import String, Text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db

T = TypeVar("T", bool, int, str)


class PortalSetting(db.Model):
    __tablename__ = "portal_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True)
class RunTimeSetting(Generic[T]):
    key: str
    kind: type[T]
    default: T


#: The demonstration world is loaded (``flask demo load``; pages then show the demo banner).
DEMO_LOADED = RunTimeSetting("demo_loaded", bool, False)
#: The last activity event folded into the scorecards' monthly sums.
SCORECARD_WATERMARK = RunTimeSetting("scorecards.watermark", int, 0)

#: Changes whenever accepted wordings change: every process rebuilds its catalogues (portal.wording).
WORDING_VERSION = RunTimeSetting("wording_version", str, "")

#: Values written before settings were typed (``"yes"`` for a loaded demo).
_LEGACY = {"yes": True, "no": False}


def read(setting: RunTimeSetting[T]) -> T:
    row = db.session.get(PortalSetting, setting.key)
    if row is None or row.value == "":
        return setting.default
    try:
        value = json.loads(row.value)
    except ValueError:
        value = _LEGACY.get(row.value, row.value)
    if setting.kind is bool and not isinstance(value, bool):
        raise ValueError(f"run-time setting {setting.key!r} holds {row.value!r}, not a boolean")
    if setting.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"run-time setting {setting.key!r} holds {row.value!r}, not a whole number")
    return setting.kind(value)


def write(setting: RunTimeSetting[T], value: T) -> None:
    if type(value) is not setting.kind:
        raise TypeError(f"run-time setting {setting.key!r} takes a {setting.kind.__name__}, not {value!r}")
    text = json.dumps(value)
    row = db.session.get(PortalSetting, setting.key)
    if row is None:
        db.session.add(PortalSetting(key=setting.key, value=text))
    else:
        row.value = text


def compare_and_set(setting: RunTimeSetting[T], expected: T, value: T) -> bool:
    """Write ``value`` only if the setting still holds ``expected``; say whether it did.

    The one ``UPDATE`` both tests and writes, so of two processes that read the same value and race
    to move it on, exactly one wins, on every database: on PostgreSQL the loser's ``UPDATE`` waits
    for the winner's commit and then finds the value changed; on SQLite the winner holds the one
    write lock until it commits. The winner's transaction keeps the row until it ends, so whatever
    it writes after this call is written as of ``expected``."""
    if type(value) is not setting.kind or type(expected) is not setting.kind:
        raise TypeError(f"run-time setting {setting.key!r} takes a {setting.kind.__name__}")
    held = [json.dumps(expected)] + ([""] if expected == setting.default else [])
    changed = db.session.execute(
        update(PortalSetting).where(PortalSetting.key == setting.key, PortalSetting.value.in_(held))
        .values(value=json.dumps(value)), execution_options={"synchronize_session": "evaluate"}).rowcount
    if changed:
        return True
    if expected != setting.default or db.session.get(PortalSetting, setting.key) is not None:
        return False
    try:  # never written: the default is held, and the first to insert wins
        with db.session.begin_nested():
            db.session.add(PortalSetting(key=setting.key, value=json.dumps(value)))
    except IntegrityError:
        return False
    return True
