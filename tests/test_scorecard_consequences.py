"""Scorecards that mark the homework (issue 17): silence counts, periods in New Zealand time, the
close of a quarter and its consequences (notices once, the kept accountability report, procurement
eligibility, the mark), and scores explained without revealing what the viewer may not read.

Time is controlled as in tests/test_sharing_maturity.py: every job takes ``now``, and stored
timestamps are moved into the past."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from portal.activity import ActivityEvent
from portal.audit.models import AuditEntry
from portal.bulletins.models import Bulletin
from portal.extensions import db
from portal.notifications import delivery
from portal.scorecards import compute, consequences, periods
from portal.scorecards.models import AccountabilityReport, ClosedPeriod, Scorecard, ScorecardNotice
from portal.types import utcnow
from tests.conftest import bearer, sign_in
from tests.idp import free_port
from tests.mail import SmtpSink

LATER = dt.timedelta(minutes=5)
SMTP_PORT = free_port()
UTC = dt.timezone.utc


@pytest.fixture
def extra_settings():
    return {"smtp_port": SMTP_PORT, "delivery_retry_seconds": 1}


@pytest.fixture
def smtp():
    sink = SmtpSink(SMTP_PORT).start()
    yield sink
    sink.stop()


@pytest.fixture
def people(world):
    o, u = world.org, world.user
    customs = o("nz-customs", "government", "customs", name="NZ Customs")
    police = o("nz-police", "government", "police", name="NZ Police")
    a = o("bank-a", name="Bank A")
    b = o("bank-b", name="Bank B")
    port = o("port-x", sector="ports", name="Port X")
    return {
        "customs": customs, "police": police, "bank_a": a, "bank_b": b, "port_org": port,
        "publisher": u("pub@customs.example", customs, ("publisher",), clearance="RESTRICTED"),
        "police_publisher": u("pub@police.example", police, ("publisher",), clearance="RESTRICTED"),
        "analyst": u("analyst@customs.example", customs, ("analyst",), clearance="RESTRICTED"),
        "admin": u("admin@portal.example", customs, ("admin",)),
        "a": u("risk@a.example", a, ("viewer", "publisher")),
        "a_admin": u("admin@a.example", a, ("org-admin",)),
        "b": u("risk@b.example", b, ("viewer", "publisher")),
        "b_admin": u("admin@b.example", b, ("org-admin",)),
        "port": u("risk@port.example", port, ("viewer",)),
    }


def _bulletin(client, user, audience, title="Cash couriers", classification="UNCLASSIFIED"):
    response = client.post("/api/v1/bulletins", headers=bearer(user), json={
        "title": title, "classification": classification, "tlp": "GREEN", "audience": audience, "publish": True})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _published_hours_ago(bulletin_id, hours, now=None):
    bulletin = db.session.get(Bulletin, bulletin_id)
    bulletin.published_at = (now or utcnow()) - dt.timedelta(hours=hours)
    db.session.commit()


def _card(organisation, period):
    db.session.expire_all()
    return db.session.get(Scorecard, (organisation.id, period))


# --- 1. Silence counts -----------------------------------------------------------------------

def test_the_silent_organisation_scores_lower_and_lower_still_a_week_later(client, people):
    now = utcnow()
    item = _bulletin(client, people["publisher"], {"sectors": ["banking"]})
    _published_hours_ago(item, 1, now)
    assert client.post(f"/api/v1/bulletins/{item}/acknowledge", headers=bearer(people["a"])).status_code == 200
    _published_hours_ago(item, 30, now)  # Bank B has been silent for 30 hours: past the 24-hour target
    # Above the banks' clearance: nobody there may read it, so it is held against nobody.
    hidden = _bulletin(client, people["publisher"], {"sectors": ["banking"]}, "Hidden", "RESTRICTED")
    _published_hours_ago(hidden, 60, now)
    compute.run(now=now + LATER)
    quarter = periods.current_quarter(now + LATER)
    a, b, port = _card(people["bank_a"], quarter), _card(people["bank_b"], quarter), _card(people["port_org"], quarter)
    assert a.responsiveness == 100 and a.open_items == 0
    assert b.open_items == 1 and b.responsiveness < a.responsiveness and b.overall < a.overall
    assert port.responsiveness == 50  # nothing to respond to stays neutral
    b_responsiveness, b_overall = b.responsiveness, b.overall
    week = compute.run(now=now + dt.timedelta(days=7))
    assert quarter in week or periods.current_quarter(now + dt.timedelta(days=7)) in week
    later_quarter = periods.current_quarter(now + dt.timedelta(days=7))
    b_later = _card(people["bank_b"], later_quarter)
    if later_quarter == quarter:
        assert b_later.responsiveness < b_responsiveness and b_later.overall < b_overall
    else:  # the week crossed a quarter: the closed one kept its age at the close, still lower
        assert _card(people["bank_b"], quarter).responsiveness < b_responsiveness
    # once answered, the late answer counts at its real time and nothing stays open
    client.post(f"/api/v1/bulletins/{item}/acknowledge", headers=bearer(people["b"]))
    compute.run(now=utcnow() + LATER)
    assert _card(people["bank_b"], periods.current_quarter()).open_items == 0


# --- 2. Periods in New Zealand time ------------------------------------------------------------

def test_periods_are_new_zealand_months_quarters_and_financial_years(app):
    assert periods.bounds("2026-Q4")[0] == dt.datetime(2026, 9, 30, 11, tzinfo=UTC)  # NZDT, UTC+13
    assert periods.bounds("2026-Q3")[0] == dt.datetime(2026, 6, 30, 12, tzinfo=UTC)  # NZST, UTC+12
    assert periods.months_of("FY2026/27") == [202607, 202608, 202609, 202610, 202611, 202612,
                                              202701, 202702, 202703, 202704, 202705, 202706]
    assert periods.keys_of(202607) == ("2026-07", "2026-Q3", "FY2026/27")
    assert periods.keys_of(202606) == ("2026-06", "2026-Q2", "FY2025/26")
    for bad in ("FY2026/28", "2026-Q5", "2026-00"):
        with pytest.raises(ValueError):
            periods.months_of(bad)


def test_activity_at_half_past_midnight_on_1_october_counts_in_q4(client, people):
    from portal import activity

    boundary = dt.datetime(2026, 9, 30, 11, 30, tzinfo=UTC)  # 00:30 on 1 October in Auckland
    activity.record(people["bank_a"].id, "share", at=boundary)
    activity.record(people["bank_b"].id, "share", at=boundary - dt.timedelta(hours=1))  # 23:30 on 30 September
    db.session.commit()
    compute.run(now=utcnow() + LATER)
    assert _card(people["bank_a"], "2026-Q4").shares == 1 and _card(people["bank_a"], "2026-Q3").shares == 0
    assert _card(people["bank_b"], "2026-Q3").shares == 1 and _card(people["bank_b"], "2026-Q4").shares == 0
    assert _card(people["bank_a"], "2026-10").shares == 1
    assert _card(people["bank_a"], "FY2026/27").shares == 1 and _card(people["bank_b"], "FY2026/27").shares == 1
    card = client.get("/api/v1/scorecards/bank-a?period=FY2026/27", headers=bearer(people["a"])).get_json()
    assert card["period"] == "FY2026/27" and card["shares"] == 1 and card["time_zone"] == "Pacific/Auckland"


def test_recompute_moves_utc_counted_activity_into_its_new_zealand_quarter_idempotently(app, people):
    db.session.add(ActivityEvent(organisation_id=people["bank_a"].id, kind="share",
                                 at=dt.datetime(2026, 9, 30, 11, 30, tzinfo=UTC), month=202609, weight=1, bucket=-1))
    db.session.commit()  # as the UTC months of the previous version counted it
    compute.run(now=utcnow() + LATER)
    assert _card(people["bank_a"], "2026-Q3").shares == 1
    runner = app.test_cli_runner()
    first = runner.invoke(args=["scorecards", "recompute", "--period", "2026-Q4"])
    assert first.exit_code == 0, first.output
    assert _card(people["bank_a"], "2026-Q4").shares == 1 and _card(people["bank_a"], "2026-Q3").shares == 0
    snapshot = sorted((s.organisation_id, s.period, s.shares, s.overall, s.computed_at)
                      for s in db.session.scalars(select(Scorecard)))
    again = runner.invoke(args=["scorecards", "recompute", "--period", "2026-Q4"])
    assert again.exit_code == 0 and "nothing changed" in again.output
    db.session.expire_all()
    assert sorted((s.organisation_id, s.period, s.shares, s.overall, s.computed_at)
                  for s in db.session.scalars(select(Scorecard))) == snapshot
    bad = runner.invoke(args=["scorecards", "recompute", "--period", "2026-Q9"])
    assert bad.exit_code != 0 and "FY2026/27" in bad.output


# --- 3. Consequences -----------------------------------------------------------------------------

def _close_current_quarter(client, people, now):
    """Bank A and the port below target this quarter (an old bulletin ignored); Bank B sharing."""
    item = _bulletin(client, people["police_publisher"], {"sectors": ["banking"]}, "Structuring at branches")
    _published_hours_ago(item, 100, now)
    for _ in range(3):
        _bulletin(client, people["b"], {"orgs": ["nz-customs"]}, "Odd transfers")
    client.post(f"/api/v1/bulletins/{item}/acknowledge", headers=bearer(people["b"]))
    compute.run(now=now + LATER)
    quarter = periods.current_quarter(now)
    close = periods.bounds(quarter)[1] + dt.timedelta(minutes=10)
    return quarter, close


def test_a_close_below_target_tells_admins_and_executive_once(client, people, smtp):
    bank_a = people["bank_a"]
    bank_a.executive_name, bank_a.executive_email = "Aroha Chief", "ceo@a.example"  # not a portal user
    db.session.commit()
    now = utcnow()
    quarter, close = _close_current_quarter(client, people, now)
    assert compute.run(now=close)
    compute.run(now=close + LATER)  # the job again
    assert compute.close_ended_periods(close + LATER) == {}  # a second scheduler finds it closed
    assert consequences.send_notices(quarter) == 0  # and could not tell anyone twice
    db.session.commit()
    notices = db.session.scalars(select(ScorecardNotice).where(ScorecardNotice.period == quarter)).all()
    below = {n.organisation_id for n in notices}
    assert bank_a.id in below and people["bank_b"].id not in below
    assert db.session.get(ClosedPeriod, quarter) is not None
    frozen = _card(bank_a, quarter)
    compute.run(now=close + dt.timedelta(days=3))
    assert _card(bank_a, quarter).responsiveness == frozen.responsiveness  # closed: stays as at the close
    for _ in range(3):
        delivery.dispatch()
        delivery.deliver_email()
    about_a = [m for m in smtp.messages if "Bank A" in str(m["Subject"])]
    assert sorted(m["To"] for m in about_a) == ["admin@a.example", "ceo@a.example"]
    executive = smtp.to("ceo@a.example")[0].get_body(("plain",)).get_content()
    assert str(frozen.overall) in executive and quarter in executive
    assert "Structuring" not in executive and "http" not in executive and "Odd transfers" not in executive
    admin_mail = [m for m in about_a if m["To"] == "admin@a.example"]
    assert len(admin_mail) == 1 and "/scorecards/bank-a/explain" in admin_mail[0].get_body(("plain",)).get_content()
    assert not [m for m in about_a if m["To"] == "risk@a.example"]  # neither org-admin nor executive


def test_quarterly_report_is_kept_printable_csv_and_seen_by_oversight_and_admin_only(client, people):
    now = utcnow()
    quarter, close = _close_current_quarter(client, people, now)
    compute.run(now=close)
    report = db.session.get(AccountabilityReport, quarter)
    assert report is not None and {row["slug"] for row in report.rows} >= {"bank-a", "bank-b", "port-x"}
    oversight = client.application.test_client()
    sign_in(oversight, people["analyst"])
    page = oversight.get(f"/accountability-reports/{quarter}")
    assert page.status_code == 200 and "Bank A" in page.get_data(as_text=True)
    csv_page = oversight.get(f"/accountability-reports/{quarter}.csv")
    assert csv_page.mimetype == "text/csv" and "bank-b" in csv_page.get_data(as_text=True)
    heading = csv_page.get_data(as_text=True).splitlines()[0]  # for people: headings in words
    assert heading.startswith("Organisation,Short name,Kind of organisation,Sector,Country,Proactiveness")
    listing = oversight.get("/accountability-reports").get_data(as_text=True)
    assert quarter in listing
    procurement = oversight.get("/procurement").get_data(as_text=True)
    assert "No current resilience rating." in procurement
    admin = client.application.test_client()
    sign_in(admin, people["admin"])
    assert admin.get(f"/accountability-reports/{quarter}").status_code == 200
    partner = client.application.test_client()
    sign_in(partner, people["a"])
    for path in (f"/accountability-reports/{quarter}", f"/accountability-reports/{quarter}.csv",
                 "/accountability-reports", "/procurement"):
        assert partner.get(path).status_code == 404
    actions = {a for (a,) in db.session.execute(select(AuditEntry.action))}
    assert {"accountability_report.read", "accountability_report.export", "accountability_report.list",
            "procurement.read"} <= actions


def test_eligibility_needs_the_tier_and_two_closed_quarters_above_the_threshold(client, people):
    from portal.ratings.models import Assessment

    now = utcnow()
    quarter, close = _close_current_quarter(client, people, now)
    db.session.add(Assessment(organisation_id=people["bank_b"].id, status="rated", tier="gold", rated_at=now,
                              expires_at=now + dt.timedelta(days=700)))
    db.session.commit()
    compute.run(now=close)
    verdicts = consequences.eligibility_of_all(close)
    bank_b, bank_a = verdicts[people["bank_b"].id], verdicts[people["bank_a"].id]
    assert not bank_a.eligible and "resilience" in bank_a.reason.lower()
    previous = periods.previous(quarter)
    # Bank B has the tier and scored above the threshold this quarter, but not in the quarter before
    assert not bank_b.eligible and previous in bank_b.reason and len(bank_b.quarters) == 2
    db.session.execute(Scorecard.__table__.update().where(Scorecard.period == previous,
                                                          Scorecard.organisation_id == people["bank_b"].id)
                       .values(overall=90.0))
    db.session.commit()
    assert consequences.eligibility_of_all(close)[people["bank_b"].id].eligible
    oversight = client.application.test_client()
    sign_in(oversight, people["analyst"])
    ratings = oversight.get("/ratings").get_data(as_text=True)
    assert "Meets the sharing standard" in ratings  # Bank B's mark, in the list procurement sees


# --- 4, 5. The mark, and what is behind each score ------------------------------------------------

def test_mark_on_own_scorecard_and_explanation_without_unreadable_content(client, people):
    now = utcnow()
    quarter, close = _close_current_quarter(client, people, now)
    compute.run(now=close)
    own = client.application.test_client()
    sign_in(own, people["b"])
    page = own.get(f"/scorecards?period={quarter}").get_data(as_text=True)
    assert "Meets the sharing standard" in page and quarter in page
    sign_in(client, people["a"])
    assert "Meets the sharing standard" not in client.get(f"/scorecards?period={quarter}").get_data(as_text=True)
    explained = client.get(f"/scorecards/bank-a/explain?period={quarter}").get_data(as_text=True)
    assert "Structuring at branches" in explained and "/bulletins/" in explained  # Bank A may read it
    oversight = client.application.test_client()
    sign_in(oversight, people["analyst"])  # customs: not in the audience of the police bulletin
    seen = oversight.get(f"/scorecards/bank-a/explain?period={quarter}")
    assert seen.status_code == 200
    text = seen.get_data(as_text=True)
    assert "Structuring" not in text and "An item you may not read" in text
    other = client.application.test_client()
    sign_in(other, people["b"])
    assert other.get(f"/scorecards/bank-a/explain?period={quarter}").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "scorecard.explain")) == 2
