"""TAXII collections over the one access policy: which objects a reader gets, a page at a time.

A collection's objects are a stream ordered by (date_added, bulletin, position): first the portal's
own definitions (:func:`portal.taxii.stix.definitions`, date_added :data:`DEFINITIONS_ADDED`), then,
bulletin by bulletin in the order of ``Bulletin.readers_changed_at``, each readable bulletin's objects.
A page walks the readable bulletins after the cursor (``policy.bulletin_readable``: the same SQL
criterion as every page and the JSON API) until their objects fill it (:func:`_walk`), then reads
their indicators and typologies for the whole page: three queries whatever the page size, and rows
scanned in proportion to the page and the reader's share, not to the table (``tests/test_taxii.py``
checks both).

A bulletin's date_added for a reader is when it became readable to that reader: the later of the
bulletin's ``readers_changed_at`` (when it was created, got a new version — which is how its
audience, classification or TLP change —, was published, approved or withdrawn) and the reader's
:func:`policy.rights_widened_at` (when the reader's clearance, organisation, its sector or country …
last widened). So a bulletin whose audience widens comes again to every ``added_after`` poll, and so
does every older bulletin a reader's widened rights open to it. The reader's mark is one instant per
poll, so the walk's order stays the index's ``(readers_changed_at, id)`` (date_added = the later of
the two never decreases along it): an ``added_after`` before the mark takes the whole collection,
one after it the bulletins changed since, as before.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from flask import current_app
from sqlalchemy import Integer, case, cast, func, literal, or_, select, tuple_
from sqlalchemy.orm import aliased

from portal import policy
from portal.bulletins.models import Bulletin, BulletinIndicator, BulletinTypology
from portal.config import settings
from portal.dates import parse_instant
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.taxii import stix
from portal.types import MAX_ID, UTCDateTime

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
    # The cursor: (readers_changed_at, bulletin id, position) — the walk's place, not date_added —
    # and the reader's rights mark when it was given out.
    after: tuple[dt.datetime, int, int] | None = None
    mark: dt.datetime | None = None
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
                at, bulletin_id, position, query.mark = decode_next(raw)
                query.after = (at, bulletin_id, position)
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


def encode_next(at: dt.datetime, bulletin_id: int, position: int, mark: dt.datetime) -> str:
    raw = json.dumps([stix.precise_timestamp(at), bulletin_id, position, stix.precise_timestamp(mark)],
                     separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_next(value: str) -> tuple[dt.datetime, int, int, dt.datetime | None]:
    """(readers_changed_at, bulletin id, position, the reader's mark); a cursor from before the mark
    was kept has none (and starts the walk again)."""
    try:
        if len(value) > 160 or not re.fullmatch(r"[A-Za-z0-9_-]+", value):
            raise ValueError
        moment, bulletin_id, position, *mark = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        if type(bulletin_id) is not int or type(position) is not int or not 0 <= bulletin_id <= MAX_ID \
                or not 0 <= position < 10_000 or len(mark) > 1:
            raise ValueError
        return (parse_instant(moment, require_time=True), bulletin_id, position,
                parse_instant(mark[0], require_time=True) if mark else None)
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
                Organisation.kind, Organisation.country, Bulletin.uuid)


def _after(query: Query, mark: dt.datetime, bulletin=Bulletin):
    """The criteria of the cursor and ``added_after`` on ``bulletin`` (a row value: the index
    ``(readers_changed_at, id)`` serves it as a range on both databases). date_added is the later
    of ``readers_changed_at`` and the reader's ``mark``: after a mark later than ``added_after``
    every readable bulletin was added after it (the whole collection again); otherwise those
    changed since, as the bulletins' own column says."""
    criteria = []
    if query.added_after is not None and mark <= query.added_after:
        criteria.append(bulletin.readers_changed_at > query.added_after)
    if query.after is not None and query.after[1] > 0:
        moment, bulletin_id, _position = query.after
        criteria.append(tuple_(bulletin.readers_changed_at, bulletin.id) >= tuple_(literal(moment, UTCDateTime),
                                                                                   literal(bulletin_id)))
    return criteria


def _weight(query: Query, bulletin=Bulletin):
    """How many of the page's objects a bulletin is counted for while the page is walked: without
    filters its author identity, its report and one per indicator (what :func:`stix.bulletin_objects`
    makes of it, give or take a duplicate or an observable); with ``match[…]`` filters one."""
    if query.types or query.spec_versions or not query.versions & {"last", "first", "all"}:
        return literal(1)
    counted = select(func.count()).where(BulletinIndicator.bulletin_id == bulletin.id).scalar_subquery()
    return 2 + cast(counted, Integer)  # PostgreSQL's count is a bigint: one type for the walk's columns


def _walk(reader: Any, query: Query, budget: int, mark: dt.datetime):
    """The readable bulletins after the cursor, in collection order, until their objects fill
    ``budget`` — and one more, which says there is more. A recursive CTE that steps from each
    bulletin to the next readable one (one probe of the index ``(readers_changed_at, id)`` under the
    policy's criterion, ``LIMIT 1``), so the rows a page scans follow the page's size and the
    reader's share, never the table's size: ``LIMIT objects`` on the bulletins themselves read up to
    ten times the bulletins a page needs (and, for a reader who sees 1 %, a hundred times as many
    rows). Columns ``id``, ``before`` (objects counted before this bulletin)."""
    readable = policy.bulletin_readable(reader)
    order = (Bulletin.readers_changed_at, Bulletin.id)
    first = (select(Bulletin.readers_changed_at.label("at"), Bulletin.id.label("id"), _weight(query).label("weight"))
             .where(readable, *_after(query, mark)).order_by(*order).limit(1).subquery())
    start = -query.after[2] if query.after is not None and query.after[1] > 0 else 0
    walk = select(first.c.at, first.c.id, literal(0).label("before"),
                  (first.c.weight + case((first.c.id == (query.after or (0, 0))[1], start), else_=0)).label("total")
                  ).cte("taxii_walk", recursive=True)
    following = (select(Bulletin.id).where(readable, *_after(query, mark),
                                           tuple_(Bulletin.readers_changed_at, Bulletin.id) > tuple_(walk.c.at, walk.c.id))
                 .order_by(*order).limit(1).scalar_subquery())
    step = aliased(Bulletin, name="taxii_next")
    walk = walk.union_all(
        select(step.readers_changed_at, step.id, walk.c.total, walk.c.total + _weight(query, step))
        .select_from(walk).join(step, step.id == following)
        .where(walk.c.before < budget))
    return walk


def _bulletin_statement(reader: Any, query: Query, budget: int, mark: dt.datetime):
    """The page's bulletins (and their authors): the walk's."""
    walk = _walk(reader, query, budget, mark)
    return (select(*PAGE_COLUMNS, walk.c.before).select_from(walk).join(Bulletin, Bulletin.id == walk.c.id)
            .join(Organisation, Organisation.id == Bulletin.author_org_id)
            .order_by(walk.c.at, walk.c.id))  # the walk's order: from the walk, not from a scan of bulletins


def _by_id_statement(reader: Any, query: Query, limit: int, mark: dt.datetime):
    """Objects asked for by id: their bulletins (or their author's latest readable bulletin) at once."""
    ids = identifiers()
    reports = {found for found in map(stix.report_uuid, query.ids) if found}  # report--<bulletins.uuid>
    decoded = [d for d in map(ids.decode, query.ids) if d is not None and d.kind != "report"]
    bulletins = {d.key for d in decoded if d.kind != "author"}
    authors = {d.key for d in decoded if d.kind == "author"}
    if authors and not bulletins and not reports:  # an organisation's identity: its latest readable bulletin is enough
        limit = 1
    return (policy.readable_bulletins(reader).with_only_columns(*PAGE_COLUMNS)
            .join(Organisation, Organisation.id == Bulletin.author_org_id)
            .where(*_after(query, mark),
                   or_(Bulletin.id.in_(bulletins or [0]), Bulletin.author_org_id.in_(authors or [0]),
                       Bulletin.uuid.in_(reports or [""])))
            .order_by(Bulletin.readers_changed_at, Bulletin.id).limit(limit + 1))


def _stream(reader: Any, query: Query, limit: int, mark: dt.datetime
            ) -> Iterator[tuple[dt.datetime, dt.datetime, int, int, dict[str, Any]]]:
    """(date_added, readers_changed_at, bulletin id, position, object) in collection order, from the
    cursor on, about ``limit`` objects' worth of bulletins (a marker (…, -1, …, {}) then says there
    may be more). ``mark``: the reader's :func:`policy.rights_widened_at`."""
    emitted = 0
    if query.added_after is None or query.added_after < DEFINITIONS_ADDED:
        if query.after is None or query.after[1] == 0:
            start = query.after[2] if query.after else 0
            for position, obj in enumerate(stix.definitions()):
                if position >= start:
                    emitted += query.keeps(obj, DEFINITIONS_ADDED)
                    yield DEFINITIONS_ADDED, DEFINITIONS_ADDED, 0, position, obj
    if query.ids:  # by id: few bulletins, all at once
        budget = limit + (query.after is not None and query.after[1] > 0)
        rows = db.session.execute(_by_id_statement(reader, query, budget, mark)).all()
        more = len(rows) > budget
        rows = rows[:budget]
    else:  # the walk's last bulletin, counted from past the page, only says there is more
        budget = limit - emitted
        rows = db.session.execute(_bulletin_statement(reader, query, budget, mark)).all()
        more = bool(rows) and rows[-1].before >= budget
        rows = rows[:-1] if more else rows
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
                                    row.author_org_id, row.slug, row.name, row.kind, row.country, row.uuid)
        start = query.after[2] if query.after and query.after[1] == row.id and query.after[0] == row.readers_changed_at \
            else 0
        added = max(row.readers_changed_at, mark)  # when it became readable to this reader
        for position, obj in enumerate(stix.bulletin_objects(identifiers_, bulletin, indicators[row.id],
                                                             typologies[row.id])):
            if position >= start:
                yield added, row.readers_changed_at, row.id, position, obj
    if more:
        end = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
        yield end, end, -1, 0, {}


def page(reader: Any, query: Query) -> Page:
    """One page of the reader's collection: at most ``query.limit`` objects after the cursor.

    A cursor given out before the reader's rights last widened starts the walk again: the objects
    they opened to the reader (date_added: the new mark) may lie behind it, and no later
    ``added_after`` could reach them once the client has seen a date_added past the mark."""
    mark = policy.rights_widened_at(reader)
    if query.after is not None and query.mark != mark:
        query.after = None
    items: list[tuple[dt.datetime, dict[str, Any]]] = []
    last: tuple[dt.datetime, int, int] | None = None
    for added, at, bulletin_id, position, obj in _stream(reader, query, query.limit, mark):
        if bulletin_id == -1:  # more bulletins than this page read: go on after the last object looked at
            return Page(items, last is not None, encode_next(*last, mark) if last else None)
        if len(items) == query.limit:
            return Page(items, True, encode_next(at, bulletin_id, position, mark))
        last = (at, bulletin_id, position + 1)
        if query.keeps(obj, added):
            items.append((added, obj))
    return Page(items, False, None)


def find(reader: Any, object_id: str, query: Query) -> list[tuple[dt.datetime, dict[str, Any]]]:
    """Every version (here: the one current version) of one object the reader may read."""
    query.ids = {object_id}
    query.limit = MAX_LIMIT
    return page(reader, query).items
