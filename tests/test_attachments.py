"""The attachment store in both modes: in the database (the default, chunked and streamed) and in a
directory. Each feature's real upload path and download route, refusals that leave nothing behind,
discarding, two portal instances on one database, path containment, and copying a directory in."""
from __future__ import annotations

import base64
import contextvars
import hashlib
import io
import json
import os
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event, func, select
from werkzeug.exceptions import NotFound
from werkzeug.test import EnvironBuilder

from app import create_app
from portal import attachments, downloads
from portal.attachments import AttachedFile
from portal.audit.models import AuditEntry
from portal.bulletins.models import BulletinAttachment
from portal.extensions import db
from portal.file_store import CHUNK_SIZE
from portal.ratings.models import Assessment
from portal.submissions.models import SubmissionAttachment
from tests.attachment_store import files_on_disk, kept, rows, storage
from tests.conftest import IsolatedClient, bearer, csrf_from, settings_for, sign_in

MiB = 1024 * 1024
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
CSV = b"date,amount\n2026-10-01,9500\n"
DATABASE, DIRECTORY = {"attachment_storage": "database"}, {"attachment_storage": "directory"}
SANDBOX = "sandbox; default-src 'none'"


@pytest.fixture(params=[DATABASE, DIRECTORY], ids=["database", "directory"])
def extra_settings(request):
    """Every test here runs with each storage mode (and, through ``app``, on each database)."""
    return request.param


@pytest.fixture
def people(world):
    customs = world.org("nz-customs", "government", "customs", name="NZ Customs")
    fiu = world.org("nz-fiu", "government", "fiu", name="Financial Intelligence Unit")
    bank = world.org("harbour-bank", "private", "banking", name="Harbour Bank")
    return {
        "aroha": world.user("aroha@customs.example", customs, ("publisher",), clearance="RESTRICTED"),
        "ben": world.user("ben@harbour.example", bank, ("viewer", "submitter"), clearance="SENSITIVE"),
        "olivia": world.user("olivia@harbour.example", bank, ("org-admin",)),
        "nadia": world.user("nadia@fiu.example", fiu, ("analyst",), clearance="RESTRICTED"),
    }


# --- Helpers ---------------------------------------------------------------------------------

def multipart(content: bytes, filename: str) -> dict[str, Any]:
    return {"content_type": "multipart/form-data", "data": {"file": (io.BytesIO(content), filename)}}


def bulletin(client, author) -> int:
    response = client.post("/api/v1/bulletins", headers=bearer(author), json={
        "title": "Reefer seals", "classification": "IN-CONFIDENCE", "tlp": "GREEN",
        "audience": {"orgs": ["harbour-bank"]}, "publish": True})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def attach_to_bulletin(client, author, bulletin_id, content, filename="report.pdf"):
    return client.post(f"/api/v1/bulletins/{bulletin_id}/attachments", headers=bearer(author),
                       **multipart(content, filename))


def assert_download(response, content: bytes, content_type: str, disposition: str) -> None:
    assert response.status_code == 200, response.status_code
    assert response.data == content and response.content_length == len(content)
    assert response.mimetype == content_type
    assert response.headers["Content-Disposition"] == disposition
    assert response.headers["Content-Security-Policy"] == SANDBOX
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def without_context(function, *args):
    """Run outside every application and request context, as a WSGI server sends a response body."""
    return contextvars.Context().run(function, *args)


# --- Each feature's upload path and download route --------------------------------------------

def test_bulletin_attachment_round_trip(client, app, people):
    bulletin_id = bulletin(client, people["aroha"])
    upload = attach_to_bulletin(client, people["aroha"], bulletin_id, PDF, "../../etc/Rapport café.pdf")
    assert upload.status_code == 201, upload.get_json()
    meta = upload.get_json()
    assert meta["sha256"] == hashlib.sha256(PDF).hexdigest() and meta["size"] == len(PDF)
    assert kept(app) == [PDF]
    row = db.session.get(BulletinAttachment, meta["id"])
    assert row.storage_key not in meta["filename"]
    download = client.get(meta["url"], headers=bearer(people["ben"]))
    assert_download(download, PDF, "application/pdf",
                    "attachment; filename=\"Rapport cafe.pdf\"; filename*=UTF-8''Rapport%20caf%C3%A9.pdf")
    # revalidation: the same file is not sent again
    again = client.get(meta["url"], headers={**bearer(people["ben"]), "If-None-Match": download.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    # the page route, and never for an organisation outside the audience
    sign_in(client, people["ben"])
    page = client.get(f"/bulletins/{bulletin_id}/attachments/{meta['id']}")
    assert_download(page, PDF, "application/pdf", 'attachment; filename="Rapport cafe.pdf"; '
                    "filename*=UTF-8''Rapport%20caf%C3%A9.pdf")
    assert client.get(meta["url"], headers=bearer(people["nadia"])).status_code == 404


def test_report_attachment_round_trip_and_draft_discard(client, app, people):
    body = {"recipient_org": "nz-fiu", "classification": "IN-CONFIDENCE", "typologies": ["money-laundering"],
            "narrative": "Cash deposits just under the threshold.",
            "attachments": [{"filename": "statement.csv", "content_base64": base64.b64encode(CSV).decode()}]}
    created = client.post("/api/v1/submissions", json=body, headers=bearer(people["ben"]))
    assert created.status_code == 201, created.get_json()
    report = created.get_json()
    assert kept(app) == [CSV]
    analyst = app.test_client()
    sign_in(analyst, people["nadia"])
    download = analyst.get(f"/submissions/{report['reference']}/attachments/{report['attachments'][0]['id']}")
    assert_download(download, CSV, "text/csv", "attachment; filename=statement.csv")
    # a draft's attachment, uploaded through the composer, goes when the draft is deleted
    sign_in(client, people["ben"])
    token = csrf_from(client.get("/submissions/new").get_data(as_text=True))
    draft = client.post("/submissions/new", data={"csrf_token": token}).headers["Location"].split("#")[0]
    attached = client.post(f"{draft}/attachments", data={"csrf_token": token,
                                                         "file": (io.BytesIO(b"notes\n"), "notes.txt")},
                           content_type="multipart/form-data")
    assert attached.status_code == 302
    assert sorted(kept(app)) == sorted([CSV, b"notes\n"])
    assert db.session.scalar(select(func.count()).select_from(SubmissionAttachment)) == 2
    asked = client.post(draft, data={"csrf_token": token, "action": "delete"})
    assert asked.status_code == 200 and "Delete this draft report?" in asked.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SubmissionAttachment)) == 2  # not yet
    client.post(draft, data={"csrf_token": token, "action": "delete", "confirmed": "yes"})
    assert kept(app) == [CSV]
    assert db.session.scalar(select(func.count()).select_from(SubmissionAttachment)) == 1


def test_rating_evidence_round_trip(client, app, people):
    sign_in(client, people["olivia"])
    token = csrf_from(client.get("/ratings/self").get_data(as_text=True))
    evidence = b"Terms of reference\n"
    client.post("/ratings/self/evidence", data={"csrf_token": token, "criterion": "gov-1",
                                                "file": (io.BytesIO(evidence), "tor.txt")},
                content_type="multipart/form-data")
    assessment = db.session.scalar(select(Assessment))
    assert len(assessment.evidence) == 1 and kept(app) == [evidence]
    download = client.get(f"/ratings/assessments/{assessment.id}/evidence/{assessment.evidence[0].id}")
    assert_download(download, evidence, "text/plain", "attachment; filename=tor.txt")


# --- One component: the same columns, storage and download view for every feature ----------------

def test_every_attachment_table_is_an_attached_file():
    """Any table that keeps a stored file's key is mapped by a model of the one attachment component."""
    tables = {mapper.local_table.name: mapper.class_ for mapper in db.Model.registry.mappers}
    keeping = {name for name, model in tables.items() if "storage_key" in model.__table__.c}
    assert keeping == {"bulletin_attachments", "submission_attachments", "resilience_evidence"}
    for name in keeping:
        model = tables[name]
        assert issubclass(model, AttachedFile), name
        assert model.owner in model.__table__.c, name


def _downloads() -> list[AuditEntry]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "attachment.download")))


def test_each_feature_serves_a_file_only_through_the_object_it_is_attached_to(client, app, people):
    """The download view checks the file belongs to the object the policy allowed, audits, and sandboxes:
    a file of one bulletin asked for under another readable bulletin is no such file, and not audited."""
    first, second = bulletin(client, people["aroha"]), bulletin(client, people["aroha"])
    meta = attach_to_bulletin(client, people["aroha"], first, PDF).get_json()
    sign_in(client, people["ben"])
    assert client.get(f"/bulletins/{second}/attachments/{meta['id']}").status_code == 404
    assert client.get(f"/api/v1/bulletins/{second}/attachments/{meta['id']}",
                      headers=bearer(people["ben"])).status_code == 404
    assert _downloads() == []
    page = client.get(f"/bulletins/{first}/attachments/{meta['id']}")
    assert_download(page, PDF, "application/pdf", "attachment; filename=report.pdf")
    api = client.get(f"/api/v1/bulletins/{first}/attachments/{meta['id']}", headers=bearer(people["ben"]))
    assert_download(api, PDF, "application/pdf", "attachment; filename=report.pdf")
    entries = _downloads()
    assert [(e.object_id, e.actor_email, e.object_org) for e in entries] == [
        (str(meta["id"]), "ben@harbour.example", "nz-customs")] * 2
    assert [(json.loads(e.details)["bulletin"], json.loads(e.details)["via"]) for e in entries] == [(first, "page"), (first, "api")]
    # a report's file under another report of the same reader: no such file
    body = {"recipient_org": "nz-fiu", "classification": "IN-CONFIDENCE", "typologies": ["money-laundering"],
            "narrative": "Cash deposits just under the threshold.",
            "attachments": [{"filename": "statement.csv", "content_base64": base64.b64encode(CSV).decode()}]}
    one = client.post("/api/v1/submissions", json=body, headers=bearer(people["ben"])).get_json()
    other = client.post("/api/v1/submissions", json={**body, "attachments": []},
                        headers=bearer(people["ben"])).get_json()
    analyst = app.test_client()
    sign_in(analyst, people["nadia"])
    file_id = one["attachments"][0]["id"]
    assert analyst.get(f"/submissions/{other['reference']}/attachments/{file_id}").status_code == 404
    assert len(_downloads()) == 2
    assert_download(analyst.get(f"/submissions/{one['reference']}/attachments/{file_id}"), CSV, "text/csv",
                    "attachment; filename=statement.csv")
    last = _downloads()[-1]
    assert json.loads(last.details)["submission"] == one["reference"] and last.object_org == "harbour-bank"


# --- Refusals leave nothing behind ------------------------------------------------------------

@pytest.mark.parametrize("extra_settings", [{**DATABASE, "attachment_max_bytes": 3 * MiB},
                                            {**DIRECTORY, "attachment_max_bytes": 3 * MiB}],
                         ids=["database", "directory"])
def test_refused_uploads_leave_no_row_and_no_file(client, app, people):
    bulletin_id = bulletin(client, people["aroha"])
    too_large = b"%PDF-" + b"0" * (3 * MiB)  # two full chunks are written before the limit is passed
    refused = {
        413: attach_to_bulletin(client, people["aroha"], bulletin_id, too_large),
        415: attach_to_bulletin(client, people["aroha"], bulletin_id, b"<script>alert(1)</script>", "notes.pdf"),
        400: attach_to_bulletin(client, people["aroha"], bulletin_id, b"", "empty.txt"),
    }
    assert {status: response.status_code for status, response in refused.items()} == {413: 413, 415: 415, 400: 400}
    too_big_report = client.post("/api/v1/submissions", headers=bearer(people["ben"]), json={
        "recipient_org": "nz-fiu", "classification": "IN-CONFIDENCE", "typologies": ["money-laundering"],
        "narrative": "Statement attached.", "attachments": [
            {"filename": "ok.csv", "content_base64": base64.b64encode(CSV).decode()},
            {"filename": "statement.txt", "content_base64": base64.b64encode(b"a" * (3 * MiB + 1)).decode()}]})
    assert too_big_report.status_code == 413
    assert rows() == (0, 0) and files_on_disk(app) == []
    assert db.session.scalar(select(func.count()).select_from(BulletinAttachment)) == 0
    # even when the caller goes on to commit, a refusal has taken back what it wrote
    with app.test_request_context():
        with pytest.raises(attachments.Refused) as refusal:
            attachments.store(io.BytesIO(too_large), "big.pdf")
        db.session.commit()
    assert refusal.value.status == 413 and rows() == (0, 0) and files_on_disk(app) == []


def test_discard_removes_the_file_and_ignores_unknown_keys(app):
    with app.test_request_context():
        first = attachments.store(io.BytesIO(b"one\n" * 400_000), "one.txt")
        second = attachments.store(io.BytesIO(PDF), "two.pdf")
        db.session.commit()
    assert sorted(kept(app)) == sorted([b"one\n" * 400_000, PDF])
    if storage(app) == "database":
        assert rows() == (2, 3)  # 1.6 MB in two chunks, and one
    with app.test_request_context():
        attachments.discard(first.key)
        for nonsense in ("../../etc/passwd", "x" * 10, "A" * 30):
            attachments.discard(nonsense)
        db.session.commit()
    assert kept(app) == [PDF]
    if storage(app) == "database":
        assert rows() == (1, 1)
    assert second.sha256 == hashlib.sha256(PDF).hexdigest()


# --- The database store: streamed, shared, independent of the request ------------------------

@pytest.mark.parametrize("extra_settings", [DATABASE], ids=["database"])
def test_download_streams_one_chunk_at_a_time_after_the_request_ended(client, app, people):
    """A 3 MiB file and a bit: four chunks, each read over its own connection as it is sent."""
    content = b"%PDF-" + os.urandom(3 * MiB + 12_345)
    bulletin_id = bulletin(client, people["aroha"])
    meta = attach_to_bulletin(client, people["aroha"], bulletin_id, content).get_json()
    assert meta["size"] == len(content) and rows() == (1, 4)
    reads = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def count_chunk_reads(conn, cursor, statement, parameters, context, executemany):
        if "FROM stored_file_chunks" in statement:
            reads.append(statement)

    # As a WSGI server does (the test client would take the first piece at once): call the
    # application, which ends the request and closes its session, then send the body piece by piece.
    environ = EnvironBuilder(path=meta["url"], headers=bearer(people["ben"])).get_environ()
    started = []
    try:
        response = without_context(app, environ, lambda status, headers, exc_info=None: started.append(
            (status, dict(headers))))
        status, headers = started[0]
        assert status == "200 OK" and headers["Content-Length"] == str(len(content))
        assert headers["Content-Security-Policy"] == SANDBOX and headers["ETag"] == f'"{meta["sha256"]}"'
        assert reads == []  # the request has ended and nothing has been read yet
        db.session.rollback()
        idle = db.engine.pool.checkedout()
        body = iter(response)
        pieces = []
        for expected_reads in (1, 2, 3, 4):
            pieces.append(without_context(next, body))
            assert len(reads) == expected_reads  # one chunk per step, read when it is sent
            assert db.engine.pool.checkedout() == idle  # and no connection held while the client reads
        assert without_context(next, body, None) is None
        response.close()
    finally:
        event.remove(db.engine, "before_cursor_execute", count_chunk_reads)
    assert [len(p) for p in pieces] == [CHUNK_SIZE, CHUNK_SIZE, CHUNK_SIZE, len(content) - 3 * CHUNK_SIZE]
    assert hashlib.sha256(b"".join(pieces)).hexdigest() == meta["sha256"] == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize("extra_settings", [DATABASE, DIRECTORY], ids=["database", "directory"])
def test_two_portal_instances_on_one_database_see_each_others_files(client, app, people, database_url, tmp_path,
                                                                    extra_settings):
    """Two hosts: same database, each its own instance directory (nothing shared on disk)."""
    other = create_app(settings_for(database_url, tmp_path / "other-host", **extra_settings))
    other.test_client_class = IsolatedClient
    try:
        here = attach_to_bulletin(client, people["aroha"], bulletin(client, people["aroha"]), PDF).get_json()
        there = attach_to_bulletin(other.test_client(), people["aroha"], bulletin(client, people["aroha"]),
                                   CSV, "figures.csv").get_json()
        from_other = other.test_client().get(here["url"], headers=bearer(people["ben"]))
        from_here = client.get(there["url"], headers=bearer(people["ben"]))
        if storage(app) == "database":
            assert from_other.status_code == from_here.status_code == 200
            assert (from_other.data, from_here.data) == (PDF, CSV)
        else:  # the problem the database store solves: each host has only its own files
            assert from_other.status_code == from_here.status_code == 404
    finally:
        with other.app_context():
            db.engine.dispose()


# --- The directory store: paths stay inside it -------------------------------------------------

def test_keys_that_could_leave_the_store_are_no_such_file(app):
    for key in ("../../etc/passwd", "..", "a/b", "x" * 10, "abc/../../../../etc/shadow0000000", "A" * 65):
        with pytest.raises(attachments.Refused):
            attachments.path_for(key)
        with app.test_request_context(), pytest.raises(NotFound):
            downloads.send(SimpleNamespace(storage_key=key, content_type="text/plain", filename="x.txt"))


@pytest.mark.parametrize("extra_settings", [DIRECTORY], ids=["directory"])
def test_a_link_out_of_the_directory_is_refused(app, tmp_path):
    secret = tmp_path / "outside.txt"
    secret.write_text("not an attachment")
    key = "ab" + "c" * 30
    (attachments.root() / key[:2]).mkdir(parents=True)
    (attachments.root() / key[:2] / key).symlink_to(secret)
    with pytest.raises(attachments.Refused):
        attachments.path_for(key)
    with app.test_request_context(), pytest.raises(NotFound):
        downloads.send(SimpleNamespace(storage_key=key, content_type="text/plain", filename="x.txt"))


# --- Copying a directory into the database -----------------------------------------------------

@pytest.mark.parametrize("extra_settings", [DIRECTORY], ids=["directory-first"])
def test_import_directory_copies_each_referenced_file_once(client, app, people, database_url, tmp_path,
                                                           monkeypatch):
    bulletin_id = bulletin(client, people["aroha"])
    kept_here = attach_to_bulletin(client, people["aroha"], bulletin_id, PDF).get_json()
    damaged = attach_to_bulletin(client, people["aroha"], bulletin_id, CSV, "figures.csv").get_json()
    elsewhere = attach_to_bulletin(client, people["aroha"], bulletin_id, b"on the other host\n", "o.txt").get_json()
    with app.app_context():
        rows_by_id = {r.id: r for r in db.session.scalars(select(BulletinAttachment))}
        attachments.path_for(rows_by_id[damaged["id"]].storage_key).write_bytes(b"date,amount\n2026-10-01,1\n")
        attachments.path_for(rows_by_id[elsewhere["id"]].storage_key).unlink()
    with app.test_request_context():  # a file no attachment refers to (a failed upload) stays behind
        attachments.store(io.BytesIO(b"orphan\n"), "orphan.txt")
    # the same host, switched to the database store
    switched = create_app(settings_for(database_url, tmp_path / "instance", **DATABASE))
    switched.test_client_class = IsolatedClient
    try:
        first = switched.test_cli_runner().invoke(args=["attachments", "import-directory"])
        assert first.exit_code == 1  # the damaged file is named, not copied
        assert "Copied 1 file(s)" in first.stdout and "0 were there already" in first.stdout
        assert rows_by_id[damaged["id"]].storage_key in first.stderr
        assert "1 attachment(s) have no file" in first.stderr
        again = switched.test_cli_runner().invoke(args=["attachments", "import-directory"])
        assert "Copied 0 file(s)" in again.stdout and "1 were there already" in again.stdout
        # another host copying the same file at the same moment: the second insert loses, harmlessly
        from portal import file_store

        monkeypatch.setattr(file_store, "exists", lambda key: False)
        raced = switched.test_cli_runner().invoke(args=["attachments", "import-directory"])
        assert "Copied 0 file(s)" in raced.stdout and "1 were there already" in raced.stdout
        monkeypatch.undo()
        assert rows() == (1, 1)
        download = switched.test_client().get(kept_here["url"], headers=bearer(people["ben"]))
        assert_download(download, PDF, "application/pdf", "attachment; filename=report.pdf")
        assert switched.test_client().get(damaged["url"], headers=bearer(people["ben"])).status_code == 404
    finally:
        with switched.app_context():
            db.engine.dispose()


def test_import_directory_says_what_to_fix_without_a_directory(app, tmp_path):
    missing = create_app(settings_for(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "elsewhere",
                                      attachments_dir=str(tmp_path / "no-such-dir")))
    try:
        result = missing.test_cli_runner().invoke(args=["attachments", "import-directory"])
        assert result.exit_code != 0 and "PORTAL_ATTACHMENTS_DIR" in result.output
    finally:
        with missing.app_context():
            db.engine.dispose()
