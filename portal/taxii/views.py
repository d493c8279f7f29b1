"""TAXII 2.1 endpoints: load → check → answer, as the specification's sections 4 and 5 say."""
from __future__ import annotations

import json
from typing import Any

from flask import Response, g, request, url_for

from portal import policy, reads
from portal.api.auth import authenticate_token, presented_token
from portal.api.errors import ApiError
from portal.api.formats import read_body
from portal.api.scopes import TAXII_OPEN_ENDPOINTS, ScopedRoutes, authorise_scope
from portal.extensions import db
from portal.taxii import bp, service, stix, writes
from portal.taxii.models import TaxiiStatus

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
#: Largest envelope a writer may send (bytes); larger ones are refused whole with 413.
MAX_CONTENT_LENGTH = 1024 * 1024

#: The collections, fixed: what a token may do in each follows from its scopes and the policy.
BULLETINS_COLLECTION = "0b6d8f0e-5b8a-4c53-9d3e-1f2a3b4c5d01"
SIGHTINGS_COLLECTION = "0b6d8f0e-5b8a-4c53-9d3e-1f2a3b4c5d02"

routes = ScopedRoutes(bp, "bulletins")


class TaxiiError(Exception):
    def __init__(self, status: int, title: str, description: str = "") -> None:
        super().__init__(title)
        self.status, self.title, self.description = status, title, description


def taxii_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body, separators=(",", ":"), ensure_ascii=False), status=status,
                        content_type=TAXII_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


TITLES = {400: "Bad request", 401: "Authentication required", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 406: "Not acceptable", 413: "Envelope too large", 415: "Unsupported media type",
          422: "Unprocessable", 500: "Server error"}


def taxii_error(status: int, message: str | None = None, title: str | None = None, **_: Any) -> Response:
    """TAXII's error message; 401 names both schemes a client may use."""
    response = taxii_json({"title": title or TITLES.get(status, "Error"),
                           "description": message or TITLES.get(status, "Error"),
                           "http_status": str(status)}, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="portal TAXII", Bearer realm="portal TAXII"'
    return response


@bp.errorhandler(TaxiiError)
def _taxii_refusal(error: TaxiiError):
    db.session.rollback()
    return taxii_error(error.status, error.description or error.title, error.title)


@bp.errorhandler(ApiError)
def _api_refusal(error: ApiError):  # e.g. the shared body reader's 413
    db.session.rollback()
    return taxii_error(error.status, error.message)


def is_taxii_request() -> bool:
    return request.path == "/taxii2" or request.path.startswith("/taxii2/")


def authenticate() -> Response | None:
    """The gate for /taxii2: an API token as Bearer, or as the password of HTTP Basic; else 401."""
    secret = presented_token(basic=True)
    if not secret:
        return taxii_error(401, "Send an API token: 'Authorization: Bearer TOKEN', or HTTP Basic with the "
                                "token as the password.")
    refused = authenticate_token(secret, taxii_error)
    if refused is not None:
        return refused
    refused = _acceptable()
    if refused is not None:
        return refused
    return authorise_scope(TAXII_OPEN_ENDPOINTS, taxii_error)


def _acceptable() -> Response | None:
    """406 unless the client accepts TAXII 2.1's media type (or anything)."""
    accept = request.headers.get("Accept", "")
    if not accept.strip():
        return None
    for part in accept.split(","):
        media, *params = [p.strip().lower().replace(" ", "") for p in part.split(";")]
        if media in ("*/*", "application/*", "application/json"):
            return None
        if media == "application/taxii+json" and all(p == "version=2.1" or not p.startswith("version=")
                                                     for p in params):
            return None
    return taxii_error(406, f"This server answers in {TAXII_MEDIA_TYPE}.")


# --- Discovery, API root, collections ---------------------------------------------------------

@bp.get("/")
def discovery():
    root = url_for("taxii.api_root", _external=True)
    return taxii_json({"title": "Partner Sharing Portal", "description": "Threat bulletins as STIX 2.1; "
                       "sightings written back.", "default": root, "api_roots": [root]})


@bp.get("/portal/")
def api_root():
    return taxii_json({"title": "Partner Sharing Portal", "versions": [TAXII_MEDIA_TYPE],
                       "max_content_length": MAX_CONTENT_LENGTH})


def _may(scope: str) -> bool:
    token = g.get("api_token")
    return token is not None and (not token.scopes or scope in token.scopes)


def _collection(collection_id: str) -> dict[str, Any]:
    if collection_id == BULLETINS_COLLECTION:
        return {"id": BULLETINS_COLLECTION, "title": "Bulletins",
                "description": "The threat bulletins you may read, as STIX 2.1 reports, indicators and observables.",
                "can_read": _may("bulletins:read"), "can_write": False, "media_types": [stix.STIX_MEDIA_TYPE]}
    if collection_id == SIGHTINGS_COLLECTION:
        return {"id": SIGHTINGS_COLLECTION, "title": "Sightings",
                "description": "Write sighting objects (with their observed-data) about indicators you may read: "
                               "they reach the bulletin's author.",
                "can_read": False, "can_write": _may("bulletins:write"), "media_types": [stix.STIX_MEDIA_TYPE]}
    raise TaxiiError(404, "Not found", "No such collection.")


@bp.get("/portal/collections/")
def collections():
    return taxii_json({"collections": [_collection(BULLETINS_COLLECTION), _collection(SIGHTINGS_COLLECTION)]})


@bp.get("/portal/collections/<collection_id>/")
def collection(collection_id: str):
    return taxii_json(_collection(collection_id))


def _readable(collection_id: str) -> None:
    if not _collection(collection_id)["can_read"]:
        raise TaxiiError(403, "Forbidden", "This collection cannot be read.")


def _query(paged: bool = True) -> service.Query:
    try:
        return service.Query.parse(request.args, paged)
    except service.BadRequest as problem:
        raise TaxiiError(400, "Bad request", str(problem)) from None


def _date_headers(items: list) -> dict[str, str]:
    if not items:
        return {}
    return {"X-TAXII-Date-Added-First": stix.precise_timestamp(items[0][0]),
            "X-TAXII-Date-Added-Last": stix.precise_timestamp(items[-1][0])}


# --- Objects ----------------------------------------------------------------------------------

def _polled_page(collection_id: str, what: str) -> tuple[Any, dict[str, Any]]:
    """A page of the collection for the reader (objects and manifest alike), its poll audited, and
    the envelope's ``more``/``next``; the caller adds the page's entries. Every poll is an audited
    read: who, which collection, the filters, how many objects."""
    _readable(collection_id)
    page = service.page(policy.reader(), _query())
    body: dict[str, Any] = {"more": page.more}
    if page.next:
        body["next"] = page.next
    with reads.audit(f"taxii.{what}", "taxii_collection", collection_id, via="taxii", count=len(page.items),
                     filters={k: v for k, v in request.args.items() if k != "next"},
                     paged=bool(request.args.get("next"))):
        return page, body


@routes.get("/portal/collections/<collection_id>/objects/")
def get_objects(collection_id: str):
    page, body = _polled_page(collection_id, "poll")
    if page.items:
        body["objects"] = page.objects
    return taxii_json(body, headers=_date_headers(page.items))


@routes.get("/portal/collections/<collection_id>/manifest/")
def get_manifest(collection_id: str):
    page, body = _polled_page(collection_id, "manifest")
    if page.items:
        body["objects"] = [{"id": obj["id"], "date_added": stix.precise_timestamp(added),
                            "version": service.version(obj, added), "media_type": stix.STIX_MEDIA_TYPE}
                           for added, obj in page.items]
    return taxii_json(body, headers=_date_headers(page.items))


def _one(collection_id: str, object_id: str, what: str) -> list:
    _readable(collection_id)
    if len(object_id) > 100:
        raise TaxiiError(404, "Not found", "No such object.")
    query = _query(paged=False)
    items = service.find(policy.reader(), object_id, query)
    reads.audit(f"taxii.{what}", "taxii_object", object_id[:64], via="taxii", collection=collection_id,
                count=len(items)).now()  # a look for an object not there is recorded too
    if not items:
        raise TaxiiError(404, "Not found", "No such object in this collection.")
    return items


@routes.get("/portal/collections/<collection_id>/objects/<object_id>/")
def get_object(collection_id: str, object_id: str):
    items = _one(collection_id, object_id, "object")
    return taxii_json({"more": False, "objects": [obj for _added, obj in items]}, headers=_date_headers(items))


@routes.get("/portal/collections/<collection_id>/objects/<object_id>/versions/")
def get_versions(collection_id: str, object_id: str):
    items = _one(collection_id, object_id, "versions")
    return taxii_json({"more": False, "versions": sorted({service.version(obj, added) for added, obj in items})},
                      headers=_date_headers(items))


# --- Writing back -----------------------------------------------------------------------------

@routes.post("/portal/collections/<collection_id>/objects/")
def add_objects(collection_id: str):
    if not _collection(collection_id)["can_write"]:
        raise TaxiiError(403, "Forbidden", "This collection cannot be written.")
    if request.mimetype not in ("application/taxii+json", "application/json"):
        raise TaxiiError(415, "Unsupported media type", f"Send the envelope as {TAXII_MEDIA_TYPE}.")

    try:
        envelope = json.loads(read_body(MAX_CONTENT_LENGTH))
    except (ValueError, RecursionError):
        raise TaxiiError(400, "Bad request", "The body is not JSON.") from None
    objects = envelope.get("objects") if isinstance(envelope, dict) else None
    if not isinstance(objects, list) or not objects or not all(isinstance(o, dict) for o in objects):
        raise TaxiiError(400, "Bad request", "Send a TAXII envelope: {\"objects\": [STIX objects]}.")
    if len(objects) > writes.MAX_OBJECTS:
        raise TaxiiError(413, "Envelope too large", f"At most {writes.MAX_OBJECTS} objects per envelope.")
    status = writes.add(policy.reader(), collection_id, objects)
    db.session.commit()
    return taxii_json(status_json(status), 202)


def status_json(status: TaxiiStatus) -> dict[str, Any]:
    successes, failures = json.loads(status.successes), json.loads(status.failures)
    return {"id": status.id, "status": "complete", "request_timestamp": stix.precise_timestamp(status.requested_at),
            "total_count": status.total_count, "success_count": len(successes), "successes": successes,
            "failure_count": len(failures), "failures": failures, "pending_count": 0}


@bp.get("/portal/status/<status_id>/")
def status(status_id: str):
    row = db.session.get(TaxiiStatus, status_id[:36])
    if row is None or row.user_id != policy.reader().id:
        raise TaxiiError(404, "Not found", "No such status.")
    return taxii_json(status_json(row))
