"""The JSON API with every route on it: the app factory registers :data:`bp` from here.

Importing this module imports each feature's ``api.py`` (whose routes decorate the blueprint of
``portal/api/__init__.py``); nothing else needs to, so the API's shared modules stay free of cycles.
"""
from __future__ import annotations

from portal.api import bp, meta  # noqa: F401
from portal.api.auth import record_unaudited_use
from portal.audit import api as _audit  # noqa: F401
from portal.bulletins import api as _bulletins  # noqa: F401
from portal.deportees import api as _deportees  # noqa: F401
from portal.misp import api as _misp  # noqa: F401
from portal.submissions import api as _submissions  # noqa: F401

bp.after_request(record_unaudited_use)
