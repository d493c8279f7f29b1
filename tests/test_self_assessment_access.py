"""The self-assessment page is reachable by exactly those who may use it, and opening it creates
nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.ratings.models import Assessment
from tests.conftest import csrf_from, sign_in


def _assessments():
    return db.session.scalar(select(func.count()).select_from(Assessment))


def test_button_and_page_for_partner_org_admins_only_and_get_creates_nothing(app, world):
    bank = world.org("bank-a", name="Bank A")
    customs = world.org("nz-customs", "government", "customs", name="NZ Customs")
    admin = world.user("admin@a.example", bank, ("org-admin",))
    staff = world.user("risk@a.example", bank, ("viewer", "submitter"))
    agency_admin = world.user("admin@customs.example", customs, ("org-admin",))

    for person, allowed in ((staff, False), (agency_admin, False), (admin, True)):
        client = app.test_client()
        sign_in(client, person)
        index = client.get("/ratings").get_data(as_text=True)
        assert ('href="/ratings/self"' in index) is allowed, person.email
        assert client.get("/ratings/self").status_code == (200 if allowed else 404), person.email
    # Opening the page (as the one who may) made no draft.
    assert _assessments() == 0

    client = app.test_client()
    sign_in(client, admin)
    page = client.get("/ratings/self")
    assert _assessments() == 0
    saved = client.post("/ratings/self", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                               "action": "save"})
    assert saved.status_code == 302
    assert _assessments() == 1  # the first save makes the draft
    client.get("/ratings/self")
    assert _assessments() == 1


def test_a_post_by_someone_not_allowed_creates_nothing(app, world):
    bank = world.org("bank-a", name="Bank A")
    staff = world.user("risk@a.example", bank, ("viewer", "submitter"))
    client = app.test_client()
    sign_in(client, staff)
    token = csrf_from(client.get("/profile").get_data(as_text=True))
    assert client.post("/ratings/self", data={"csrf_token": token, "action": "save"}).status_code == 404
    assert _assessments() == 0
