"""The MISP feed: ``GET /feeds/misp/manifest.json`` and ``GET /feeds/misp/{event-uuid}.json``.

Authenticated by API tokens only (Bearer, or HTTP Basic with the token as password), never the
session cookie, exempt from CSRF like the JSON API; the routes declare the ``bulletins`` scope
family, so reading needs ``bulletins:read``. A reader gets exactly the bulletins the access policy
lets it read (the same SQL criterion as every other surface); any other uuid is 404. Each fetch is
an audited read.
"""
from __future__ import annotations

import re

from flask import Blueprint, Response, abort, json
from sqlalchemy import select

from portal import policy, reads
from portal.api.auth import record_unaudited_use
from portal.api.scopes import ScopedRoutes
from portal.bulletins.models import Bulletin, BulletinTypology
from portal.extensions import db
from portal.misp import feed
from portal.organisations.models import Organisation

bp = Blueprint("misp_feed", __name__, url_prefix="/feeds/misp")
bp.after_request(record_unaudited_use)
routes = ScopedRoutes(bp, "bulletins")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _json(document: object) -> Response:
    return Response(json.dumps(document, ensure_ascii=False), mimetype="application/json")


#: What a feed carries: bulletins sent to their audience (a withdrawn one stays, tagged, so that a
#: subscriber learns of the withdrawal). Drafts and bulletins waiting for review are the author's
#: work in progress: a subscribing MISP would copy them into its own store, so they stay out.
SHARED = Bulletin.status.in_(("published", "withdrawn"))


@routes.get("/manifest.json")
def manifest():
    """Every event the reader may read, keyed by uuid (MISP fetches the ones it lacks or that changed)."""
    user = policy.reader()
    rows = db.session.execute(
        policy.readable_bulletins(user)
        .with_only_columns(Bulletin.id, Bulletin.uuid, Bulletin.title, Bulletin.tlp, Bulletin.classification,
                           Bulletin.status, Bulletin.created_at, Bulletin.published_at, Bulletin.updated_at,
                           Organisation.name.label("org_name"), Organisation.slug.label("org_slug"))
        .join(Organisation, Organisation.id == Bulletin.author_org_id)
        .where(Bulletin.uuid.is_not(None), SHARED).order_by(Bulletin.id)).all()
    typologies: dict[int, list[str]] = {row.id: [] for row in rows}
    if rows:
        readable = policy.readable_bulletins(user).with_only_columns(Bulletin.id).where(SHARED)
        for bulletin_id, code in db.session.execute(
                select(BulletinTypology.bulletin_id, BulletinTypology.code)
                .where(BulletinTypology.bulletin_id.in_(readable))):
            typologies[bulletin_id].append(code)
    document = {row.uuid: feed.manifest_entry(row, typologies[row.id]) for row in rows}
    with reads.listed(Bulletin, len(document), via="misp-feed"):
        return _json(document)


@routes.get("/<event_uuid>.json")
def event(event_uuid: str):
    if not UUID.match(event_uuid):
        abort(404)
    return reads.read_one(Bulletin, event_uuid, lambda bulletin: _json(feed.event(bulletin)), SHARED,
                          by=Bulletin.uuid, via="misp-feed")
