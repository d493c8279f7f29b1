"""Small pieces every feature's HTML views share: the CSRF-only form, flashing field errors, and
running a form's action. (Attached files are served by :mod:`portal.downloads`.)"""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request
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


def confirmation(question: str, action_label: str, cancel: str) -> Any | None:
    """An action that cannot be taken back asks first, without script: a POST without ``confirmed``
    answers a page that says what will happen and carries the form's fields into a second POST with
    ``confirmed=yes``; with it, None (go ahead). Call it after the object proved readable, so that
    the question tells nobody more than the page the form was on."""
    if request.form.get("confirmed") == "yes":
        return None
    fields = [(name, value) for name, value in request.form.items(multi=True) if name not in ("csrf_token", "confirmed")]
    return render_template("confirm.html", question=question, action_label=action_label, fields=fields,
                           action=request.path, cancel=cancel)


def act(action: Any, then: str, *, done: str | None = None, confirm: tuple[str, str] | None = None) -> Any:
    """Run a form's action after the CSRF check: commit and say what happened (``done``), or roll
    back and show why (an Invalid's field problems, or a refusal's message); then go to ``then``.
    ``confirm`` (question, button) makes it ask first (:func:`confirmation`)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    if confirm is not None and (page := confirmation(*confirm, cancel=then)) is not None:
        return page
    try:
        action()
        db.session.commit()
        flash(done or _("Saved."), "success")
    except Invalid as problem:
        db.session.rollback()
        flash_fields(problem.fields)
    except (NotAllowed, Conflict) as problem:
        db.session.rollback()
        flash(str(problem), "error")
    return redirect(then)
