"""The JSON API under ``/api/v1``: bearer tokens only, docs/contract.md's error and list formats.

Each feature keeps its routes in its own ``api.py``, registered on this blueprint through a
``ScopedRoutes(bp, family)`` that names the group's token scope family once; ``portal/api/scopes.py``
then decides read or write from the method for every request (see there).
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from portal.api import meta  # noqa: E402,F401
from portal.api.auth import record_unaudited_use  # noqa: E402

bp.after_request(record_unaudited_use)
from portal.audit import api as _audit  # noqa: E402,F401
from portal.bulletins import api as _bulletins  # noqa: E402,F401
from portal.deportees import api as _deportees  # noqa: E402,F401
from portal.submissions import api as _submissions  # noqa: E402,F401
from portal.misp import api as _misp  # noqa: E402,F401
