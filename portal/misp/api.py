"""``POST /api/v1/bulletins/import/misp``: a MISP event JSON as the body becomes a draft bulletin of
the caller's organisation (``bulletins:write``), answered 201 with the bulletin as the API shows it."""
from __future__ import annotations

from flask import current_app, request

from portal import policy
from portal.api import bp
from portal.api.errors import ApiError, refusals
from portal.api.formats import read_body
from portal.api.operations import operation
from portal.api.scopes import ScopedRoutes
from portal.bulletins.api import BULLETIN_LINKS, bulletin_json
from portal.bulletins.schemas import BulletinOut
from portal.config import settings
from portal.extensions import db
from portal.misp import importer
from portal.misp.schemas import MispEventInput

routes = ScopedRoutes(bp, "bulletins")


@routes.post("/bulletins/import/misp")
@operation("Import a MISP event (its JSON export, at most twice PORTAL_JSON_MAX_BYTES: 2 MiB by default) as a draft bulletin of the caller's organisation, "
           "for its publishers to review, give an audience and publish", body=MispEventInput, checks_body=False,
           answer=BulletinOut, status=201, errors=(403,), links=BULLETIN_LINKS)
def import_misp_event():
    user = policy.reader()
    if request.mimetype != "application/json":
        raise ApiError(415)
    raw = read_body(settings().misp_event_max_bytes)
    with refusals("The MISP event was not imported; nothing was stored."):
        bulletin = importer.import_event(raw, user)
    db.session.commit()
    response = current_app.make_response((bulletin_json(bulletin, user), 201))
    response.headers["Location"] = f"/api/v1/bulletins/{bulletin.id}"
    return response
