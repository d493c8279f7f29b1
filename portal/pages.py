"""Small pieces every feature's HTML views share: the CSRF-only form, flashing field errors, and
running a form's action. (Attached files are served by :mod:`portal.downloads`.)"""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect
from flask_wtf import FlaskForm

from portal.extensions import db
from portal.i18n import gettext as _
from portal.problems import Conflict, Invalid, NotAllowed


class ActionForm(FlaskForm):
    """CSRF only: the fields of an action's form are read from the request."""


def flash_fields(fields: dict[str, list[str]]) -> None:
    """Each problem of an Invalid, as an error message on the next page."""
    for messages in fields.values():
        for message in messages:
            flash(message, "error")


def act(action: Any, then: str) -> Any:
    """Run a form's action after the CSRF check: commit and say so, or roll back and show why
    (an Invalid's field problems, or a refusal's message); then go to ``then``."""
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
