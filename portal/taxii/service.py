"""TAXII collections over the one access policy: which objects a reader gets, a page at a time.

A collection's objects are a stream ordered by (date_added, bulletin, position): first the portal's
own definitions (:func:`portal.taxii.stix.definitions`, date_added :data:`DEFINITIONS_ADDED`), then,
bulletin by bulletin in the order of ``Bulletin.readers_changed_at``, each readable bulletin's objects.
A page reads the readable bulletins after the cursor (``policy.readable_bulletins``: the same SQL
criterion as every page and the JSON API), then their indicators and typologies for the whole page:
three queries whatever the page size (``tests/test_taxii.py`` counts them).

date_added is the bulletin's ``readers_changed_at``: when it was created, got a new version (which
is how its audience, classification or TLP change), was published, approved or withdrawn. So a
bulletin whose audience widens comes again, as a new version, to every ``added_after`` poll.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from flask import current_app
from sqlalchemy import and_, or_, select

from portal import policy
from portal.config import settings
from portal.converters import MAX_ID
from portal.bulletins.models import Bulletin, BulletinIndicator, BulletinTypology
from portal.dates import parse_instant
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.taxii import stix

#: The date_added of the portal's own definitions: before any bulletin.
DEFINITIONS_ADDED = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
DEFAULT_LIMIT, MAX_LIMIT = 1000, 10_000
MATCH_KEYS = ("id", "type", "version", "spec_version")


class BadRequest(ValueError):
    """A filter or cursor the server cannot use: TAXII's 400."""


def identifiers() -> stix.Identifiers:
    app = current_app
    ids = app.extensions.get("portal_stix_ids")
    if ids is None:
        ids = app.extensions["portal_stix_ids"] = stix.Identifiers(settings(app).base_url)
    return ids


@dataclass
class Query:
    """A poll's filters: ``added_after``, ``limit``, ``next`` and ``match[…]``."""

    added_after: dt.datetime | None = None
    limit: int = DEFAULT_LIMIT
    after: tuple[dt.datetime, int, int] | None = None  # the cursor: (date_added, bulletin id, position)
    ids: set[str] = field(default_factory=set)
    types: set[str] = field(default_factory=set)
    versions: set[str] = field(default_factory=lambda: {"last"})
    spec_versions: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, args: Any, paged: bool = True) -> "Query":
        query = cls()
        for key in args:
            if key.startswith("match[") and key[6:-1] not in MATCH_KEYS or (
                    key.startswith("match[") and not key.endswith("]")):
                raise BadRequest(f"Unknown filter {key}: use match[id], match[type], match[version] or "
                                 f"match[spec_version].")
        if raw := args.get("added_after"):
            try:
                query.added_after = parse_instant(raw, require_time=True)
            except ValueError:
                raise BadRequest("added_after is a timestamp, e.g. 2026-12-01T00:00:00.000Z.") from None
        if paged:
            raw = args.get("limit")
            if raw is not None:
                if not re.fullmatch(r"[0-9]{1,6}", raw) or not 1 <= int(raw) <= MAX_LIMIT:
                    raise BadRequest(f"limit is a whole number from 1 to {MAX_LIMIT}.")
                query.limit = int(raw)
            if raw := args.get("next"):
                query.after = decode_next(raw)
        for name in MATCH_KEYS:
            values = {v.strip() for raw in args.getlist(f"match[{name}]") for v in raw.split(",") if v.strip()}
            if name == "id":
                query.ids = values
            elif name == "type":
                query.types = values
            elif name == "version" and values:
                query.versions = values
            elif name == "spec_version":
                query.spec_versions = values
        return query

    def keeps(self, obj: dict[str, Any], date_added: dt.datetime) -> bool:
        if self.ids and obj["id"] not in self.ids:
            return False
        if self.types and obj["type"] not in self.types:
            return False
        if self.spec_versions and obj.get("spec_version", "2.1") not in self.spec_versions:
            return False
        # One version of each object is served (its current one): "last", "first" and "all" all
        # name it; a timestamp must be that version's.
        if not self.versions & {"last", "first", "all"}:
            return version(obj, date_added) in self.versions
        return True


def encode_next(date_added: dt.datetime, bulletin_id: int, position: int) -> str:
    raw = json.dumps([stix.precise_timestamp(date_added), bulletin_id, position], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_next(value: str) -> tuple[dt.datetime, int, int]:
    try:
        if len(value) > 120 or not re.fullmatch(r"[A-Za-z0-9_-]+", value):
            raise ValueError
        moment, bulletin_id, position = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        if type(bulletin_id) is not int or type(position) is not int or not 0 <= bulletin_id <= MAX_ID \
                or not 0 <= position < 10_000:
            raise ValueError
        return parse_instant(moment, require_time=True), bulletin_id, position
    except (ValueError, TypeError, json.JSONDecodeError):
        raise BadRequest("next is not a value this server gave out.") from None


def version(obj: dict[str, Any], date_added: dt.datetime) -> str:
    """TAXII's version of an object: ``modified``, else ``created``, else (observables) date_added."""
    return obj.get("modified") or obj.get("created") or stix.timestamp(date_added)


@dataclass
class Page:
    items: list[tuple[dt.datetime, dict[str, Any]]]  # (date_added, object)
    more: bool
    next: str | None

    @property
    def objects(self) -> list[dict[str, Any]]:
        return [obj for _added, obj in self.items]


PAGE_COLUMNS = (Bulletin.id, Bulletin.title, Bulletin.summary, Bulletin.classification, Bulletin.tlp,
                Bulletin.status, Bulletin.created_at, Bulletin.updated_at, Bulletin.published_at,
                Bulletin.readers_changed_at, Bulletin.author_org_id, Organisation.slug, Organisation.name,
                Organisation.kind, Organisation.country)


def _bulletin_statement(reader: Any, query: Query, limit: int):
    statement = (policy.readable_bulletins(reader).with_only_columns(*PAGE_COLUMNS)
                 .join(Organisation, Organisation.id == Bulletin.author_org_id))
    if query.added_after is not None:
        statement = statement.where(Bulletin.readers_changed_at > query.added_after)
    if query.after is not None and query.after[1] > 0:
        moment, bulletin_id, _position = query.after
        # Row-value comparison spelt out: the index (readers_changed_at, id) serves it everywhere.
        statement = statement.where(or_(Bulletin.readers_changed_at > moment,
                                        and_(Bulletin.readers_changed_at == moment, Bulletin.id >= bulletin_id)))
    if query.ids:
        ids = identifiers()
        decoded = [d for d in map(ids.decode, query.ids) if d is not None]
        bulletins = {d.key for d in decoded if d.kind != "author"}
        authors = {d.key for d in decoded if d.kind == "author"}
        statement = statement.where(or_(Bulletin.id.in_(bulletins or [0]), Bulletin.author_org_id.in_(authors or [0])))
        if authors:  # an organisation's identity: from its latest readable bulletin is enough
            limit = limit if bulletins else 1
    return statement.order_by(Bulletin.readers_changed_at, Bulletin.id).limit(limit)


def _stream(reader: Any, query: Query, bulletin_limit: int) -> Iterator[tuple[dt.datetime, int, int, dict[str, Any]]]:
    """(date_added, bulletin id, position, object) in collection order, from the cursor on. Ends
    after ``bulletin_limit`` bulletins (a marker (…, -1, …, {}) then says there may be more)."""
    if query.added_after is None or query.added_after < DEFINITIONS_ADDED:
        if query.after is None or query.after[1] == 0:
            start = query.after[2] if query.after else 0
            for position, obj in enumerate(stix.definitions()):
                if position >= start:
                    yield DEFINITIONS_ADDED, 0, position, obj
    if query.after is not None and query.after[1] > 0:
        bulletin_limit += 1  # the cursor's own bulletin comes again (its objects from the cursor's position on)
    rows = db.session.execute(_bulletin_statement(reader, query, bulletin_limit + 1)).all()
    more = len(rows) > bulletin_limit
    rows = rows[:bulletin_limit]
    ids = [row.id for row in rows]
    indicators: dict[int, list[stix.IndicatorRow]] = {i: [] for i in ids}
    typologies: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for bulletin_id, kind, value, normalised in db.session.execute(
                select(BulletinIndicator.bulletin_id, BulletinIndicator.type, BulletinIndicator.value,
                       BulletinIndicator.normalised)
                .where(BulletinIndicator.bulletin_id.in_(ids)).order_by(BulletinIndicator.position)):
            indicators[bulletin_id].append(stix.IndicatorRow(kind, value, normalised))
        for bulletin_id, code in db.session.execute(
                select(BulletinTypology.bulletin_id, BulletinTypology.code).where(BulletinTypology.bulletin_id.in_(ids))):
            typologies[bulletin_id].append(code)
    identifiers_ = identifiers()
    for row in rows:
        bulletin = stix.BulletinRow(row.id, row.title, row.summary, row.classification, row.tlp, row.status,
                                    row.created_at, row.updated_at, row.published_at, row.readers_changed_at,
                                    row.author_org_id, row.slug, row.name, row.kind, row.country)
        start = query.after[2] if query.after and query.after[1] == row.id and query.after[0] == row.readers_changed_at \
            else 0
        for position, obj in enumerate(stix.bulletin_objects(identifiers_, bulletin, indicators[row.id],
                                                             typologies[row.id])):
            if position >= start:
                yield row.readers_changed_at, row.id, position, obj
    if more:
        yield dt.datetime.max.replace(tzinfo=dt.timezone.utc), -1, 0, {}


def page(reader: Any, query: Query) -> Page:
    """One page of the reader's collection: at most ``query.limit`` objects after the cursor."""
    items: list[tuple[dt.datetime, dict[str, Any]]] = []
    last: tuple[dt.datetime, int, int] | None = None
    for added, bulletin_id, position, obj in _stream(reader, query, query.limit):
        if bulletin_id == -1:  # more bulletins than this page read: go on after the last object looked at
            return Page(items, last is not None, encode_next(*last) if last else None)
        if len(items) == query.limit:
            return Page(items, True, encode_next(added, bulletin_id, position))
        last = (added, bulletin_id, position + 1)
        if query.keeps(obj, added):
            items.append((added, obj))
    return Page(items, False, None)


def find(reader: Any, object_id: str, query: Query) -> list[tuple[dt.datetime, dict[str, Any]]]:
    """Every version (here: the one current version) of one object the reader may read."""
    query.ids = {object_id}
    query.limit = MAX_LIMIT
    return page(reader, query).items
