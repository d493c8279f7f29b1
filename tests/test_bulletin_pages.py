"""Bulletins in the browser's pages (no JavaScript needed), and the feed's constant query count."""
from __future__ import annotations

import contextlib
import re

import pytest
from sqlalchemy import event, insert, select

from portal.bulletins.models import (
    Bulletin, BulletinAcknowledgement, BulletinAudience, BulletinFeedback, BulletinQuestion, BulletinRead,
)
from portal.extensions import db
from portal.types import utcnow
from portal.vocabulary import Classification
from tests.conftest import csrf_from, sign_in


@pytest.fixture
def cast(world):
    customs = world.org("nz-customs", "government", "customs", name="NZ Customs")
    bank = world.org("harbour-bank", "private", "banking", name="Harbour Bank")
    return {
        "aroha": world.user("aroha@customs.example", customs, ("publisher",), clearance="RESTRICTED"),
        "wiremu": world.user("wiremu@customs.example", customs, ("publisher",), clearance="RESTRICTED"),
        "ben": world.user("ben@harbour.example", bank, ("submitter",), clearance="SENSITIVE"),
        "other": world.user("tom@harbour.example", bank, clearance="SENSITIVE"),
        "customs": customs, "bank": bank,
    }


def compose(client, action="publish", **fields):
    page = client.get("/bulletins/new")
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "title": "Cash couriers via Auckland",
            "summary": "Couriers carry just under the threshold.", "body": "Watch for repeat travellers.",
            "classification": "IN-CONFIDENCE", "tlp": "GREEN", "orgs": "harbour-bank", "action": action,
            "indicators": "flight: NZ 990\nphone: +64 21 555 0123", "typologies": ["money-laundering"]}
    data.update(fields)
    return client.post("/bulletins/new", data=data)


def test_publisher_writes_previews_and_publishes(client, cast):
    sign_in(client, cast["aroha"])
    preview = compose(client, action="preview")
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "This would reach 2 people in 1 organisations" in text
    assert "Harbour Bank: 2 people" in text  # who, not only how many
    assert db.session.scalars(select(Bulletin)).all() == []
    bad = compose(client, classification="SECRET", orgs="no-such-org")
    body = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "accreditation" in body and "no-such-org" in body
    response = compose(client)
    assert response.status_code == 302
    bulletin = db.session.scalars(select(Bulletin)).one()
    assert bulletin.status == "published" and [i.normalised for i in bulletin.indicators] == ["NZ990", "+64215550123"]


def test_two_person_rule_in_the_browser(client, app, cast):
    sign_in(client, cast["aroha"])
    compose(client, classification="SENSITIVE")
    bulletin = db.session.scalars(select(Bulletin)).one()
    assert bulletin.status == "pending-review"
    page = client.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)
    assert "Approve and publish" not in page  # not for its own author
    second = app.test_client()
    sign_in(second, cast["wiremu"])
    assert "Cash couriers" in second.get("/bulletins/review").get_data(as_text=True)
    page = second.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)
    second.post(f"/bulletins/{bulletin.id}/send-back", data={"csrf_token": csrf_from(page),
                                                             "comment": "Name the port of loading."})
    db.session.refresh(bulletin)
    assert bulletin.status == "draft" and bulletin.review_comment == "Name the port of loading."
    assert "Name the port of loading." in client.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)
    edit = client.get(f"/bulletins/{bulletin.id}/edit").get_data(as_text=True)
    client.post(f"/bulletins/{bulletin.id}/edit", data={
        "csrf_token": csrf_from(edit), "title": "Cash couriers via Auckland (Port Klang)", "summary": "s",
        "classification": "SENSITIVE", "tlp": "GREEN", "orgs": "harbour-bank", "change_note": "Port named.",
        "action": "publish"})
    db.session.refresh(bulletin)
    assert bulletin.status == "pending-review" and bulletin.version == 2
    assert "Port named." in client.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)  # what changed
    page = second.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)
    second.post(f"/bulletins/{bulletin.id}/approve", data={"csrf_token": csrf_from(page)})
    db.session.refresh(bulletin)
    assert bulletin.status == "published" and bulletin.approved_by_id == cast["wiremu"].id


def test_recipient_reads_acknowledges_rates_asks_and_reports(client, app, cast):
    author = app.test_client()
    sign_in(author, cast["aroha"])
    compose(author)
    bulletin = db.session.scalars(select(Bulletin)).one()
    sign_in(client, cast["ben"])
    feed = client.get("/bulletins").get_data(as_text=True)
    assert "Cash couriers" in feed and '<strong class="badge">New</strong>' in feed
    page = client.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)
    assert '<strong class="badge">New</strong>' not in client.get("/bulletins").get_data(as_text=True)
    token = csrf_from(page)
    # Acknowledging and rating cannot be taken back: each asks first, without script, and changes
    # nothing until confirmed; then the next page says what happened, for whom.
    asked = client.post(f"/bulletins/{bulletin.id}/acknowledge", data={"csrf_token": token})
    assert asked.status_code == 200 and "Acknowledge this bulletin for Harbour Bank?" in asked.get_data(as_text=True)
    assert db.session.scalar(select(BulletinAcknowledgement.organisation_id)) is None
    done = client.post(f"/bulletins/{bulletin.id}/acknowledge", data={"csrf_token": csrf_from(asked.get_data(as_text=True)),
                                                                     "confirmed": "yes"}, follow_redirects=True)
    assert "Acknowledged for Harbour Bank." in done.get_data(as_text=True)
    rating = {"csrf_token": token, "rating": "actioned", "comment": "Two couriers stopped."}
    asked = client.post(f"/bulletins/{bulletin.id}/feedback", data=rating).get_data(as_text=True)
    # The question carries the form's fields into the confirming post.
    assert 'name="rating" value="actioned"' in asked and 'name="comment" value="Two couriers stopped."' in asked
    assert db.session.scalar(select(BulletinFeedback.rating)) is None
    done = client.post(f"/bulletins/{bulletin.id}/feedback", data={**rating, "confirmed": "yes"}, follow_redirects=True)
    assert "Rated for Harbour Bank. The author is told." in done.get_data(as_text=True)
    client.post(f"/bulletins/{bulletin.id}/questions", data={"csrf_token": token, "body": "Which days?"})
    client.post(f"/bulletins/{bulletin.id}/sightings", data={"csrf_token": token, "seen_at": "2026-11-20T09:30",
                                                             "context": "Branch counter."})
    assert db.session.scalar(select(BulletinAcknowledgement.organisation_id)) == cast["bank"].id
    assert db.session.scalar(select(BulletinFeedback.rating)) == "actioned"
    assert db.session.scalar(select(BulletinRead.user_id)) == cast["ben"].id
    author_page = author.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)
    for text in ("Harbour Bank", "Actioned", "Which days?", "Branch counter."):
        assert text in author_page
    question = db.session.scalar(select(BulletinQuestion.id))
    author.post(f"/bulletins/{bulletin.id}/questions/{question}", data={"csrf_token": csrf_from(author_page),
                                                                        "body": "Tuesdays."})
    assert "Tuesdays." in client.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)
    colleague = app.test_client()
    sign_in(colleague, cast["other"])
    assert "Tuesdays." in colleague.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)  # same organisation


def test_sighting_form_refuses_a_bad_indicator_with_the_declarations_words(client, app, cast):
    """The sighting form's indicator is checked through SightingInput (the service's entrance, as the
    API's body is): a value that is not a whole number, or out of range, shows the declaration's
    sentence and records nothing (it was dropped silently before)."""
    from markupsafe import escape

    from portal.bulletins.models import BulletinSighting
    from portal.bulletins.schemas import SightingInput
    from portal.payloads import check
    from portal.problems import Invalid

    author = app.test_client()
    sign_in(author, cast["aroha"])
    compose(author)
    bulletin = db.session.scalars(select(Bulletin)).one()
    sign_in(client, cast["ben"])
    token = csrf_from(client.get(f"/bulletins/{bulletin.id}").get_data(as_text=True))
    for indicator in ("first", "0"):
        with pytest.raises(Invalid) as declared:
            check(SightingInput, {"seen_at": "", "indicator": indicator})
        shown = client.post(f"/bulletins/{bulletin.id}/sightings", follow_redirects=True, data={
            "csrf_token": token, "seen_at": "2026-11-20T09:30", "context": "Branch counter.", "indicator": indicator})
        assert str(escape(declared.value.fields["indicator"][0])) in shown.get_data(as_text=True), indicator
    assert db.session.scalar(select(BulletinSighting.id)) is None


def test_feed_filters_search_and_archive(client, cast):
    sign_in(client, cast["aroha"])
    compose(client, title="Tobacco consignments", typologies=["illicit-tobacco"])
    compose(client, title="Mule accounts")
    expired = Bulletin(author_org_id=cast["customs"].id, title="Old news", classification=Classification.UNCLASSIFIED,
                       tlp="GREEN", status="published", published_at=utcnow(), expires_at=utcnow())
    expired.audience.append(BulletinAudience(kind="org", value="harbour-bank"))
    db.session.add(expired)
    db.session.commit()
    reader = client.application.test_client()
    sign_in(reader, cast["ben"])
    assert "Old news" not in reader.get("/bulletins").get_data(as_text=True)
    assert "Old news" in reader.get("/bulletins?archive=1").get_data(as_text=True)
    page = reader.get("/bulletins?typology=illicit-tobacco").get_data(as_text=True)
    assert "Tobacco consignments" in page and "Mule accounts" not in page
    page = reader.get("/bulletins?q=MULE").get_data(as_text=True)
    assert "Mule accounts" in page and "Tobacco consignments" not in page


@contextlib.contextmanager
def counting_queries():
    counter = {"n": 0}

    def count(*args):
        counter["n"] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _bulk(cast, n):
    now = utcnow()
    first = (db.session.scalar(select(db.func.max(Bulletin.id))) or 0) + 1
    db.session.execute(insert(Bulletin), [
        {"id": first + i, "author_org_id": cast["customs"].id, "title": f"B{i}", "summary": "s", "body_html": "",
         "classification": 1, "tlp": "GREEN", "status": "published", "version": 1, "created_at": now,
         "published_at": now, "withdrawn_reason": ""} for i in range(n)])
    db.session.execute(insert(BulletinAudience), [{"bulletin_id": first + i, "kind": "org", "value": "harbour-bank"}
                                                  for i in range(n)])
    db.session.commit()


def _feed_queries(client, path="/bulletins"):
    client.get(path)  # warm: session loading, first-request work
    with counting_queries() as counter:
        assert client.get(path).status_code == 200
    return counter["n"]


def test_feed_query_count_is_constant(client, cast):
    sign_in(client, cast["ben"])
    _bulk(cast, 5)
    five = _feed_queries(client)
    _bulk(cast, 45)
    fifty = _feed_queries(client)
    assert five == fifty
    ten_total = _feed_queries(client, "/bulletins?q=B1")
    _bulk(cast, 9950)
    ten_thousand = _feed_queries(client)
    assert ten_thousand == fifty == _feed_queries(client, "/bulletins?q=B1") == ten_total


# --- Issue 13, classes 3 and 7 in the pages ---------------------------------------------------

def _bulletin():
    return db.session.scalars(select(Bulletin)).one()


def test_class_two_person_rule_bypass_in_the_pages(client, app, world, cast):
    """The pages follow the same rule: a publisher who edits a bulletin waiting for review is not
    offered, and is refused, its approval; a change after approval waits for review while the
    recipient's page shows the approved version."""
    sign_in(client, cast["aroha"])
    compose(client, classification="SENSITIVE")
    bulletin = _bulletin()
    second = app.test_client()
    sign_in(second, cast["wiremu"])
    edit = second.get(f"/bulletins/{bulletin.id}/edit").get_data(as_text=True)
    second.post(f"/bulletins/{bulletin.id}/edit", data={
        "csrf_token": csrf_from(edit), "title": "Rewritten by Wiremu", "summary": "s", "classification": "SENSITIVE",
        "tlp": "GREEN", "orgs": "harbour-bank", "change_note": "Mine now.", "action": "draft"})
    page = second.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)
    assert "Rewritten by Wiremu" in page and "Approve and publish" not in page
    second.post(f"/bulletins/{bulletin.id}/approve", data={"csrf_token": csrf_from(page)})
    db.session.refresh(bulletin)
    assert bulletin.status == "pending-review" and bulletin.approved_by_id is None
    kiri = world.user("kiri@customs.example", cast["customs"], ("publisher",), clearance="RESTRICTED")
    third = app.test_client()
    sign_in(third, kiri)
    page = third.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)
    assert "Approve and publish" in page
    third.post(f"/bulletins/{bulletin.id}/approve", data={"csrf_token": csrf_from(page)})
    db.session.refresh(bulletin)
    assert bulletin.status == "published" and bulletin.approved_by_id == kiri.id

    # After approval: the author's change waits, the recipient reads the approved version.
    edit = client.get(f"/bulletins/{bulletin.id}/edit").get_data(as_text=True)
    client.post(f"/bulletins/{bulletin.id}/edit", data={
        "csrf_token": csrf_from(edit), "title": "Quietly changed", "summary": "s", "classification": "IN-CONFIDENCE",
        "tlp": "CLEAR", "orgs": "harbour-bank", "change_note": "Lowered.", "action": "draft"})
    db.session.refresh(bulletin)
    assert bulletin.status == "published" and bulletin.title == "Rewritten by Wiremu"
    reader = app.test_client()
    sign_in(reader, cast["ben"])
    seen = reader.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)
    assert "Rewritten by Wiremu" in seen and "Quietly changed" not in seen
    assert "Quietly changed" not in reader.get("/bulletins?q=quietly").get_data(as_text=True)
    assert "Quietly changed" in second.get("/bulletins/review").get_data(as_text=True)
    own = client.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)
    assert "Quietly changed" in own and "Approve and publish" not in own
    page = second.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)
    second.post(f"/bulletins/{bulletin.id}/approve", data={"csrf_token": csrf_from(page)})
    db.session.refresh(bulletin)
    assert bulletin.title == "Quietly changed" and bulletin.pending_change is None
    assert "Quietly changed" in reader.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)


def test_class_audience_preview_counts_people_the_author_may_not_address(client, world, cast):
    """A bank's publisher previewing other sectors, whole countries or people of a port sees only
    the people it may address counted (agencies and its own sector)."""
    port = world.org("port-tamaki", "private", "ports", name="Port of Tamaki")
    world.user("rangi@port.example", port)
    world.user("kiri@port.example", port)
    priya = world.user("priya@harbour.example", cast["bank"], ("publisher",), clearance="IN-CONFIDENCE")
    sign_in(client, priya)
    wide = compose(client, action="preview", orgs="nz-customs, port-tamaki", sectors=["ports", "banking"],
                   countries=["NZ"]).get_data(as_text=True)
    assert "Port of Tamaki" not in wide
    assert "This would reach 5 people in 2 organisations" in wide  # customs (2), the bank (3): no port
    red = compose(client, action="preview", tlp="RED", orgs="",
                  users="rangi@port.example, aroha@customs.example").get_data(as_text=True)
    # Named people are counted as written, never resolved (resolving them would tell which addresses
    # have an account): no organisation, the port's least of all, is counted for them.
    assert "Port of Tamaki" not in red and "This would reach 0 people in 0 organisations" in red
    assert "It also goes to the 2 people you named" in red


def test_class_unrecorded_reads_edit_and_review_pages_record_the_access(client, app, cast):
    """The edit page and the review queue show content: each view is in the audit trail."""
    import json

    from portal.audit.models import AuditEntry

    sign_in(client, cast["aroha"])
    compose(client, classification="SENSITIVE")
    bulletin = _bulletin()
    second = app.test_client()
    sign_in(second, cast["wiremu"])

    def entries(action):
        return [json.loads(e.details) for e in db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.actor_id == cast["wiremu"].id))]

    assert "Cash couriers" in second.get("/bulletins/review").get_data(as_text=True)
    assert any(d.get("view") == "review" for d in entries("bulletin.list"))
    assert "Cash couriers" in second.get(f"/bulletins/{bulletin.id}/edit").get_data(as_text=True)
    reads = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "bulletin.read",
                                                        AuditEntry.actor_id == cast["wiremu"].id)).all()
    assert [(e.object_id, json.loads(e.details).get("view")) for e in reads] == [(str(bulletin.id), "edit")]


def test_class_inbox_badge_counts_items_the_reader_can_no_longer_see(client, app, cast):
    """The unread count in the header counts only what the reader may still read."""
    from portal.notifications import delivery as engine

    author = app.test_client()
    sign_in(author, cast["aroha"])
    compose(author)  # IN-CONFIDENCE, to Harbour Bank
    engine.dispatch()
    sign_in(client, cast["other"])

    def header():
        return client.get("/").get_data(as_text=True).split("</header>")[0]

    assert "1 unread" in header()
    cast["other"].clearance = Classification.UNCLASSIFIED  # no longer cleared for it
    db.session.commit()
    assert "unread" not in header()


# --- The composer and the API are held to one declaration (schemas.BulletinInput / BulletinChange) -----

def _api_headers(user):
    from portal.accounts.models import ApiToken

    token, clear = ApiToken.issue(user, "t", [], None)
    db.session.add(token)
    db.session.commit()
    return {"Authorization": f"Bearer {clear}"}


def _api_body(**overrides):
    body = {"title": "Cash couriers via Auckland", "summary": "s", "body_html": "b", "classification": "IN-CONFIDENCE",
            "tlp": "GREEN", "audience": {"orgs": ["harbour-bank"]}, "typologies": ["money-laundering"]}
    body.update(overrides)
    return body


def _shown(page: str, messages: list[str]) -> bool:
    from markupsafe import escape

    return all(str(escape(m)) in page for m in messages)


# (form fields, the same value as the API takes it, the field key both answer under)
SAME_WORDS = [
    ({"title": "T" * 301}, {"title": "T" * 301}, "title"),
    ({"summary": "S" * 2001}, {"summary": "S" * 2001}, "summary"),
    ({"indicators": "phone: " + "1" * 1001}, {"indicators": [{"type": "phone", "value": "1" * 1001}]},
     "indicators[0].value"),
    ({"users": "x" * 321 + "@example.org"}, {"audience": {"orgs": ["harbour-bank"], "users": ["x" * 321 + "@example.org"]}},
     "audience.users[0]"),
]


@pytest.mark.parametrize("form, body, key", SAME_WORDS, ids=[k for _f, _b, k in SAME_WORDS])
def test_composer_refuses_a_bad_value_in_the_api_words_and_stores_nothing(client, cast, form, body, key):
    sign_in(client, cast["aroha"])
    answer = client.post("/api/v1/bulletins", json=_api_body(**body), headers=_api_headers(cast["aroha"]))
    assert answer.status_code == 400, answer.get_json()
    words = answer.get_json()["error"]["fields"][key]
    page = compose(client, **form)
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and words and _shown(text, words), (words, text[:3000])
    # The field's own message beside the input, not only in the summary.
    assert text.count(str(__import__("markupsafe").escape(words[0]))) >= 2
    assert db.session.scalars(select(Bulletin)).all() == []


def test_amending_page_refuses_a_bad_change_note_in_the_api_words_and_changes_nothing(client, cast):
    sign_in(client, cast["aroha"])
    assert compose(client).status_code == 302
    bulletin = db.session.scalars(select(Bulletin)).one()
    answer = client.patch(f"/api/v1/bulletins/{bulletin.id}", json={"title": "New", "change_note": "N" * 2001},
                          headers=_api_headers(cast["aroha"]))
    assert answer.status_code == 400, answer.get_json()
    words = answer.get_json()["error"]["fields"]["change_note"]
    edit = client.get(f"/bulletins/{bulletin.id}/edit").get_data(as_text=True)
    page = client.post(f"/bulletins/{bulletin.id}/edit", data={
        "csrf_token": csrf_from(edit), "title": "New", "summary": "s", "classification": "IN-CONFIDENCE",
        "tlp": "GREEN", "orgs": "harbour-bank", "change_note": "N" * 2001, "action": "publish"})
    assert page.status_code == 400 and _shown(page.get_data(as_text=True), words)
    db.session.refresh(bulletin)
    assert (bulletin.title, bulletin.version) == ("Cash couriers via Auckland", 1)


def test_composer_without_its_csrf_token_is_refused(client, cast):
    sign_in(client, cast["aroha"])
    response = client.post("/bulletins/new", data={"title": "T", "classification": "IN-CONFIDENCE", "tlp": "GREEN",
                                                   "action": "draft"})
    assert response.status_code == 400
    assert db.session.scalars(select(Bulletin)).all() == []


def test_the_organisation_filter_offers_the_authors_of_the_newest_readable_bulletins(client, cast, world,
                                                                                     monkeypatch):
    """The feed's organisation filter names who wrote the reader's newest ``SENDER_WINDOW`` readable
    bulletins: never an author whose bulletins the reader may not read, and not one whose
    bulletins are all older than the window (fails if the list is every author, or every author
    of any readable bulletin)."""
    from portal.bulletins import views

    police = world.org("nz-police", "government", "police", name="NZ Police")
    port = world.org("port-tamaki", "private", "ports", name="Port Tamaki")
    for author, reader_org in ((police, "harbour-bank"), (cast["customs"], "harbour-bank"), (port, "nz-police")):
        bulletin = Bulletin(author_org_id=author.id, title=f"From {author.slug}", classification=Classification.UNCLASSIFIED,
                            tlp="GREEN", status="published", published_at=utcnow())
        bulletin.audience.append(BulletinAudience(kind="org", value=reader_org))
        db.session.add(bulletin)
        db.session.commit()  # in this order: the police's is the oldest
    sign_in(client, cast["ben"])

    def offered() -> set[str]:
        return set(re.findall(r'name="author_org" value="([^"]+)"', client.get("/bulletins").get_data(as_text=True)))

    assert offered() == {"nz-police", "nz-customs"}  # not port-tamaki: its bulletin went to the police only
    monkeypatch.setattr(views, "SENDER_WINDOW", 1, raising=False)
    assert offered() == {"nz-customs"}  # the newest readable bulletin's author alone
