"""Deportee notifications that share a subject with a report. Notifications hold personal data
encrypted; matching goes through keyed hashes (blind indexes), never through clear values: a
document number matches exactly, a person by birth date and folded name exactly (a fuzzy match
would need the names in clear)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, or_, select

from portal import keyring, policy
from portal.deportees.models import DeporteeIdentifier, DeporteeNotification
from portal.extensions import db

DOCUMENT_KINDS = ("passport", "national-id", "driver-licence", "other")


def find(reader: Any, identifiers: list[tuple[str, str]],
         people: list[tuple[dt.date, str]]) -> list[tuple[Any, str]]:
    """(notification, why) pairs ``reader`` may read."""
    wanted: dict[tuple[str, str], str] = {}
    for kind, value in identifiers:
        if kind in DOCUMENT_KINDS:
            wanted[("document", keyring.blind_index("document", value))] = f"{kind}: {value}"
    for born, key in people:
        wanted[("person", keyring.blind_index("person", f"{born.isoformat()}|{key}"))] = \
            f"person born {born.isoformat()}: {key}"
    if not wanted:
        return []
    hits = db.session.execute(select(DeporteeIdentifier.notification_id, DeporteeIdentifier.kind,
                                     DeporteeIdentifier.digest).where(or_(*(
                                         and_(DeporteeIdentifier.kind == k, DeporteeIdentifier.digest == d)
                                         for k, d in wanted))).limit(200)).all()
    ids = {h[0] for h in hits}
    if not ids:
        return []
    readable = {n.id: n for n in db.session.scalars(select(DeporteeNotification).where(
        DeporteeNotification.id.in_(ids), policy.deportee_notification_readable(reader)))}
    return [(readable[i], wanted[(k, d)]) for i, k, d in hits if i in readable]
