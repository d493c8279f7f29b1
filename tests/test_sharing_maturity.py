"""Scorecards (computed from recorded activity, incrementally and idempotently), requests for
information, resilience ratings, the system-health dashboard, and who may see each."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from portal.activity import ActivityEvent
from portal.audit.models import AuditEntry
from portal.bulletins.models import Bulletin
from portal.extensions import db
from portal.outbox import OutboxMessage
from portal.ratings.models import Assessment
from portal.rfis.models import InformationRequest
from portal.scorecards import compute
from portal.scorecards.models import Scorecard
from portal.types import utcnow
from tests.conftest import bearer, csrf_from, sign_in, sign_out

LATER = dt.timedelta(minutes=5)


@pytest.fixture
def people(world):
    o, u = world.org, world.user
    customs = o("nz-customs", "government", "customs", name="NZ Customs")
    police = o("nz-police", "government", "police", name="NZ Police")
    a = o("bank-a", name="Bank A")
    b = o("bank-b", name="Bank B")
    port = o("port-x", sector="ports", name="Port X")
    return {
        "customs": customs, "bank_a": a, "bank_b": b, "port_org": port,
        "publisher": u("pub@customs.example", customs, ("publisher",), clearance="RESTRICTED"),
        "analyst": u("analyst@customs.example", customs, ("analyst",), clearance="RESTRICTED"),
        "police_analyst": u("analyst@police.example", police, ("analyst",), clearance="RESTRICTED"),
        "a": u("risk@a.example", a, ("viewer", "publisher", "submitter")),
        "a_admin": u("admin@a.example", a, ("org-admin",)),
        "b": u("risk@b.example", b, ("viewer", "publisher", "submitter")),
        "b_admin": u("admin@b.example", b, ("org-admin",)),
        "port": u("risk@port.example", port, ("viewer", "submitter")),
    }


def _bulletin(client, user, audience, title="Cash couriers"):
    response = client.post("/api/v1/bulletins", headers=bearer(user), json={
        "title": title, "classification": "UNCLASSIFIED", "tlp": "GREEN", "audience": audience, "publish": True})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _published_hours_ago(bulletin_id, hours):
    bulletin = db.session.get(Bulletin, bulletin_id)
    bulletin.published_at = utcnow() - dt.timedelta(hours=hours)
    db.session.commit()


def _card(client, viewer, slug):
    response = client.get(f"/api/v1/scorecards/{slug}", headers=bearer(viewer))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_acknowledging_faster_raises_responsiveness(client, people):
    first = _bulletin(client, people["publisher"], {"sectors": ["banking"]})
    _published_hours_ago(first, 2)
    client.post(f"/api/v1/bulletins/{first}/acknowledge", headers=bearer(people["a"]))
    _published_hours_ago(first, 96)
    client.post(f"/api/v1/bulletins/{first}/acknowledge", headers=bearer(people["b"]))
    compute.run(now=utcnow() + LATER)
    a, b = _card(client, people["a"], "bank-a"), _card(client, people["b"], "bank-b")
    assert a["responsiveness"] == 100 and b["responsiveness"] < 50, (a, b)
    assert a["period"] == compute.current_quarter()
    before = b["responsiveness"]
    for _ in range(2):  # Bank B now acknowledges promptly
        quick = _bulletin(client, people["publisher"], {"sectors": ["banking"]}, "Mule accounts")
        _published_hours_ago(quick, 1)
        client.post(f"/api/v1/bulletins/{quick}/acknowledge", headers=bearer(people["b"]))
    compute.run(now=utcnow() + LATER)
    assert _card(client, people["b"], "bank-b")["responsiveness"] > before


def test_useful_ratings_raise_relevance_and_unprompted_sharing_counts(client, people):
    mine = _bulletin(client, people["a"], {"orgs": ["nz-customs"]}, "Structuring at branches")
    theirs = _bulletin(client, people["b"], {"orgs": ["nz-customs"]}, "Odd transfers")
    compute.run(now=utcnow() + LATER)
    a0 = _card(client, people["a"], "bank-a")
    assert a0["relevance"] == 50 and a0["proactiveness"] == 100 and a0["frequency"] == 100
    client.post(f"/api/v1/bulletins/{mine}/feedback", headers=bearer(people["analyst"]), json={"rating": "useful"})
    client.post(f"/api/v1/bulletins/{theirs}/feedback", headers=bearer(people["analyst"]),
                json={"rating": "not-relevant"})
    compute.run(now=utcnow() + LATER)
    a1, b1 = _card(client, people["a"], "bank-a"), _card(client, people["b"], "bank-b")
    assert a1["relevance"] > a0["relevance"] > b1["relevance"]
    # A changed rating replaces the old one rather than adding to it.
    client.post(f"/api/v1/bulletins/{theirs}/feedback", headers=bearer(people["analyst"]), json={"rating": "useful"})
    compute.run(now=utcnow() + LATER)
    b2 = _card(client, people["b"], "bank-b")
    assert b2["relevance"] == a1["relevance"] and b2["ratings"] == 1
    # A port that shared nothing: zero frequency and proactiveness.
    port = _card(client, people["port"], "port-x")
    assert port["frequency"] == 0 and port["proactiveness"] == 0


def test_the_job_is_incremental_and_idempotent(client, people, app):
    bulletin = _bulletin(client, people["publisher"], {"sectors": ["banking"]})
    client.post(f"/api/v1/bulletins/{bulletin}/acknowledge", headers=bearer(people["a"]))
    later = utcnow() + LATER
    written = compute.run(now=later)
    assert written and all(n >= 1 for n in written.values())
    snapshot = sorted((s.organisation_id, s.period, s.overall, s.computed_at) for s in
                      db.session.scalars(select(Scorecard)))
    assert compute.run(now=later + LATER) == {}  # nothing new: nothing read, nothing written
    for period in written:
        assert compute.store_period(period, now=later + LATER) == 0  # recomputing changes nothing
    db.session.commit()
    assert sorted((s.organisation_id, s.period, s.overall, s.computed_at) for s in
                  db.session.scalars(select(Scorecard))) == snapshot
    # events still in their lag are left for the next run, then counted once
    client.post(f"/api/v1/bulletins/{bulletin}/acknowledge", headers=bearer(people["b"]))
    assert compute.run(now=utcnow()) == {}
    assert compute.run(now=utcnow() + LATER)
    assert _card(client, people["b"], "bank-b")["responses"] == 1
    result = app.test_cli_runner().invoke(args=["jobs", "run-once"])
    assert "scorecards.compute" in result.output


def test_scorecards_are_visible_to_their_organisation_and_oversight_only(client, people):
    _bulletin(client, people["a"], {"orgs": ["nz-customs"]})
    compute.run(now=utcnow() + LATER)
    assert client.get("/api/v1/scorecards/bank-a", headers=bearer(people["b"])).status_code == 404
    assert client.get("/api/v1/scorecards/nobody", headers=bearer(people["b"])).status_code == 404
    assert client.get("/api/v1/scorecards/bank-a", headers=bearer(people["police_analyst"])).status_code == 404
    assert client.get("/api/v1/scorecards/bank-a", headers=bearer(people["analyst"])).status_code == 200
    card = _card(client, people["a"], "bank-a")
    assert set(card) >= {"proactiveness", "relevance", "frequency", "responsiveness", "overall", "period"}
    assert all(0 <= card[k] <= 100 for k in ("proactiveness", "relevance", "frequency", "responsiveness", "overall"))
    sign_in(client, people["b"])
    assert client.get("/scorecards/bank-a").status_code == 404
    assert client.get("/system-health").status_code == 404
    own = client.get("/scorecards").get_data(as_text=True)
    assert "Bank B" in own and "Bank A" not in own  # the sector's distribution carries no names
    sign_out(client)
    oversight = client.application.test_client()
    sign_in(oversight, people["analyst"])
    assert oversight.get("/scorecards/bank-a").status_code == 200
    health = oversight.get("/system-health")
    assert health.status_code == 200 and "<svg" in health.get_data(as_text=True)
    assert "<table" in health.get_data(as_text=True)
    csv_response = oversight.get("/system-health/participation.csv")
    assert csv_response.mimetype == "text/csv" and "Banking" in csv_response.get_data(as_text=True)
    assert csv_response.get_data(as_text=True).startswith("Kind of organisation,Sector,")  # headers in words
    below = oversight.get("/system-health/below.csv").get_data(as_text=True)
    assert "Port X" in below  # nothing shared: below its sector's target


# --- Requests for information ----------------------------------------------------------------

def _ask(client, user, holder="bank-a"):
    sign_in(client, user)
    token = csrf_from(client.get("/requests/new").get_data(as_text=True))
    return client.post("/requests/new", data={
        "csrf_token": token, "holder_org": holder, "subject": "Accounts held by Blue Reef Trading Ltd",
        "legal_basis": "Privacy Act 2020, IPP 11(1)(e)(i)", "grounds": "Named in three suspicious-activity reports.",
        "due": (dt.date.today() + dt.timedelta(days=7)).isoformat()})


def test_request_for_information_answered_declined_clarified_and_audited(client, people):
    response = _ask(client, people["analyst"])
    assert response.status_code == 302
    item = db.session.scalar(select(InformationRequest))
    path = f"/requests/{item.id}"
    sign_out(client)
    holder = client.application.test_client()
    sign_in(holder, people["a"])
    token = csrf_from(holder.get(path).get_data(as_text=True))
    holder.post(f"{path}/reply", data={"csrf_token": token, "kind": "clarify", "body": "Which period?"})
    requester = client.application.test_client()
    sign_in(requester, people["analyst"])
    token2 = csrf_from(requester.get(path).get_data(as_text=True))
    requester.post(f"{path}/reply", data={"csrf_token": token2, "kind": "clarification", "body": "2026."})
    holder.post(f"{path}/reply", data={"csrf_token": token, "kind": "answer", "body": "Two accounts; details."})
    db.session.expire_all()
    item = db.session.get(InformationRequest, item.id)
    assert item.status == "answered" and item.closed_at
    actions = {a for (a,) in db.session.execute(select(AuditEntry.action).where(
        AuditEntry.object_type == "information_request"))}
    assert {"rfi.create", "rfi.clarify", "rfi.clarification", "rfi.answer", "rfi.read"} <= actions
    assert db.session.scalar(select(func.count()).select_from(ActivityEvent).where(
        ActivityEvent.kind == "share-reactive")) == 1
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.event == "rfi.received"))
    # a closed request takes no more answers; others cannot see it
    holder.post(f"{path}/reply", data={"csrf_token": token, "kind": "decline", "body": "No."})
    db.session.expire_all()
    assert db.session.get(InformationRequest, item.id).status == "answered"
    other = client.application.test_client()
    sign_in(other, people["b"])
    assert other.get(path).status_code == 404
    assert "RFI-" not in other.get("/requests").get_data(as_text=True)


def test_request_needs_basis_grounds_and_an_agency(client, people):
    sign_in(client, people["analyst"])
    token = csrf_from(client.get("/requests/new").get_data(as_text=True))
    refused = client.post("/requests/new", data={"csrf_token": token, "holder_org": "bank-a", "subject": "x",
                                                 "due": "2020-01-01"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    # The form names its fields whatever happens; the refusal must say what is wrong with each
    # missing one, and nothing about the ones given.
    for message in ("State the legal basis for the request", "State your reasonable grounds",
                    "Give a due date in the future"):
        assert page.count(message) >= 1, message
    assert "Say what information you need" not in page  # the subject was given
    assert "Choose the organisation that holds the information" not in page  # and the holder
    assert db.session.scalar(select(func.count()).select_from(InformationRequest)) == 0
    sign_out(client)
    bank = client.application.test_client()
    sign_in(bank, people["a"])
    assert bank.get("/requests/new").status_code == 404


# --- Resilience ratings ----------------------------------------------------------------------

def _self_assess(client, admin, scores=3):
    from portal.ratings.service import criteria_codes

    sign_in(client, admin)
    page = client.get("/ratings/self")
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    client.post("/ratings/self/evidence", data={"csrf_token": token, "criterion": "gov-1",
                                                "file": (io.BytesIO(b"Terms of reference\n"), "tor.txt")},
                content_type="multipart/form-data")
    form = {"csrf_token": token, "action": "submit"}
    for code in criteria_codes():
        form[f"{code}.score"] = str(scores)
        form[f"{code}.comment"] = "In place since 2025."
    return client.post("/ratings/self", data=form)


def test_self_assessment_rated_by_an_assessor_with_tier_expiry_and_history(client, people):
    from portal.ratings.service import criteria_codes

    assert _self_assess(client, people["a_admin"]).status_code == 302
    assessment = db.session.scalar(select(Assessment))
    assert assessment.status == "submitted" and len(assessment.evidence) == 1
    assessor = client.application.test_client()
    sign_in(assessor, people["analyst"])
    path = f"/ratings/assessments/{assessment.id}"
    page = assessor.get(path).get_data(as_text=True)
    assert "tor.txt" in page
    token = csrf_from(page)
    form = {"csrf_token": token, "tier": "silver", "summary": "Solid; vetting to improve."}
    for code in criteria_codes():
        form[f"{code}.assessor_score"] = "3"
        form[f"{code}.action"] = "Re-vet staff every two years." if code == "per-1" else ""
    assert assessor.post(f"{path}/rate", data=form).status_code == 302
    db.session.expire_all()
    rated = db.session.get(Assessment, assessment.id)
    assert rated.status == "rated" and rated.tier == "silver" and rated.expires_at > utcnow() + dt.timedelta(days=700)
    overview = assessor.get("/ratings").get_data(as_text=True)
    assert "Bank A" in overview and "Silver" in overview and "Bank B" in overview
    mine = client.application.test_client()
    sign_in(mine, people["a"])
    own = mine.get(path).get_data(as_text=True)
    assert "Re-vet staff every two years." in own
    assert "Silver" in mine.get("/ratings").get_data(as_text=True)
    # another partner sees neither the assessment nor the evidence
    other = client.application.test_client()
    sign_in(other, people["b_admin"])
    assert other.get(path).status_code == 404
    evidence = rated.evidence[0]
    assert other.get(f"{path}/evidence/{evidence.id}").status_code == 404
    assert "Bank A" not in other.get("/ratings").get_data(as_text=True)
    # a new cycle keeps the history
    assert _self_assess(client.application.test_client(), people["b_admin"]).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 2


def test_incomplete_self_assessment_is_refused_and_reassessment_is_reminded(client, people):
    from portal.ratings import service

    sign_in(client, people["a_admin"])
    token = csrf_from(client.get("/ratings/self").get_data(as_text=True))
    refused = client.post("/ratings/self", data={"csrf_token": token, "action": "submit", "gov-1.score": "9"})
    assert refused.status_code == 400
    assert db.session.scalar(select(Assessment)) is None  # refused input changes nothing, nor does opening the page
    client.post("/ratings/self", data={"csrf_token": token, "action": "save"})
    assert db.session.scalar(select(Assessment)).status == "draft"
    assessment = db.session.scalar(select(Assessment))
    assessment.status, assessment.tier, assessment.rated_at = "rated", "bronze", utcnow()
    assessment.expires_at = utcnow() + dt.timedelta(days=30)
    db.session.commit()
    assert service.remind_reassessment() == 1
    assert service.remind_reassessment() == 0
    db.session.commit()
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.event == "rating.reassess"))


def test_unknown_periods_are_refused(client, people):
    for period in ("2026-Q9", "2026-13", "soon"):
        response = client.get(f"/api/v1/scorecards/bank-a?period={period}", headers=bearer(people["a"]))
        assert response.status_code == 400 and "period" in response.get_json()["error"]["fields"]
    sign_in(client, people["a"])
    assert client.get("/scorecards?period=2026-Q9").status_code == 404


# --- The rating forms are checked by their declarations (portal/ratings/schemas.py) -------------------

def _words(model, data):
    from portal.payloads import check
    from portal.problems import Invalid

    with pytest.raises(Invalid) as refused:
        check(model, data)
    return refused.value.fields


@pytest.mark.parametrize("field, value, key", [("score", "5", "score"), ("score", "-1", "score"),
                                               ("score", "three", "score"), ("comment", "c" * 5001, "comment")])
def test_self_assessment_refuses_a_bad_value_in_the_declarations_words_and_saves_nothing(client, people, field,
                                                                                         value, key):
    from markupsafe import escape

    from portal.ratings.schemas import SelfAnswer
    from portal.ratings.service import criteria_codes

    words = _words(SelfAnswer, {field: value})[key]
    sign_in(client, people["a_admin"])
    token = csrf_from(client.get("/ratings/self").get_data(as_text=True))
    assert client.post("/ratings/self", data={"csrf_token": token, "gov-1.score": "2"}).status_code == 302
    code = criteria_codes()[1]
    bad = client.post("/ratings/self", data={"csrf_token": token, "gov-1.score": "4", f"{code}.{field}": value})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and all(str(escape(w)) in text for w in words), text[:2000]
    db.session.expire_all()
    assessment = db.session.scalar(select(Assessment))
    assert assessment.answer("gov-1").self_score == 2 and assessment.answer(code).self_score is None


def test_rating_refuses_a_bad_value_in_the_declarations_words_and_rates_nothing(client, people):
    from markupsafe import escape

    from portal.ratings.schemas import AssessorAnswer, RatingInput
    from portal.ratings.service import criteria_codes

    assert _self_assess(client, people["a_admin"]).status_code == 302
    assessment = db.session.scalar(select(Assessment))
    assessor = client.application.test_client()
    sign_in(assessor, people["analyst"])
    path = f"/ratings/assessments/{assessment.id}"
    token = csrf_from(assessor.get(path).get_data(as_text=True))
    form = {"csrf_token": token, "tier": "silver", "summary": "s" * 10_001}
    for code in criteria_codes():
        form[f"{code}.assessor_score"] = "3"
    form["gov-1.assessor_score"] = "9"
    bad = assessor.post(f"{path}/rate", data=form)
    text = bad.get_data(as_text=True)
    words = _words(RatingInput, {"summary": "s" * 10_001})["summary"] + \
        _words(AssessorAnswer, {"assessor_score": "9"})["assessor_score"]
    assert bad.status_code == 400 and all(str(escape(w)) in text for w in words)
    db.session.expire_all()
    assert db.session.get(Assessment, assessment.id).status == "submitted"
    assert db.session.get(Assessment, assessment.id).answer("gov-1").assessor_score is None
    assert assessor.post(f"{path}/rate", data={k: v for k, v in form.items() if k != "csrf_token"}).status_code == 400
