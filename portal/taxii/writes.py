"""Partners write back over TAXII: ``sighting`` objects (with the ``observed-data`` they rest on)
become the portal's own sightings (``bulletins.service.report_sighting``: the author is notified,
the sighting counts in the scorecards as one reported on the page does).

Each object succeeds or fails on its own, and the answer (TAXII's status resource) says which and
why. A sighting must refer (``sighting_of_ref``) to an indicator or report the writer may read;
one about something it cannot read fails exactly as one about something unknown. An object that
fails leaves nothing behind: each is written in its own savepoint, audit entries included.
``observed-data`` is taken as the evidence of a sighting in the same envelope (its
``first_observed`` is when it was seen), and fails alone.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

from sqlalchemy import select

from portal import policy
from portal.audit import trail
from portal.bulletins import service as bulletins
from portal.bulletins.models import Bulletin, BulletinSighting
from portal.dates import parse_instant
from portal.extensions import db
from portal.problems import Conflict, Invalid, NotAllowed
from portal.taxii import stix
from portal.taxii.models import TaxiiStatus
from portal.taxii.service import identifiers
from portal.types import utcnow

MAX_OBJECTS = 500
STIX_ID = re.compile(r"^([a-z][a-z0-9-]{1,248})--([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12})$")
UNKNOWN_REF = "sighting_of_ref does not name an indicator or report you may read."


class Refused(Exception):
    """This object is refused; the message says why (it goes to the status resource)."""


def _timestamp(obj: dict[str, Any], name: str, required: bool = False) -> dt.datetime | None:
    value = obj.get(name)
    if value is None and not required:
        return None
    try:
        return parse_instant(value, require_time=True, require_offset=True)
    except ValueError:
        raise Refused(f"{name} must be a STIX timestamp (e.g. 2026-12-01T03:00:00.000Z).") from None


def _common(obj: dict[str, Any]) -> tuple[str, str]:
    """The checks every STIX 2.1 object must pass; returns (id, version)."""
    match = STIX_ID.match(obj.get("id") or "") if isinstance(obj.get("id"), str) else None
    if not match or match.group(1) != obj.get("type"):
        raise Refused("id must be '<type>--<UUID>' with the object's own type.")
    if obj.get("spec_version") != stix.SPEC_VERSION:
        raise Refused("spec_version must be '2.1'.")
    created = _timestamp(obj, "created", required=True)
    modified = _timestamp(obj, "modified", required=True)
    if modified < created:
        raise Refused("modified is before created.")
    return obj["id"], obj["modified"]


def _observed(obj: dict[str, Any]) -> dt.datetime:
    first = _timestamp(obj, "first_observed", required=True)
    last = _timestamp(obj, "last_observed", required=True)
    count = obj.get("number_observed")
    if type(count) is not int or not 1 <= count <= 999_999_999:
        raise Refused("number_observed must be a whole number from 1 to 999,999,999.")
    if last < first:
        raise Refused("last_observed is before first_observed.")
    refs = obj.get("object_refs")
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) and STIX_ID.match(r) for r in refs):
        raise Refused("object_refs must list the observed objects' ids.")
    return first


def _target(reader: Any, ref: Any) -> tuple[Bulletin, int | None]:
    """The bulletin (and indicator row) a sighting is about, if the reader may read it."""
    if not isinstance(ref, str) or not STIX_ID.match(ref) or not ref.startswith(("indicator--", "report--")):
        raise Refused(UNKNOWN_REF)
    ids = identifiers()
    decoded = ids.decode(ref)
    if decoded is None or decoded.kind not in ("indicator", "report"):
        raise Refused(UNKNOWN_REF)
    bulletin = db.session.scalar(policy.readable_bulletins(reader).where(Bulletin.id == decoded.key))
    if bulletin is None:
        raise Refused(UNKNOWN_REF)
    if decoded.kind == "report":
        if ref != ids.make("report", "report", bulletin.id):
            raise Refused(UNKNOWN_REF)
        return bulletin, None
    for indicator in bulletin.indicators:
        if ids.make("indicator", "indicator", bulletin.id, indicator.type, indicator.normalised) == ref:
            return bulletin, indicator.id
    raise Refused(UNKNOWN_REF)


def _sighting(reader: Any, obj: dict[str, Any], observed: dict[str, dt.datetime]) -> None:
    stix_id, _version = _common(obj)
    existing = db.session.scalar(select(BulletinSighting).where(BulletinSighting.stix_id == stix_id))
    if existing is not None:
        if existing.organisation_id == reader.organisation_id:
            return  # sent again: already recorded
        raise Refused("This id is already used by another organisation's sighting.")
    bulletin, indicator_id = _target(reader, obj.get("sighting_of_ref"))
    refs = obj.get("observed_data_refs") or []
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise Refused("observed_data_refs must list observed-data ids.")
    if missing := [r for r in refs if r not in observed]:
        raise Refused(f"observed_data_refs names observed-data not in this envelope (or refused): {missing[0][:80]}.")
    seen_at = _timestamp(obj, "first_seen") or min((observed[r] for r in refs), default=None) \
        or _timestamp(obj, "created", required=True)
    count = obj.get("count")
    if count is not None and (type(count) is not int or not 0 <= count <= 999_999_999):
        raise Refused("count must be a whole number from 0 to 999,999,999.")
    description = obj.get("description", "")
    if not isinstance(description, str):
        raise Refused("description must be text.")
    context = description.strip()
    if count:
        context = f"{context} (seen {count} times)".strip()
    try:
        sighting = bulletins.report_sighting(bulletin, reader, {
            "seen_at": seen_at.isoformat(), "context": context, "indicator": indicator_id})
    except Invalid as invalid:
        raise Refused(" ".join(str(m) for messages in invalid.fields.values() for m in messages)) from None
    except (NotAllowed, Conflict) as refusal:
        raise Refused(str(refusal)) from None
    except LookupError:
        raise Refused(UNKNOWN_REF) from None
    sighting.stix_id = stix_id
    db.session.flush()


def add(reader: Any, collection_id: str, objects: list[dict[str, Any]]) -> TaxiiStatus:
    """Take each object of an envelope on its own; record and return the status resource."""
    successes: list[dict[str, str]] = []
    failures: list[dict[str, str]] = []
    observed: dict[str, dt.datetime] = {}
    pending: dict[str, dict[str, Any]] = {}

    def fail(obj: dict[str, Any], message: str) -> None:
        failures.append({"id": str(obj.get("id", ""))[:300], "version": str(obj.get("modified", ""))[:40],
                         "message": message})

    # Evidence first, so that a sighting may come before or after the observed-data it rests on.
    for obj in objects:
        if obj.get("type") == "observed-data":
            try:
                stix_id, _version = _common(obj)
                observed[stix_id] = _observed(obj)
                pending[stix_id] = obj
            except Refused as refusal:
                fail(obj, str(refusal))
    used: set[str] = set()
    for obj in objects:
        kind = obj.get("type")
        if kind == "observed-data":
            continue
        if kind != "sighting":
            fail(obj, "This collection takes sighting objects (and the observed-data they rest on).")
            continue
        queued = trail.pending_count()
        savepoint = db.session.begin_nested()
        try:
            _sighting(reader, obj, observed)
            savepoint.commit()
            successes.append({"id": obj["id"], "version": obj["modified"]})
            used.update(obj.get("observed_data_refs") or [])
        except Refused as refusal:
            savepoint.rollback()
            del db.session().info.get(trail.PENDING, [])[queued:]  # its audit entries go with it
            fail(obj, str(refusal))
    for stix_id, obj in pending.items():
        if stix_id in used:
            successes.append({"id": stix_id, "version": obj["modified"]})
        else:
            fail(obj, "observed-data is taken as the evidence of a sighting in the same envelope; no accepted "
                      "sighting refers to it.")
    status = TaxiiStatus(id=str(uuid.uuid4()), user_id=reader.id, collection_id=collection_id,
                         requested_at=utcnow(), total_count=len(objects), successes=json.dumps(successes),
                         failures=json.dumps(failures))
    db.session.add(status)
    trail.record("taxii.write", "taxii_collection", collection_id, via="taxii", status=status.id,
                 total=len(objects), succeeded=len(successes), failed=len(failures))
    return status
