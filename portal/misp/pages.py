"""The page where a partner's publisher imports a MISP event as a draft observation bulletin
(``/misp/import``): a file upload or pasted JSON, CSRF-protected like every form."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from portal import permissions, policy
from portal.config import settings
from portal.extensions import db
from portal.i18n import gettext as _
from portal.misp import importer
from portal.pages import ActionForm
from portal.problems import Invalid

bp = Blueprint("misp", __name__, url_prefix="/misp")


def _upload() -> bytes:
    """The uploaded file or the pasted text, read at most one byte past the limit."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        return upload.stream.read(settings().misp_event_max_bytes + 1)
    return request.form.get("json", "").encode()


@bp.route("/import", methods=["GET", "POST"])
def import_event():
    user = policy.reader()
    if not permissions.may_write_bulletins(user):
        abort(404)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        raw = _upload()
        if not raw.strip():
            errors = {"event": [_("Choose a MISP event file (JSON) or paste its JSON.")]}
        else:
            try:
                bulletin = importer.import_event(raw, user)
                db.session.commit()
                flash(_("The MISP event is now a draft bulletin: review it, choose its audience and publish it."),
                      "success")
                return redirect(url_for("bulletins.show", bulletin_id=bulletin.id))
            except Invalid as invalid:
                db.session.rollback()
                errors = invalid.fields
        status = 413 if len(raw) > settings().misp_event_max_bytes else 400
        return render_template("misp/import.html", form=ActionForm(), errors=errors,
                               max_mib=settings().misp_event_max_bytes // (1024 * 1024)), status
    return render_template("misp/import.html", form=ActionForm(), errors=errors,
                           max_mib=settings().misp_event_max_bytes // (1024 * 1024))
