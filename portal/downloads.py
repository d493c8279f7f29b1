"""Serving an attached file: the one download view every feature's attachments go through.

:func:`download` loads the object a file is attached to through the access policy (absent, 404,
when the reader may not read it: ``portal.reads.load``), checks that the file belongs to that object,
records the download in the audit trail (naming the object as ``portal.reads.AUDITED`` says) and sends the bytes as a download in a sandbox (:func:`send`): ``Content-Disposition:
attachment``, ``X-Content-Type-Options: nosniff`` and ``Content-Security-Policy: sandbox``, so a file is
never rendered by the browser as part of the portal.
"""
from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import quote

from flask import abort, current_app, request, send_file

from portal import attachments, file_store, reads
from portal.attachments import AttachedFile
from portal.extensions import db

SANDBOX = "sandbox; default-src 'none'"


def download(owner_model: type, key: Any, file_model: type[AttachedFile], file_id: int) -> Any:
    """The file ``file_id`` of the ``owner_model`` object ``key`` (its ``reads.AUDITED`` key), if the
    reader may read that object. The audit entry names the owner's organisation, and the owner
    itself as a detail (e.g. ``bulletin: 7``)."""
    owner = reads.load(owner_model, key)
    row = db.session.get(file_model, file_id)
    if row is None or not row.attached_to(owner):
        abort(404)
    response = send(row)
    kind = reads.AUDITED[owner_model]
    with reads.audit("attachment.download", "attachment", row.id, kind.object_org(owner),
                     via="api" if request.path.startswith("/api/") else "page",
                     **{kind.object_type: kind.object_id(owner)}):
        return response


def send(row: Any) -> Any:
    """A stored attachment (``storage_key``, ``content_type``, ``filename``), always as a download in a
    sandbox. The caller has already checked that the reader may read what it is attached to."""
    try:
        key = attachments.checked_key(row.storage_key)
        response = _from_database(key, row) if attachments.in_database() else _from_directory(key, row)
    except attachments.Refused:
        abort(404)
    response.headers["Content-Security-Policy"] = SANDBOX
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _from_directory(key: str, row: Any) -> Any:
    path = attachments.path_for(key)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.filename, max_age=0)


def _from_database(key: str, row: Any) -> Any:
    """Streamed one chunk at a time, with the headers ``send_file`` gives a file on disk (a download
    named ``row.filename``, its length, its hash as ETag; no byte ranges)."""
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
