"""Words, not codes, where a person reads (issue 16 item 3) and audiences chosen by name (item 4).

Expected words are computed with the portal's own helpers in the reader's language, so that the
tests hold before and after a catalogue is reviewed; each test also asserts that the code itself
is gone and that the word differs from it.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from portal.bulletins.models import Bulletin
from portal.extensions import db
from portal.i18n import country_name, format_amount, format_day, reading_as
from portal.labels import LABELS, label
from tests.conftest import bearer, csrf_from, sign_in


class _Text(HTMLParser):
    """The text a person sees: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "title"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def standalone(code: str, text: str) -> bool:
    return re.search(rf"(?<![\w+-]){re.escape(code)}(?![\w+-])", text) is not None


def words(language: str, time_zone: str, fn, *args):
    with reading_as(language, time_zone):
        return fn(*args)


@pytest.fixture
def extra_settings():
    return {"deportee_routes": {"WS": ["ws-police"]}}


@pytest.fixture
def cast(world):
    o, u = world.org, world.user
    customs = o("nz-customs", "government", "customs", name="NZ Customs")
    corrections = o("nz-corrections", "government", "corrections", name="Corrections")
    police = o("nz-police", "government", "police", name="NZ Police")
    fiu = o("nz-fiu", "government", "fiu", name="Financial Intelligence Unit")
    bank = o("harbour-bank", name="Harbour Bank")
    other_bank = o("kowhai-bank", name="Kowhai Bank")
    port = o("port-tamaki", sector="ports", name="Port Tamaki")
    ws = o("ws-police", "pacific", "police", "WS", name="Samoa Police")
    return {
        "customs": customs, "bank": bank, "other_bank": other_bank, "port": port, "ws": ws, "police": police,
        "aroha": u("aroha@customs.example", customs, ("publisher",), clearance="RESTRICTED"),
        "ruth": u("ruth@corrections.example", corrections, ("publisher",), clearance="RESTRICTED"),
        "ben": u("ben@harbour.example", bank, ("publisher", "submitter"), clearance="SENSITIVE"),
        "sefo": u("sefo@police.ws.example", ws, ("viewer",), clearance="SENSITIVE", locale="sm",
                  time_zone="Pacific/Apia"),
        "kai": u("kai@police.ws.example", ws, ("viewer",), clearance="SENSITIVE", locale="en",
                 time_zone="Pacific/Honolulu"),
        "claire": u("claire@fiu.example", fiu, ("analyst",), clearance="RESTRICTED", locale="fr",
                    time_zone="Pacific/Noumea"),
    }


DEPORTEE = {
    "destination_country": "WS", "classification": "SENSITIVE",
    "person": {"names": ["Tavita Faleolo"], "date_of_birth": "1990-05-01", "sex": "M", "nationality": "WS",
               "documents": [{"type": "passport", "number": "LA123456", "country": "WS"}]},
    "removal": {"flight": "NZ990", "arrival_airport": "APW", "arrival_at": "2026-12-20T06:30:00Z"},
    "offending_summary": "Supply of methamphetamine.", "risk_notes": "Gang links.", "risk_level": "medium",
    "reintegration_needs": "Housing.", "legal_basis": "NZ–Samoa memorandum on deportee information",
}


def test_labels_are_words_in_the_readers_language_and_unknown_codes_stay_codes(app):
    with reading_as("fr", "Pacific/Noumea"):
        assert label("M", "sex") == "Masculin" and label("wire-transfer", "method") == "Virement international"
        assert label("money-laundering", "typology") == "Blanchiment d'argent"  # a configured typology
        assert label("WS", "country") == country_name("WS") == "Samoa"
        assert label("no-such-code", "sector") == "no-such-code" and label(None, "sex") == ""
    with reading_as("en", "Pacific/Auckland"):
        assert label("pending-review", "bulletin-status") == "Waiting for a second publisher"
    for kind, codes in LABELS.items():  # every shipped code has a word of its own, not its code
        for code in codes:
            assert words("fr", "UTC", label, code, kind) not in ("", code), (kind, code)


def test_amounts_and_numbers_follow_the_readers_locale(app):
    assert words("en", "Pacific/Auckland", format_amount, "9500.00", "NZD") == "NZ$9,500.00"
    assert words("fr", "Pacific/Noumea", format_amount, "9500.00", "NZD") == "9\u202f500,00\xa0$NZ"
    assert words("en", "Pacific/Auckland", format_amount, "12.5", "USD") == "US$12.50"
    assert words("sm", "Pacific/Apia", format_amount, "9500", "WST") == "WS$9,500.00"
    assert words("en", "UTC", format_amount, "not a number", "NZD") == "not a number NZD"


def test_a_report_shows_its_amount_method_and_countries_in_words(client, cast):
    report = {
        "recipient_org": "nz-fiu", "classification": "IN-CONFIDENCE", "typologies": ["money-laundering"],
        "narrative": "Eleven deposits just under the threshold.",
        "subjects": [{"id": "p1", "kind": "person", "names": ["Sione Taufa"], "date_of_birth": "1987-03-14",
                      "nationality": "TO", "documents": [{"type": "passport", "number": "T1234567", "country": "TO"}]},
                     {"id": "a1", "kind": "account", "institution": "Harbour Bank", "number": "12-3456-7890123-00"}],
        "transactions": [{"date": "2026-10-01", "amount": "9500.00", "currency": "NZD", "from": "a1", "to": "p1",
                          "method": "cash"}],
    }
    created = client.post("/api/v1/submissions", json=report, headers=bearer(cast["ben"]))
    assert created.status_code == 201, created.get_json()
    reference = created.get_json()["reference"]
    assert created.get_json()["status"] == "received"  # the API keeps its codes
    sign_in(client, cast["claire"])
    text = visible(client.get(f"/submissions/{reference}").get_data(as_text=True))
    for expected in ("9\u202f500,00\xa0$NZ", "Espèces", "Tonga", "Passeport", "Reçu", "Blanchiment d'argent",
                     words("fr", "Pacific/Noumea", format_day, "1987-03-14")):
        assert " ".join(expected.split()) in text, expected
    for code in ("9500.00", "NZD", "cash", "TO", "passport", "received", "money-laundering", "1987-03-14"):
        assert not standalone(code, text), code


def test_a_samoan_reader_reads_a_deportee_notification_in_words(client, app, cast):
    response = client.post("/api/v1/deportee-notifications", json=copy.deepcopy(DEPORTEE), headers=bearer(cast["ruth"]))
    assert response.status_code == 201, response.get_json()
    notification_id = response.get_json()["id"]
    sign_in(client, cast["sefo"])
    text = visible(client.get(f"/deportee-notifications/{notification_id}").get_data(as_text=True))
    expected = {code: words("sm", "Pacific/Apia", label, code, kind) for code, kind in (
        ("WS", "country"), ("M", "sex"), ("sent", "deportee-status"), ("passport", "document-type"),
        ("medium", "risk"))}
    for code, word in expected.items():
        assert word != code and word in text, (code, word)
    assert expected["WS"] == "Sāmoa"  # the catalogue's Samoan name: CLDR has no Samoan
    for code in ("WS", "M", "sent", "passport", "medium", "1990-05-01"):
        assert not standalone(code, text), code
    # The update form offers the kinds of update in words; the codes travel only as values.
    update_kinds = visible(client.get(f"/deportee-notifications/{notification_id}").get_data(as_text=True))
    assert words("sm", "Pacific/Apia", label, "met-by-family", "update-kind") in update_kinds
    assert "met-by-family" not in update_kinds


def test_a_birth_date_is_the_same_day_in_apia_and_honolulu(client, app, cast):
    response = client.post("/api/v1/deportee-notifications", json=copy.deepcopy(DEPORTEE), headers=bearer(cast["ruth"]))
    notification_id = response.get_json()["id"]
    born = dt.date(1990, 5, 1)
    for reader, language, zone in (("sefo", "sm", "Pacific/Apia"), ("kai", "en", "Pacific/Honolulu")):
        reading = app.test_client()
        sign_in(reading, cast[reader])
        text = visible(reading.get(f"/deportee-notifications/{notification_id}").get_data(as_text=True))
        day = words(language, zone, format_day, born)
        assert day in text, (reader, day)
    assert words("en", "Pacific/Honolulu", format_day, born) == "1 May 1990"


def _compose(client, **fields):
    page = client.get("/bulletins/new")
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "title": "Cash couriers via Auckland",
            "summary": "Couriers carry just under the threshold.", "body": "Watch for repeat travellers.",
            "classification": "IN-CONFIDENCE", "tlp": "GREEN", "action": "publish",
            "indicators": "flight: NZ 990", "typologies": ["money-laundering"]}
    data.update(fields)
    return client.post("/bulletins/new", data=data)


def test_a_review_date_is_the_same_day_for_every_reader_and_the_bulletin_speaks_samoan(client, app, cast):
    sign_in(client, cast["aroha"])
    response = _compose(client, orgs=["ws-police"], expires_at="2027-03-31")
    assert response.status_code == 302
    bulletin = db.session.scalars(select(Bulletin)).one()
    review = dt.date(2027, 3, 31)
    for reader, language, zone in (("sefo", "sm", "Pacific/Apia"), ("kai", "en", "Pacific/Honolulu")):
        reading = app.test_client()
        sign_in(reading, cast[reader])
        text = visible(reading.get(f"/bulletins/{bulletin.id}").get_data(as_text=True))
        assert words(language, zone, format_day, review) in text, reader
        if reader == "sefo":
            for code, kind in (("money-laundering", "typology"), ("flight", "indicator-type")):
                word = words("sm", "Pacific/Apia", label, code, kind)
                assert word != code and word in text
            assert not standalone("money-laundering", text)
    assert "30 Mar 2027" not in visible(reading.get(f"/bulletins/{bulletin.id}").get_data(as_text=True))
    # Amending shows the author the day they typed (stored as midnight in Auckland, the day before in UTC).
    assert 'name="expires_at" type="date" value="2027-03-31"' in client.get(f"/bulletins/{bulletin.id}/edit").get_data(as_text=True)


def test_the_composer_offers_only_what_the_author_may_address(client, app, cast):
    sign_in(client, cast["ben"])
    page = client.get("/bulletins/new").get_data(as_text=True)
    offered = set(re.findall(r'name="orgs" value="([^"]+)"', page))
    assert offered == {"nz-customs", "nz-corrections", "nz-police", "nz-fiu", "kowhai-bank"}
    assert "Port Tamaki" not in page and "Samoa Police" not in page  # nothing of a sector it cannot address
    assert set(re.findall(r'name="sectors" value="([^"]+)"', page)) == {"banking"}
    assert 'name="countries"' not in page
    assert "Government agencies" in page and "Private-sector partners" in page  # grouped by kind
    government = app.test_client()
    sign_in(government, cast["aroha"])
    page = government.get("/bulletins/new").get_data(as_text=True)
    assert {"port-tamaki", "ws-police", "harbour-bank"} <= set(re.findall(r'name="orgs" value="([^"]+)"', page))
    assert 'name="countries" value="WS"' in page and country_name("WS") in page


def test_ticked_boxes_publish_to_that_audience(client, cast):
    sign_in(client, cast["aroha"])
    response = _compose(client, orgs=["harbour-bank", "ws-police"], sectors=["ports"], countries=["TO"])
    assert response.status_code == 302
    bulletin = db.session.scalars(select(Bulletin)).one()
    assert bulletin.status == "published"
    assert sorted((a.kind, a.value) for a in bulletin.audience) == [
        ("country", "TO"), ("org", "harbour-bank"), ("org", "ws-police"), ("sector", "ports")]
    shown = visible(client.get(f"/bulletins/{bulletin.id}").get_data(as_text=True))
    for word in ("Harbour Bank", "Samoa Police", "Ports", country_name("TO")):
        assert word in shown  # the author reads its audience by name
    edit = client.get(f"/bulletins/{bulletin.id}/edit").get_data(as_text=True)
    assert re.search(r'name="orgs" value="harbour-bank" checked', edit)  # amending keeps the ticks


def test_a_forged_box_for_an_organisation_out_of_reach_is_refused_and_nothing_is_stored(client, cast):
    sign_in(client, cast["ben"])
    response = _compose(client, orgs=["kowhai-bank", "port-tamaki"])
    assert response.status_code == 400 and "port-tamaki" in response.get_data(as_text=True)
    response = _compose(client, orgs=["kowhai-bank"], countries=["WS"])
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Bulletin)) == 0


def test_the_feed_filters_by_organisations_it_already_receives_from(client, cast):
    sign_in(client, cast["aroha"])
    assert _compose(client, orgs=["harbour-bank"]).status_code == 302
    reader = client.application.test_client()
    sign_in(reader, cast["ben"])
    page = reader.get("/bulletins").get_data(as_text=True)
    assert set(re.findall(r'name="author_org" value="([^"]+)"', page)) == {"nz-customs"}  # no one else named
    assert "Cash couriers" in reader.get("/bulletins?author_org=nz-customs&author_org=kowhai-bank").get_data(as_text=True)
    assert "Cash couriers" not in reader.get("/bulletins?author_org=kowhai-bank").get_data(as_text=True)


def test_the_audit_trail_filters_by_organisation_name(client, world, cast):
    from portal.audit import trail

    auditor = world.user("aud@fiu.example", cast["police"], ("auditor",))
    trail.record("bulletin.read", "bulletin", 1, "nz-customs", actor=world.user("x@harbour.example", cast["bank"]))
    trail.record("bulletin.read", "bulletin", 2, "nz-customs", actor=world.user("y@port.example", cast["port"]))
    db.session.commit()
    sign_in(client, auditor)
    page = client.get("/audit").get_data(as_text=True)
    assert 'name="org" value="harbour-bank"' in page and "Harbour Bank" in page
    filtered = client.get("/audit?org=harbour-bank&org=kowhai-bank").get_data(as_text=True)
    assert "x@harbour.example" in filtered and "y@port.example" not in filtered
