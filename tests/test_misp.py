"""MISP: the feed (manifest and event files, as MISP's feed fetcher reads them) holds exactly what
the token's reader may read, loads in PyMISP and validates against the MISP event schema PyMISP
ships; importing a partner's MISP event makes a draft bulletin, and bad input makes nothing."""
from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import jsonschema
import pymisp
import pytest
from pymisp import MISPEvent
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.bulletins.models import Bulletin, BulletinIndicator
from portal.extensions import db
from tests.conftest import bearer, csrf_from, sign_in

SCHEMA = json.loads((Path(pymisp.__file__).parent / "data" / "schema.json").read_text())
INDICATORS = [
    {"type": "ip-address", "value": "203.0.113.7"}, {"type": "domain", "value": "harbour-freight.example"},
    {"type": "email", "value": "broker@harbour-freight.example"}, {"type": "phone", "value": "+64 21 555 0100"},
    {"type": "bank-account", "value": "GB82 WEST 1234 5698 7654 32"},
    {"type": "bank-account", "value": "12-3456-7890123-00"},
    {"type": "crypto-wallet", "value": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"},
    {"type": "vessel-imo", "value": "IMO 9074729"}, {"type": "container", "value": "CSQU3054383"},
    {"type": "person", "value": "Sione Taufa"},
]
MISP_TYPES = {"ip-address": "ip-dst", "domain": "domain", "email": "email-src", "phone": "phone-number",
              "crypto-wallet": "btc", "vessel-imo": "text", "container": "text", "person": "full-name"}


@pytest.fixture
def feed(world, client):
    customs = world.org("nz-customs", "government", "customs", name="NZ Customs")
    bank = world.org("harbour-bank", "private", "banking", name="Harbour Bank")
    port = world.org("port-tamaki", "private", "ports", name="Port Tamaki")
    people = {
        "author": world.user("aroha@customs.example", customs, ("publisher",), clearance="RESTRICTED"),
        "second": world.user("wiremu@customs.example", customs, ("publisher",), clearance="RESTRICTED"),
        "bank": world.user("ben@harbour.example", bank, ("viewer",), clearance="IN-CONFIDENCE"),
        "bank_publisher": world.user("priya@harbour.example", bank, ("publisher",), clearance="IN-CONFIDENCE"),
        "port": world.user("rangi@port.example", port, ("viewer",), clearance="RESTRICTED"),
    }
    author = bearer(people["author"])

    def bulletin(**fields):
        body = {"title": "Methamphetamine in frozen fish", "summary": "Check reefer weights.",
                "body_html": "<p>Seal numbers altered.</p>", "classification": "IN-CONFIDENCE", "tlp": "AMBER",
                "audience": {"orgs": ["harbour-bank"]}, "indicators": INDICATORS,
                "typologies": ["drug-importation"], "publish": True, **fields}
        response = client.post("/api/v1/bulletins", json=body, headers=author)
        assert response.status_code == 201, response.get_json()
        return db.session.get(Bulletin, response.get_json()["id"])

    shared = bulletin()
    draft = bulletin(title="Not yet shared", publish=False)
    ports_only = bulletin(title="For ports", audience={"sectors": ["ports"]}, tlp="GREEN")
    sensitive = bulletin(title="Above the bank's clearance", classification="SENSITIVE")
    client.post(f"/api/v1/bulletins/{sensitive.id}/approve", headers=bearer(people["second"]))
    return {"people": people, "shared": shared, "draft": draft, "ports_only": ports_only, "sensitive": sensitive}


def _basic(user) -> dict[str, str]:
    token = bearer(user)["Authorization"].split(" ", 1)[1]
    return {"Authorization": "Basic " + base64.b64encode(f"misp:{token}".encode()).decode()}


def _manifest(client, headers):
    response = client.get("/feeds/misp/manifest.json", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json" and "Set-Cookie" not in response.headers
    return response.get_json()


def test_the_feed_holds_exactly_what_the_reader_may_read(client, feed):
    expected = {
        "bank": {feed["shared"].uuid},
        "port": {feed["ports_only"].uuid},
        # The author's draft is not shared yet: its own feed leaves it out too.
        "author": {b.uuid for b in (feed["shared"], feed["ports_only"], feed["sensitive"])},
    }
    everything = expected["author"] | {feed["draft"].uuid}
    for name, uuids in expected.items():
        manifest = _manifest(client, bearer(feed["people"][name]))
        assert set(manifest) == uuids, name
        for uuid in everything - uuids:  # never listed, and 404 as if it did not exist
            response = client.get(f"/feeds/misp/{uuid}.json", headers=bearer(feed["people"][name]))
            assert response.status_code == 404, (name, uuid)
            assert uuid not in response.get_data(as_text=True)
        for uuid in uuids:
            assert client.get(f"/feeds/misp/{uuid}.json", headers=bearer(feed["people"][name])).status_code == 200
    # the sensitive bulletin's audience includes the bank; the bank's clearance does not reach it
    assert feed["sensitive"].status == "published"


def test_events_load_in_pymisp_and_validate_against_its_schema(client, feed):
    headers = _basic(feed["people"]["author"])  # HTTP Basic, the token as password
    manifest = _manifest(client, headers)
    assert manifest
    for uuid, entry in manifest.items():
        document = client.get(f"/feeds/misp/{uuid}.json", headers=headers).get_json()
        jsonschema.validate(document, SCHEMA)
        event = MISPEvent()
        event.load(copy.deepcopy(document))
        assert event.uuid == uuid and event.info == entry["info"]
        assert event.Orgc.name == "NZ Customs" and entry["Orgc"]["uuid"] == event.Orgc.uuid
        assert event.manifest[uuid]["timestamp"] == entry["timestamp"]
        assert {t.name for t in event.tags} == {t["name"] for t in entry["Tag"]}
        for key in ("info", "date", "analysis", "threat_level_id", "timestamp", "Orgc", "Tag"):
            assert key in entry
        assert "audience" not in json.dumps(document) and "harbour-bank" not in json.dumps(document)
    shared = MISPEvent()
    shared.load(client.get(f"/feeds/misp/{feed['shared'].uuid}.json", headers=headers).get_json())
    assert "tlp:amber" in {t.name for t in shared.tags}
    assert 'portal:classification="IN-CONFIDENCE"' in {t.name for t in shared.tags}
    assert shared.published is True
    by_value = {a.value: a for a in shared.attributes}
    for indicator in INDICATORS:
        attribute = by_value[indicator["value"]]
        if indicator["type"] in MISP_TYPES:
            assert attribute.type == MISP_TYPES[indicator["type"]], indicator
    assert by_value["GB82 WEST 1234 5698 7654 32"].type == "iban"
    assert by_value["12-3456-7890123-00"].type == "bank-account-nr"
    assert by_value["Check reefer weights."].type == "comment"
    assert client.get(f"/feeds/misp/{feed['draft'].uuid}.json", headers=headers).status_code == 404


def test_feed_authentication_scope_and_audit(client, feed):
    reader = feed["people"]["bank"]
    uuid = feed["shared"].uuid
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic " + base64.b64encode(b"x:nope").decode()},
                    {"Authorization": "Basic !!!"}):
        response = client.get("/feeds/misp/manifest.json", headers=headers)
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthenticated"
        assert "Basic" in response.headers["WWW-Authenticate"]
    # a signed-in browser's cookie is not a credential here
    sign_in(client, reader)
    assert client.get("/feeds/misp/manifest.json").status_code == 401
    # scopes: bulletins:read is needed
    assert client.get("/feeds/misp/manifest.json", headers=bearer(reader, ("submissions:read",))).status_code == 403
    assert client.get(f"/feeds/misp/{uuid}.json", headers=bearer(reader, ("bulletins:read",))).status_code == 200
    assert client.get("/feeds/misp/manifest.json", headers=bearer(reader, ("bulletins:read",))).status_code == 200
    assert client.get("/feeds/misp/not-a-uuid.json", headers=bearer(reader)).status_code == 404
    reads = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "bulletin.read")).all()
    assert [e for e in reads if e.object_id == str(feed["shared"].id) and e.actor_email == reader.email
            and json.loads(e.details).get("via") == "misp-feed"]
    lists = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "bulletin.list")).all()
    assert [e for e in lists if json.loads(e.details).get("via") == "misp-feed" and e.actor_email == reader.email]


# --- Import ------------------------------------------------------------------------------------------

PARTNER_EVENT = {"Event": {
    "uuid": "5c7e1f1e-2b7a-4a0e-9d3b-6a1c2f0e9b11", "info": "Phishing domains seen by the port",
    "date": "2026-10-01", "threat_level_id": "2", "analysis": "1", "published": False,
    "Orgc": {"name": "Port Tamaki SOC", "uuid": "0a8c36f5-1d5e-4b0a-9f3e-1f7e2a3c4d5e"},
    "Tag": [{"name": "tlp:green", "colour": "#33ff00"}],
    "Attribute": [
        {"type": "domain", "category": "Network activity", "value": "harbour-freight.example", "to_ids": True},
        {"type": "ip-src", "category": "Network activity", "value": "198.51.100.23", "to_ids": True},
        {"type": "url", "category": "Network activity", "value": "https://harbour-freight.example/login"},
        {"type": "sha256", "category": "Payload delivery", "value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"type": "ip-dst", "category": "Network activity", "value": "not-an-ip"},
    ],
    "Object": [{"name": "person", "Attribute": [{"type": "phone-number", "value": "+64 9 555 0199"}]}],
}}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_import_through_the_api_makes_a_draft_for_review(client, feed):
    publisher = feed["people"]["bank_publisher"]
    response = client.post("/api/v1/bulletins/import/misp", json=PARTNER_EVENT, headers=bearer(publisher))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "draft" and body["author_org"] == "harbour-bank" and body["tlp"] == "GREEN"
    assert body["title"] == "Phishing domains seen by the port" and body["classification"] == "IN-CONFIDENCE"
    assert {(i["type"], i["value"]) for i in body["indicators"]} == {
        ("domain", "harbour-freight.example"), ("ip-address", "198.51.100.23"), ("phone", "+64 9 555 0199")}
    for kept in ("https://harbour-freight.example/login", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                 "not-an-ip", "5c7e1f1e-2b7a-4a0e-9d3b-6a1c2f0e9b11"):
        assert kept in body["body_html"]
    assert body["audience"] == {"orgs": [], "sectors": [], "countries": [], "users": []}
    # nobody outside the partner's organisation sees the draft; and no feed carries it until it is sent
    uuid = db.session.get(Bulletin, body["id"]).uuid
    assert client.get(f"/api/v1/bulletins/{body['id']}", headers=bearer(feed["people"]["author"])).status_code == 404
    assert client.get(f"/api/v1/bulletins/{body['id']}", headers=bearer(publisher)).status_code == 200
    assert uuid not in _manifest(client, bearer(feed["people"]["author"]))
    assert uuid not in _manifest(client, bearer(publisher))
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "bulletin.import"))
    assert json.loads(entry.details)["format"] == "misp" and json.loads(entry.details)["source_uuid"] == PARTNER_EVENT["Event"]["uuid"]


def test_the_portal_reads_its_own_feed_back(client, feed):
    """An event from the feed imports with the same indicators (types travel as attribute tags)."""
    exported = client.get(f"/feeds/misp/{feed['shared'].uuid}.json", headers=bearer(feed["people"]["author"])).get_json()
    response = client.post("/api/v1/bulletins/import/misp", json=exported, headers=bearer(feed["people"]["second"]))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert sorted((i["type"], i["value"]) for i in body["indicators"]) == sorted(
        (i["type"], i["value"]) for i in INDICATORS)
    assert body["summary"] == "Check reefer weights." and body["tlp"] == "AMBER"
    assert body["typologies"] == ["drug-importation"] and body["status"] == "draft"


BAD_IMPORTS = {
    "not JSON": b"{\"Event\": {",
    "JSON but no event": b"[1, 2, 3]",
    "an event without info": json.dumps({"Event": {"Attribute": []}}).encode(),
    "nested too deep": b"[" * 100_000 + b"]" * 100_000,
    "a classification above the importer's clearance": json.dumps({"Event": {
        "info": "x", "Tag": [{"name": 'portal:classification="RESTRICTED"'}]}}).encode(),
    "a classification the portal never stores": json.dumps({"Event": {
        "info": "x", "Tag": [{"name": 'portal:classification="SECRET"'}]}}).encode(),
    "too many attributes": json.dumps({"Event": {"info": "x", "Attribute": [
        {"type": "text", "value": str(i)} for i in range(5001)]}}).encode(),
}


@pytest.mark.parametrize("case", list(BAD_IMPORTS))
def test_bad_imports_are_refused_and_create_nothing(client, feed, case):
    publisher = feed["people"]["bank_publisher"]
    before = (_count(Bulletin), _count(BulletinIndicator))
    response = client.post("/api/v1/bulletins/import/misp", data=BAD_IMPORTS[case], headers=bearer(publisher),
                           content_type="application/json")
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and any(k.startswith("event") for k in error["fields"]), error
    assert (_count(Bulletin), _count(BulletinIndicator)) == before


def test_import_limits_and_who_may_import(client, feed):
    publisher = feed["people"]["bank_publisher"]
    big = b'{"Event": {"info": "' + b"x" * (2 * 1024 * 1024) + b'"}}'
    assert client.post("/api/v1/bulletins/import/misp", data=big, headers=bearer(publisher),
                       content_type="application/json").status_code == 413
    assert client.post("/api/v1/bulletins/import/misp", data=b"x", headers=bearer(publisher),
                       content_type="text/plain").status_code == 415
    assert client.post("/api/v1/bulletins/import/misp", json=PARTNER_EVENT,
                       headers=bearer(publisher, ("bulletins:read",))).status_code == 403
    assert client.post("/api/v1/bulletins/import/misp", json=PARTNER_EVENT,
                       headers=bearer(feed["people"]["bank"])).status_code == 403  # a viewer
    assert _count(Bulletin) == 4


def test_import_page_uploads_a_file_and_shows_errors(client, feed):
    publisher = feed["people"]["bank_publisher"]
    sign_in(client, publisher)
    page = client.get("/misp/import")
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    before = _count(Bulletin)
    refused = client.post("/misp/import", data={"csrf_token": token, "json": "{not json"})
    assert refused.status_code == 400 and "not valid JSON" in refused.get_data(as_text=True)
    assert client.post("/misp/import", data={"json": json.dumps(PARTNER_EVENT)}).status_code == 400  # no CSRF token
    assert _count(Bulletin) == before
    import io
    done = client.post("/misp/import", data={"csrf_token": token, "file": (io.BytesIO(json.dumps(PARTNER_EVENT).encode()),
                                                                           "event.json")},
                       content_type="multipart/form-data")
    assert done.status_code == 302, done.get_data(as_text=True)[:1000]
    bulletin = db.session.scalar(select(Bulletin).order_by(Bulletin.id.desc()))
    assert done.headers["Location"].endswith(f"/bulletins/{bulletin.id}")
    assert bulletin.status == "draft" and bulletin.author_org.slug == "harbour-bank"
    viewer = client.application.test_client()
    sign_in(viewer, feed["people"]["bank"])
    assert viewer.get("/misp/import").status_code == 404
