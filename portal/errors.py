"""Error pages and API error bodies. No stack trace ever reaches a visitor."""
from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.extensions import db
from portal.i18n import gettext as _
from portal.security import is_api_request


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


def init_app(app: Flask) -> None:
    from portal.api.errors import api_error

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = _("This form has expired or was not sent from the portal. Reload the page and try again.")
        return render_template("error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        if is_api_request():
            return api_error(code, None, error.description if code in (400, 409) else None)
        message = _messages().get(code, error.description or "")
        return render_template("error.html", code=code, message=message), code

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        app.logger.exception("Unhandled error")
        db.session.rollback()
        if is_api_request():
            return api_error(500)
        return render_template("error.html", code=500, message=_messages()[500]), 500

    _ = InternalServerError  # (kept for type checkers)
