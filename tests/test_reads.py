"""portal/reads.py: load what the reader may read (else 404), audit the access once, serialise, commit."""
from __future__ import annotations

import contextlib
import json

import pytest
from flask import g
from sqlalchemy import inspect, select
from werkzeug.exceptions import NotFound

from portal import policy, reads
from portal.audit.models import AuditEntry
from portal.bulletins.models import Bulletin
from portal.extensions import db
from portal.submissions.models import Submission
from tests.conftest import bearer, sign_in
from tests.test_bulletin_pages import counting_queries
from tests import test_submissions
from tests.test_submissions import _submit

people = test_submissions.people  # its organisations and users, as a fixture here too


def _entries(*actions: str) -> list[AuditEntry]:
    db.session.rollback()
    statement = select(AuditEntry).order_by(AuditEntry.id)
    if actions:
        statement = statement.where(AuditEntry.action.in_(actions))
    return list(db.session.scalars(statement))


@contextlib.contextmanager
def _as(app, user):
    """A request whose reader is ``user`` (as the default-deny gate leaves it)."""
    with app.test_request_context("/"):
        g.portal_user = user
        yield


def test_every_content_type_of_the_policy_says_what_it_records():
    assert set(policy.RULES) <= set(reads.AUDITED)
    for model, kind in reads.AUDITED.items():
        assert hasattr(model, kind.key) and hasattr(model, kind.names) and hasattr(model, kind.owner), model


def test_a_readable_object_is_returned_serialised_and_audited_once(app, client, people):
    reference = _submit(client, people["submitter"]).get_json()["reference"]
    before = len(_entries())
    with _as(app, people["analyst"]):
        answer = reads.read_one(Submission, reference,
                                lambda s: {"fresh": not inspect(s).expired_attributes, "ref": s.reference},
                                via="test", purpose="check")
    assert answer == {"fresh": True, "ref": reference}  # serialised before the commit expired it
    entries = _entries()
    assert len(entries) == before + 1
    entry = entries[-1]
    assert (entry.action, entry.object_type, entry.object_id, entry.object_org, entry.actor_email) == (
        "submission.read", "submission", reference, "harbour-bank", "analyst@fiu.example")
    assert json.loads(entry.details) == {"via": "test", "purpose": "check"}


def test_an_unreadable_object_is_404_as_if_absent_and_nothing_is_recorded_by_the_load(app, client, people):
    reference = _submit(client, people["submitter"]).get_json()["reference"]
    before = len(_entries())
    with _as(app, people["other_submitter"]):
        with pytest.raises(NotFound):
            reads.read_one(Submission, reference, lambda s: pytest.fail("serialised an unreadable report"))
        with pytest.raises(NotFound):
            reads.load(Submission, "SAR-0000-000000")
        db.session.commit()
    assert len(_entries()) == before


def test_a_refused_read_is_recorded_as_before(client, people):
    """Pages record nothing for a 404; a token's refused call is its api.call entry, with the status —
    the same for an absent report and for one the token's reader may not read."""
    reference = _submit(client, people["submitter"]).get_json()["reference"]
    headers = bearer(people["other_submitter"])
    for path in (f"/api/v1/submissions/{reference}", "/api/v1/submissions/SAR-0000-000000",
                 f"/api/v1/submissions/{reference}/goaml"):
        count = len(_entries())
        assert client.get(path, headers=headers).status_code == 404
        entries = _entries()[count:]
        assert [(e.action, e.object_id, json.loads(e.details)["status"]) for e in entries] == [
            ("api.call", path[:64], 404)], path
    sign_in(client, people["other_submitter"])
    count = len(_entries())
    assert client.get(f"/submissions/{reference}").status_code == 404
    assert client.get(f"/submissions/{reference}/goaml").status_code == 404
    assert _entries()[count:] == []


def test_nothing_is_committed_when_the_block_fails(app, client, people):
    reference = _submit(client, people["submitter"]).get_json()["reference"]
    before = len(_entries())
    with _as(app, people["analyst"]):
        with pytest.raises(RuntimeError):
            def serialise(submission):
                submission.status = "closed"  # a change made while answering
                raise RuntimeError("the answer could not be built")
            reads.read_one(Submission, reference, serialise)
        with pytest.raises(RuntimeError), reads.listed(Submission, 3):
            raise RuntimeError("the page could not be built")
    assert len(_entries()) == before
    assert db.session.scalar(select(Submission.status).where(Submission.reference == reference)) == "received"


def test_a_list_is_one_audited_access_with_its_count_and_filters(app, people):
    with _as(app, people["analyst"]):
        with reads.listed(Bulletin, 4, view="home", filters={"tlp": "GREEN"}):
            pass
        with reads.listed(reads.Assessment):
            pass
    bulletins, ratings = _entries()[-2:]
    assert (bulletins.action, bulletins.object_type, bulletins.object_id, bulletins.object_org) == (
        "bulletin.list", "bulletin", "", "")
    assert json.loads(bulletins.details) == {"count": 4, "view": "home", "filters": {"tlp": "GREEN"}}
    assert (ratings.action, ratings.object_type, json.loads(ratings.details)) == ("rating.list", "assessment", {})


def test_the_goaml_export_reads_only_the_report(client, people):
    """Token, report, audit entry: the export loads neither the typology rows nor the attachment
    list it does not use, and builds its answer before the commit (which would reload the report)."""
    reference = _submit(client, people["submitter"]).get_json()["reference"]
    headers = bearer(people["analyst"])
    sign_in(client, people["analyst"])
    for path, extra in ((f"/api/v1/submissions/{reference}/goaml", {"headers": headers}),
                        (f"/submissions/{reference}/goaml", {})):
        client.get(path, **extra)
        with counting_queries() as counter:
            response = client.get(path, **extra)
        assert response.status_code == 200 and reference.encode() in response.data
        assert response.headers["Content-Disposition"] == f'attachment; filename="{reference}-goaml.xml"'
        assert counter["n"] <= 3, (path, counter["n"])
    exports = _entries("submission.export")
    assert [json.loads(e.details).get("via") for e in exports] == ["api", "api", None, None]
    assert {(e.object_id, e.object_org) for e in exports} == {(reference, "harbour-bank")}
