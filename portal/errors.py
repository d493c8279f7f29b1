"""Error pages and API error bodies. No stack trace ever reaches a visitor.

Each status has its own translated page title and text; the API answers docs/contract.md's error shape
for every status, a 405 in both cases with the ``Allow`` header naming the methods that would work.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, current_app, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from portal.api.errors import ApiError, api_error
from portal.extensions import db
from portal.i18n import current_language
from portal.i18n import gettext as _
from portal.security import is_api_request, is_taxii_request
from portal.taxii.views import taxii_error


def _titles() -> dict[int, str]:
    return {
        400: _("Bad request"),
        401: _("Sign-in required"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        413: _("Too large"),
        415: _("Content type not accepted"),
        429: _("Too many requests"),
        500: _("Something went wrong"),
    }


def _messages() -> dict[int, str]:
    return {
        400: _("The request was not understood. Check what you entered and try again."),
        401: _("Sign in to continue."),
        403: _("You are not allowed to do that."),
        404: _("There is nothing here. It may have been removed, or the address may be wrong."),
        405: _("That action is not available here."),
        409: _("That conflicts with something that already exists."),
        413: _("That is too large."),
        415: _("That content type is not accepted."),
        429: _("Too many requests. Wait a moment and try again."),
        500: _("Something went wrong on our side. It has been logged; try again shortly."),
    }


def error_page(code: int, message: str | None = None) -> tuple[str, int]:
    """The HTML error page for ``code``: its own title and text, in the reader's language.

    The layout asks the database (the reader's inbox count, the demonstration banner); when that
    fails too — a broken transaction, a database that is down — the page is rendered again after a
    rollback, and at worst without the layout, so it never falls back to a bare "500 Internal Server
    Error"."""
    known = code if code in _titles() else (500 if code >= 500 else 400)
    title, text = _titles()[known], message or _messages()[known]
    for _attempt in range(2):
        try:
            return render_template("error.html", code=code, title=title, message=text), code
        except Exception:
            current_app.logger.exception("The error page's layout failed (status %s)", code)
            db.session.rollback()
    try:
        language = current_language()
    except Exception:
        language = "en"
    # Straight from the template environment: no context processor, so no database.
    page = current_app.jinja_env.get_template("error_bare.html").render(
        code=code, title=title, message=text, language=language)
    return page, code


def _allow(response: Any, error: HTTPException) -> Any:
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_refusal(error: ApiError):
        # Also for refusals raised outside a routed API view (the gate, an unknown URL).
        return api_error(error.status, error.code, error.message, error.fields)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return error_page(400, _("This form has expired or was not sent from the portal. Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        if is_taxii_request():
            return _allow(taxii_error(code), error)
        if is_api_request():
            return _allow(api_error(code, None, error.description if code in (400, 409) else None), error)
        page, status = error_page(code)
        return _allow(app.make_response((page, status)), error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        app.logger.exception("Unhandled error")
        db.session.rollback()
        if is_taxii_request():
            return taxii_error(500)
        if is_api_request():
            return api_error(500)
        return error_page(500)
