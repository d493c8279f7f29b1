"""API routes about the API itself: the caller, the typology list, the OpenAPI document."""
from __future__ import annotations

from flask import g

from portal import policy
from portal.api import bp
from portal.api.errors import ApiError, api_error
from portal.api.openapi import openapi_document
from portal.config import settings


@bp.errorhandler(ApiError)
def handle_api_error(error: ApiError):
    return api_error(error.status, error.code, error.message, error.fields)


@bp.get("/openapi.json")
def openapi():
    return openapi_document(settings().base_url)


@bp.get("/me")
def me():
    """Who the token acts for, and what it may do."""
    user = policy.reader()
    token = g.get("api_token")
    return {
        "email": user.email,
        "organisation": user.organisation.slug,
        "roles": sorted(r.value for r in user.roles),
        "clearance": user.clearance.label,
        "scopes": token.scopes if token else [],
    }


@bp.get("/typologies")
def typologies():
    items = settings().typologies
    return {"items": [{"code": code, "label": label} for code, label in items], "next_cursor": None}
