"""Small pieces every feature's HTML views share: the CSRF-only form, flashing field errors, and
serving a stored file once the access policy has allowed the object it belongs to."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, send_file
from flask_wtf import FlaskForm

from portal.extensions import db
from portal.i18n import gettext as _


class ActionForm(FlaskForm):
    """CSRF only: the fields of an action's form are read from the request."""


def flash_fields(fields: dict[str, list[str]]) -> None:
    """Each problem of an Invalid, as an error message on the next page."""
    for messages in fields.values():
        for message in messages:
            flash(message, "error")


def send_stored(row: Any) -> Any:
    """A stored attachment (``storage_key``, ``content_type``, ``filename``), always as a download in a
    sandbox. The caller has already checked that the reader may read what it is attached to."""
    from portal import attachments

    try:
        path = attachments.path_for(row.storage_key)
    except attachments.Refused:
        abort(404)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.filename,
                         max_age=0)
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


def act(action: Any, then: str) -> Any:
    """Run a form's action after the CSRF check: commit and say so, or roll back and show why
    (an Invalid's field problems, or a refusal's message); then go to ``then``."""
    from portal.problems import Conflict, Invalid, NotAllowed

    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        action()
        db.session.commit()
        flash(_("Saved."), "success")
    except Invalid as problem:
        db.session.rollback()
        flash_fields(problem.fields)
    except (NotAllowed, Conflict) as problem:
        db.session.rollback()
        flash(str(problem), "error")
    return redirect(then)
