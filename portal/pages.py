"""Small pieces every feature's HTML views share: the CSRF-only form, flashing field errors, and
serving a stored file once the access policy has allowed the object it belongs to."""
from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import quote

from flask import abort, current_app, flash, redirect, render_template, request, send_file
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
        key = attachments.checked_key(row.storage_key)
        response = _from_database(key, row) if attachments.in_database() else _from_directory(key, row)
    except attachments.Refused:
        abort(404)
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


def _from_directory(key: str, row: Any) -> Any:
    from portal import attachments

    path = attachments.path_for(key)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.filename, max_age=0)


def _from_database(key: str, row: Any) -> Any:
    """Streamed one chunk at a time, with the headers ``send_file`` gives a file on disk (a download
    named ``row.filename``, its length, its hash as ETag; no byte ranges)."""
    from portal import file_store

    stored = file_store.find(key)
    if stored is None:
        abort(404)
    body = file_store.chunks(db.engine, key, stored.size)  # reads after this request's session is gone
    response = current_app.response_class(body, mimetype=row.content_type, direct_passthrough=True)
    response.content_length = stored.size
    response.headers.set("Content-Disposition", "attachment", **_download_names(row.filename))
    response.last_modified = stored.created_at  # (Cache-Control: no-store comes from portal.security)
    response.set_etag(stored.sha256)
    return response.make_conditional(request.environ)


def _download_names(filename: str) -> dict[str, str]:
    """Content-Disposition's file names, as werkzeug's ``send_file`` writes them (RFC 6266 / 5987)."""
    try:
        filename.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
        return {"filename": simple, "filename*": f"UTF-8''{quote(filename, safe='!#$&+-.^_`|~')}"}
    return {"filename": filename}


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
    from portal.problems import Conflict, Invalid, NotAllowed

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
