"""API routes about the API itself: the caller, the typology list, the OpenAPI document."""
from __future__ import annotations

from flask import current_app, g

from portal import policy
from portal.api import bp
from portal.api.errors import ApiError, api_error
from portal.api.openapi import openapi_document
from portal.api.operations import operation
from portal.api.schemas import Me, TypologyPage
from portal.config import settings


@bp.errorhandler(ApiError)
def handle_api_error(error: ApiError):
    return api_error(error.status, error.code, error.message, error.fields)


@bp.get("/openapi.json")
@operation("This document", answer={"type": "object"})
def openapi():
    return openapi_document(current_app, settings().base_url)


@bp.get("/me")
@operation("The token's user and scopes", answer=Me)
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
@operation("Configured typology codes", answer=TypologyPage)
def typologies():
    items = settings().typologies
    return {"items": [{"code": code, "label": label} for code, label in items], "next_cursor": None}
