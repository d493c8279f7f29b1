from __future__ import annotations

from typing import Any

from portal import policy
from portal.api import bp
from portal.api.auth import require_scope
from portal.api.formats import iso
from portal.api.pagination import paginate
from portal.audit import trail
from portal.bulletins.models import AUDIENCE_KINDS, Bulletin
from portal.extensions import db


def bulletin_json(bulletin: Bulletin, reader: Any) -> dict[str, Any]:
    audience: dict[str, list[str]] | None = None
    if policy.sees_bulletin_audience(reader, bulletin):
        keys = {"org": "orgs", "sector": "sectors", "country": "countries", "user": "users"}
        audience = {keys[k]: bulletin.audience_values(k) for k in AUDIENCE_KINDS}
    return {
        "id": bulletin.id,
        "title": bulletin.title,
        "summary": bulletin.summary,
        "body_html": bulletin.body_html,
        "classification": bulletin.classification.label,
        "tlp": bulletin.tlp,
        "audience": audience,
        "indicators": [],
        "typologies": [],
        "status": bulletin.status,
        "version": bulletin.version,
        "author_org": bulletin.author_org.slug,
        "published_at": iso(bulletin.published_at),
        "expires_at": iso(bulletin.expires_at),
    }


@bp.get("/bulletins")
def list_bulletins():
    require_scope("bulletins:read")
    user = policy.reader()
    page = paginate(policy.readable_bulletins(user), Bulletin.id, lambda b: bulletin_json(b, user))
    trail.record("bulletin.list", "bulletin", count=len(page["items"]), via="api")
    db.session.commit()
    return page


@bp.get("/bulletins/<int:bulletin_id>")
def get_bulletin(bulletin_id: int):
    require_scope("bulletins:read")
    user = policy.reader()
    bulletin = policy.readable_or_404(Bulletin, user, Bulletin.id == bulletin_id)
    trail.record("bulletin.read", "bulletin", bulletin.id, bulletin.author_org.slug, via="api")
    db.session.commit()
    return bulletin_json(bulletin, user)
