"""TAXII 2.1 (OASIS) under ``/taxii2``: discovery, one API root (``/taxii2/portal/``), a readable
collection of the bulletins' STIX 2.1 objects and a writable one for sightings (docs/contract.md,
"Standards exchange"). These endpoints follow the TAXII specification, not the portal's OpenAPI
document, which does not list them (so the Schemathesis test of the JSON API leaves them out).

Authentication: the API tokens, as ``Authorization: Bearer TOKEN`` or HTTP Basic with any user name
and the token as password (many TAXII clients know only Basic). No cookie is read or set and CSRF
does not apply (``portal/accounts/sessions.py``, ``app.py``). Scopes: the routes of this blueprint
are the ``bulletins`` family (``portal/api/scopes.py``): reading needs ``bulletins:read``, writing
``bulletins:write``.
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("taxii", __name__, url_prefix="/taxii2")

from portal.api.auth import record_unaudited_use  # noqa: E402
from portal.taxii import views  # noqa: E402,F401

bp.after_request(record_unaudited_use)  # a token's use that no view recorded (discovery, …) is recorded
