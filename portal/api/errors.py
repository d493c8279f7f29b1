from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from flask import jsonify

from portal.extensions import db
from portal.problems import Conflict, Invalid, NotAllowed

CODES = {
    400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
    409: "conflict", 413: "too-large", 415: "unsupported-media-type", 429: "too-many-requests",
    500: "server-error", 503: "unavailable",
}
MESSAGES = {
    400: "The request is invalid.",
    401: "A valid bearer token is required: send 'Authorization: Bearer <token>'.",
    403: "You may see this but not do that.",
    404: "Not found.",
    405: "Method not allowed on this resource.",
    409: "Conflict with the current state.",
    413: "The request body is too large.",
    415: "Send 'Content-Type: application/json'.",
    429: "Too many requests.",
    500: "Internal error; it has been logged.",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str | None = None, fields: dict[str, list[str]] | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.fields, self.code = status, message, fields, code


def api_error(status: int, code: str | None = None, message: str | None = None,
              fields: dict[str, list[str]] | None = None) -> Any:
    body: dict[str, Any] = {"code": code or CODES.get(status, "error"),
                            "message": message or MESSAGES.get(status, "Error.")}
    if fields:
        body["fields"] = fields
    response = jsonify(error=body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="portal"'
    return response


@contextmanager
def refusals(invalid_message: str = "Invalid input; nothing was stored."):
    """Answer a service's refusal as docs/contract.md says (400 with fields, 403, 409), rolling back."""
    try:
        yield
    except Invalid as invalid:
        db.session.rollback()
        raise ApiError(400, invalid_message, invalid.fields) from None
    except NotAllowed as refusal:
        db.session.rollback()
        raise ApiError(403, str(refusal)) from None
    except Conflict as conflict:
        db.session.rollback()
        raise ApiError(409, str(conflict)) from None
