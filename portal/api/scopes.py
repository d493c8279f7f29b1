"""Token scopes, decided in one place.

Each group of API routes declares its scope family once (``routes = ScopedRoutes(bp, "bulletins")``,
then ``@routes.get(...)``); the HTTP method decides read or write: GET, HEAD and OPTIONS need
``<family>:read``, every other method ``<family>:write``. :func:`authorise_scope` runs for every
``/api`` request right after the token is authenticated, so a route cannot forget its scope, and a
route that declares no family is refused (fail closed) unless it is in :data:`OPEN_ENDPOINTS`.
A token without scopes acts with its user's rights (docs/contract.md).
"""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, current_app, g, request

from portal.api.errors import api_error

#: API endpoints any valid token may call, whatever its scopes: they show no content.
OPEN_ENDPOINTS = frozenset({"api.me", "api.openapi", "api.typologies"})
#: TAXII endpoints any valid token may call: discovery, the API root, the list of collections (each
#: says whether this token may read or write it) and the status of the token's own writes.
TAXII_OPEN_ENDPOINTS = frozenset({"taxii.discovery", "taxii.api_root", "taxii.collections", "taxii.collection",
                                  "taxii.status"})
#: The methods that only read; anything else changes state and needs the family's write scope.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Attribute set on a view function by :class:`ScopedRoutes`.
FAMILY_ATTRIBUTE = "api_scope_family"


class ScopedRoutes:
    """Routes of one scope family on an API blueprint, declared once for the whole group."""

    def __init__(self, blueprint: Blueprint, family: str) -> None:
        self.blueprint = blueprint
        self.family = family

    def route(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            setattr(view, FAMILY_ATTRIBUTE, self.family)
            return self.blueprint.route(rule, **options)(view)
        return register

    def get(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(rule, methods=["GET"], **options)

    def post(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(rule, methods=["POST"], **options)

    def patch(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(rule, methods=["PATCH"], **options)

    def put(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(rule, methods=["PUT"], **options)

    def delete(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(rule, methods=["DELETE"], **options)


def family_of(endpoint: str | None) -> str | None:
    """The scope family an endpoint declared, or None."""
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, FAMILY_ATTRIBUTE, None)


def scope_needed(family: str, method: str) -> str:
    return f"{family}:{'read' if method.upper() in READ_METHODS else 'write'}"


def authorise_scope(open_endpoints: frozenset[str] = OPEN_ENDPOINTS, refuse: Callable[..., Any] = api_error) -> Any:
    """before_request for /api (and, with its own open endpoints and error shape, /taxii2), after
    authentication: 403 unless the token's scopes allow this method on this route's family.
    Unknown URLs and methods fall through to their 404 and 405."""
    if request.url_rule is None or request.endpoint in open_endpoints:
        return None
    family = family_of(request.endpoint)
    if family is None:
        current_app.logger.error("API endpoint %s declares no scope family: refused", request.endpoint)
        return refuse(403, message="This operation is not available to API tokens.")
    scope = scope_needed(family, request.method)
    token = g.get("api_token")
    if token is None:
        return refuse(401)
    if token.scopes and scope not in token.scopes:
        return refuse(403, message=f"This token lacks the scope {scope!r}.")
    g.api_scope = scope
    return None
