"""The JSON API under ``/api/v1``: bearer tokens only, docs/contract.md's error and list formats.

Each feature keeps its routes in its own ``api.py``, registered on this blueprint through a
``ScopedRoutes(bp, family)`` that names the group's token scope family once; ``portal/api/scopes.py``
then decides read or write from the method for every request (see there). This package holds only
the blueprint, so its shared modules (``errors``, ``formats``, ``auth``) import without the routes;
``portal/api/routes.py`` imports every route module, and the app factory registers it from there.
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
