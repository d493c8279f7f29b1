"""TAXII 2.1 and STIX 2.1 (issue 15, items 1–3; docs/contract.md "Standards exchange").

The portal's collections hold exactly what the access policy lets the token's reader read, as STIX
2.1 objects that ``stix2-validator`` passes without errors; ``added_after`` polls see a bulletin
again when its audience widens, and the older bulletins a reader's own widened rights open to it;
pages cost a constant number of queries; partners write sightings
back. The last tests use the real ``taxii2-client`` against a live server.
"""
from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from typing import Any, Iterator

import pytest
from sqlalchemy import event, func, select, update
from stix2validator import ValidationOptions, validate_instance
from werkzeug.serving import make_server

from portal import policy
from portal.accounts.models import User, UserRole
from portal.activity import ActivityEvent
from portal.audit.models import AuditEntry
from portal.bulletins.models import Bulletin, BulletinSighting
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.outbox import OutboxMessage
from portal.taxii import stix
from portal.taxii.models import TaxiiStatus
from portal.taxii.views import BULLETINS_COLLECTION, SIGHTINGS_COLLECTION
from portal.vocabulary import Classification, Role
from tests.conftest import bearer, sign_in
from tests.idp import free_port

ROOT = "/taxii2/portal/"
OBJECTS = f"{ROOT}collections/{BULLETINS_COLLECTION}/objects/"
MANIFEST = f"{ROOT}collections/{BULLETINS_COLLECTION}/manifest/"
WRITE = f"{ROOT}collections/{SIGHTINGS_COLLECTION}/objects/"
TAXII = "application/taxii+json;version=2.1"
EVERY_INDICATOR = [
    {"type": "domain", "value": "harbour-freight.example"}, {"type": "ip-address", "value": "203.0.113.7"},
    {"type": "ip-address", "value": "2001:db8::1"}, {"type": "email", "value": "ops@harbour-freight.example"},
    {"type": "phone", "value": "+64 21 555 0199"}, {"type": "container", "value": "CSQU3054383"},
    {"type": "vessel-imo", "value": "IMO 9074729"}, {"type": "bank-account", "value": "12-3456-7890123-00"},
    {"type": "crypto-wallet", "value": "0x52908400098527886E0F7030069857D2E4169EE7"},
    {"type": "vehicle", "value": "ABC123"}, {"type": "flight", "value": "NZ990"},
    {"type": "person", "value": "Sione Taufa"}, {"type": "organisation", "value": "Blue Reef Trading Ltd"},
]


def publish(client, headers, title, audience, **extra) -> int:
    body = {"title": title, "summary": "What to look for.", "body_html": "<p>Details.</p>",
            "classification": "IN-CONFIDENCE", "tlp": "GREEN", "audience": audience,
            "indicators": [{"type": "domain", "value": f"{uuid.uuid4().hex[:10]}.example"}],
            "typologies": ["drug-importation"], "publish": True, **extra}
    response = client.post("/api/v1/bulletins", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def scene(client, world):
    customs = world.org("nz-customs", "government", "customs")
    bank = world.org("harbour-bank", "private", "banking")
    port = world.org("port-tamaki", "private", "ports")
    aroha = world.user("aroha@customs.example", customs, ("publisher",), clearance="RESTRICTED")
    ben = world.user("ben@harbour.example", bank, ("viewer",), clearance="IN-CONFIDENCE")
    rangi = world.user("rangi@port.example", port, ("viewer",), clearance="SENSITIVE")
    author = bearer(aroha)
    ids = {
        "everything": publish(client, author, "Every kind of indicator", {"sectors": ["banking"]},
                              indicators=EVERY_INDICATOR, tlp="AMBER"),
        "to-port": publish(client, author, "Only for the port", {"orgs": ["port-tamaki"]}),
        "red-to-ben": publish(client, author, "Named people only", {"users": ["ben@harbour.example"]}, tlp="RED"),
        "sensitive": publish(client, author, "Above ben's clearance", {"sectors": ["banking"]},
                             classification="SENSITIVE"),
    }
    wiremu = world.user("wiremu@customs.example", customs, ("publisher",), clearance="RESTRICTED")
    for key in ("red-to-ben", "sensitive"):  # the two-person rule
        approved = client.post(f"/api/v1/bulletins/{ids[key]}/approve", headers=bearer(wiremu))
        assert approved.status_code == 200, approved.get_json()
    draft = client.post("/api/v1/bulletins", headers=author, json={
        "title": "A draft", "classification": "UNCLASSIFIED", "tlp": "CLEAR", "audience": {"sectors": ["banking"]}})
    ids["draft"] = draft.get_json()["id"]
    return {"aroha": aroha, "ben": ben, "rangi": rangi, "author": author, "ids": ids,
            "ben_token": bearer(ben), "rangi_token": bearer(rangi)}


def taxii(client, path, headers, **params) -> Any:
    return client.get(path, headers={**headers, "Accept": TAXII}, query_string=params)


def all_objects(client, headers, **params) -> list[dict]:
    objects, cursor = [], None
    for _ in range(1000):
        response = taxii(client, OBJECTS, headers, **params, **({"next": cursor} if cursor else {}))
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        objects.extend(body.get("objects", []))
        if not body["more"]:
            return objects
        cursor = body["next"]
    raise AssertionError("never ended")


def report_bulletins(objects) -> set[int]:
    return {int(ref["external_id"].removeprefix("bulletin-")) for o in objects if o["type"] == "report"
            for ref in o["external_references"]}


def readable_ids(user) -> set[int]:
    return set(db.session.scalars(policy.readable_bulletins(user).with_only_columns(Bulletin.id)))


# --- Reading ----------------------------------------------------------------------------------

def test_discovery_root_and_collections_in_taxii_media_type(client, scene):
    headers = scene["ben_token"]
    discovery = taxii(client, "/taxii2/", headers)
    assert discovery.status_code == 200 and discovery.headers["Content-Type"] == TAXII
    assert discovery.get_json()["api_roots"] == ["http://localhost/taxii2/portal/"]
    root = taxii(client, ROOT, headers).get_json()
    assert root["versions"] == [TAXII] and root["max_content_length"] > 0
    collections = {c["id"]: c for c in taxii(client, f"{ROOT}collections/", headers).get_json()["collections"]}
    assert collections[BULLETINS_COLLECTION]["can_read"] and collections[SIGHTINGS_COLLECTION]["can_write"]
    read_only = bearer(scene["ben"], ("bulletins:read",))
    collections = {c["id"]: c for c in taxii(client, f"{ROOT}collections/", read_only).get_json()["collections"]}
    assert collections[BULLETINS_COLLECTION]["can_read"] and not collections[SIGHTINGS_COLLECTION]["can_write"]
    assert taxii(client, f"{ROOT}collections/{uuid.uuid4()}/", headers).status_code == 404
    assert client.get(OBJECTS, headers={**headers, "Accept": "text/html"}).status_code == 406


def test_collections_hold_exactly_what_the_policy_lets_each_reader_read(client, scene):
    for who in ("ben", "rangi", "aroha"):
        token = scene["author"] if who == "aroha" else scene[f"{who}_token"]
        objects = all_objects(client, token)
        assert report_bulletins(objects) == readable_ids(scene[who]), who
    ids = scene["ids"]
    assert report_bulletins(all_objects(client, scene["ben_token"])) == {ids["everything"], ids["red-to-ben"]}
    # The audience is never disclosed to a recipient: no other organisation, sector or person appears.
    text = json.dumps(all_objects(client, scene["ben_token"]))
    for secret in ("port-tamaki", "Only for the port", "Above ben's clearance", "A draft", "ben@harbour.example",
                   "banking"):
        assert secret not in text


def test_every_served_object_passes_stix2_validator(client, scene):
    seen_types = set()
    for token in (scene["author"], scene["ben_token"]):
        objects = all_objects(client, token)
        for obj in objects:
            result = validate_instance(obj, ValidationOptions(version="2.1"))
            assert result.is_valid and not result.errors, (obj, [str(e) for e in result.errors])
            seen_types.add(obj["type"])
    assert {"report", "indicator", "identity", "marking-definition", "extension-definition", "phone-number",
            "shipping-container", "vessel", "bank-account", "cryptocurrency-wallet", "vehicle", "flight"} <= seen_types


def test_stix_mapping_of_a_bulletin(client, scene):
    objects = all_objects(client, scene["ben_token"])
    by_type: dict[str, list[dict]] = {}
    for obj in objects:
        by_type.setdefault(obj["type"], []).append(obj)
    report = next(r for r in by_type["report"] if r["name"] == "Every kind of indicator")
    # The report's id is the bulletin's uuid (its MISP event's uuid too), the same for every version.
    assert report["id"] == f"report--{db.session.get(Bulletin, scene['ids']['everything']).uuid}"
    # Its TLP 2.0 marking (OASIS's definition) and its NZ classification marking, on every object.
    markings = [stix.TLP_MARKINGS["AMBER"], stix.CLASSIFICATION_MARKINGS[1]]
    mine = [o for o in objects if o["id"] in report["object_refs"]] + [report]
    assert all(o["object_marking_refs"] == markings for o in mine)
    patterns = {o["pattern"] for o in by_type["indicator"] if o["id"] in report["object_refs"]}
    assert {"[domain-name:value = 'harbour-freight.example']", "[ipv4-addr:value = '203.0.113.7']",
            "[ipv6-addr:value = '2001:db8::1']", "[email-addr:value = 'ops@harbour-freight.example']",
            "[vessel:value = 'IMO9074729']", "[phone-number:value = '+64215550199']"} <= patterns
    # What STIX has no type for comes from the portal's published extension definition, not x- properties.
    vessel = next(o for o in by_type["vessel"] if o["id"] in report["object_refs"])
    assert vessel["extensions"] == {stix.OBSERVABLES_EXTENSION: {"extension_type": "new-sco"}}
    assert stix.OBSERVABLES_EXTENSION in {o["id"] for o in by_type["extension-definition"]}
    assert not [key for o in objects for key in o if key.startswith("x_")]
    people = {o["name"]: o["identity_class"] for o in by_type["identity"] if o["id"] in report["object_refs"]}
    assert people == {"Sione Taufa": "individual", "Blue Reef Trading Ltd": "organization"}
    author = next(o for o in by_type["identity"] if o["id"] == report["created_by_ref"])
    assert author["name"] == "Nz Customs" and author["identity_class"] == "organization"
    assert report["labels"] == ["drug-importation"]
    tlp = next(o for o in by_type["marking-definition"] if o["id"] == stix.TLP_MARKINGS["AMBER"])
    assert tlp["extensions"][stix.TLP_EXTENSION]["tlp_2_0"] == "amber"


def test_amendment_is_a_new_version_and_withdrawal_revokes(client, scene):
    ids = scene["ids"]
    before = {o["id"]: o for o in all_objects(client, scene["author"])}
    report_id = next(o["id"] for o in before.values() if o["type"] == "report" and o["name"] == "Only for the port")
    amended = client.patch(f"/api/v1/bulletins/{ids['to-port']}", headers=scene["author"],
                           json={"title": "Only for the port (corrected)", "change_note": "Title."})
    assert amended.status_code == 200, amended.get_json()
    after = {o["id"]: o for o in all_objects(client, scene["author"])}
    assert after[report_id]["created"] == before[report_id]["created"]
    assert after[report_id]["modified"] > before[report_id]["modified"]
    versions = taxii(client, f"{OBJECTS}{report_id}/versions/", scene["author"]).get_json()["versions"]
    assert versions == [after[report_id]["modified"]]
    withdrawn = client.post(f"/api/v1/bulletins/{ids['to-port']}/withdraw", headers=scene["author"],
                            json={"reason": "Superseded."})
    assert withdrawn.status_code == 200, withdrawn.get_json()
    author_view = {o["id"]: o for o in all_objects(client, scene["author"])}
    assert author_view[report_id]["revoked"] is True
    # The recipient may no longer read it (docs/contract.md): it is gone from its collection.
    assert report_id not in {o["id"] for o in all_objects(client, scene["rangi_token"])}


def test_added_after_sees_a_bulletin_whose_audience_widened(client, scene):
    first = taxii(client, OBJECTS, scene["ben_token"])
    last_seen = first.headers["X-TAXII-Date-Added-Last"]
    assert first.headers["X-TAXII-Date-Added-First"] <= last_seen
    assert taxii(client, OBJECTS, scene["ben_token"], added_after=last_seen).get_json() == {"more": False}
    widened = client.patch(f"/api/v1/bulletins/{scene['ids']['to-port']}", headers=scene["author"], json={
        "audience": {"orgs": ["port-tamaki"], "sectors": ["banking"]}, "change_note": "Banks too."})
    assert widened.status_code == 200, widened.get_json()
    later = taxii(client, OBJECTS, scene["ben_token"], added_after=last_seen)
    assert report_bulletins(later.get_json()["objects"]) == {scene["ids"]["to-port"]}
    assert later.headers["X-TAXII-Date-Added-First"] > last_seen
    manifest = taxii(client, MANIFEST, scene["ben_token"], added_after=last_seen).get_json()
    assert {m["id"] for m in manifest["objects"]} == {o["id"] for o in later.get_json()["objects"]}
    assert all(m["date_added"] > last_seen and m["media_type"] == stix.STIX_MEDIA_TYPE for m in manifest["objects"])


# --- A reader's own rights widen ----------------------------------------------------------------

def _widen(scene, change: str) -> int:
    """Widen ben's rights one way (through the models, as any writer would); the older bulletin
    that opens to him."""
    ben = scene["ben"]
    if change == "clearance":
        ben.clearance = Classification.SENSITIVE
        opened = scene["ids"]["sensitive"]
    elif change == "sector":
        ben.organisation.sector = "ports"
        opened = scene["ids"]["to-ports"]
    else:
        ben.organisation = scene["rangi"].organisation
        opened = scene["ids"]["to-port"]
    db.session.commit()
    return opened


@pytest.mark.parametrize("change", ["clearance", "sector", "organisation"])
def test_added_after_finds_the_old_bulletins_a_readers_widened_rights_open(client, scene, change):
    scene["ids"]["to-ports"] = publish(client, scene["author"], "For every port", {"sectors": ["ports"]})
    token = scene["ben_token"]
    first = taxii(client, OBJECTS, token)
    last_seen = first.headers["X-TAXII-Date-Added-Last"]
    assert taxii(client, OBJECTS, token, added_after=last_seen).get_json() == {"more": False}
    opened = _widen(scene, change)
    assert opened not in report_bulletins(first.get_json()["objects"])
    later = taxii(client, OBJECTS, token, added_after=last_seen)
    body = later.get_json()
    # The whole collection comes again (TAXII lets a server send an object twice; never miss one),
    # and never anything the reader may not read now (a sector change also narrows).
    assert opened in report_bulletins(body["objects"])
    assert report_bulletins(body["objects"]) == readable_ids(scene["ben"]) == report_bulletins(all_objects(client, token))
    assert last_seen < later.headers["X-TAXII-Date-Added-First"] <= later.headers["X-TAXII-Date-Added-Last"]
    manifest = taxii(client, MANIFEST, token, added_after=last_seen)
    entries = manifest.get_json()["objects"]
    assert [m["id"] for m in entries] == [o["id"] for o in body["objects"]]
    assert all(m["date_added"] > last_seen for m in entries)
    assert (entries[0]["date_added"], entries[-1]["date_added"]) == (
        manifest.headers["X-TAXII-Date-Added-First"], manifest.headers["X-TAXII-Date-Added-Last"])
    # Polled again from what that poll saw: nothing new, nothing lost.
    assert taxii(client, OBJECTS, token, added_after=later.headers["X-TAXII-Date-Added-Last"]).get_json() == {
        "more": False}


def test_paging_across_a_widening_loses_nothing(client, scene):
    """A walk whose reader's rights widen between two pages: the bulletins they open (whose
    date_added is the widening, perhaps behind the cursor) still reach the client."""
    token = scene["ben_token"]
    last_seen = taxii(client, OBJECTS, token).headers["X-TAXII-Date-Added-Last"]
    fresh = {publish(client, scene["author"], f"Fresh {n}", {"sectors": ["banking"]}) for n in range(3)}
    page = taxii(client, OBJECTS, token, added_after=last_seen, limit=2).get_json()
    seen, dates = list(page["objects"]), []
    opened = _widen(scene, "clearance")
    cursor = page["next"]
    while cursor:
        response = taxii(client, OBJECTS, token, added_after=last_seen, limit=2, next=cursor)
        body = response.get_json()
        seen.extend(body.get("objects", []))
        dates.append(response.headers.get("X-TAXII-Date-Added-Last", ""))
        cursor = body.get("next") if body["more"] else None
    after_walk = all_objects(client, token, added_after=max(dates))
    assert fresh | {opened} <= report_bulletins(seen + after_walk)
    assert report_bulletins(seen) <= readable_ids(scene["ben"])
    # After the widening, pages of any size walk what one page holds, in date_added order.
    whole = taxii(client, MANIFEST, token, added_after=last_seen).get_json()["objects"]
    assert [m["date_added"] for m in whole] == sorted(m["date_added"] for m in whole)
    for limit in (1, 3, 7):
        assert [o["id"] for o in all_objects(client, token, added_after=last_seen, limit=limit)] == [
            m["id"] for m in whole], limit


def test_a_lowered_right_shows_nothing_the_reader_may_not_read(client, scene):
    token = scene["ben_token"]
    first = taxii(client, OBJECTS, token)
    last_seen = first.headers["X-TAXII-Date-Added-Last"]
    mark = scene["ben"].rights_changed_at
    scene["ben"].clearance = Classification.UNCLASSIFIED  # the IN-CONFIDENCE bulletins close to him
    db.session.commit()
    assert scene["ben"].rights_changed_at == mark  # nothing opened, nothing to send again
    assert taxii(client, OBJECTS, token, added_after=last_seen).get_json() == {"more": False}
    remaining = report_bulletins(all_objects(client, token))
    assert remaining == readable_ids(scene["ben"]) and remaining < report_bulletins(first.get_json()["objects"])
    scene["ben"].organisation.sector = "ports"  # narrows and widens: the mark moves, the policy still rules
    db.session.commit()
    later = all_objects(client, token, added_after=last_seen)
    assert report_bulletins(later) == readable_ids(scene["ben"])


def test_every_widening_input_of_the_policy_moves_the_readers_mark(scene, world):
    """Each input of the access policy about the reader or its organisation moves
    ``policy.rights_widened_at`` when it widens, whichever way it is written; a narrowing alone,
    or a change the policy does not read, does not."""
    ben = scene["ben"]
    other = world.org("reef-bank", "private", "banking")

    def set_(obj, **values):
        return lambda: [setattr(obj, name, value) for name, value in values.items()]

    steps = [  # in turn, each from where the previous left ben: (what, change, moves the mark)
        ("clearance lowered", set_(ben, clearance=Classification.UNCLASSIFIED), False),
        ("clearance raised", set_(ben, clearance=Classification.RESTRICTED), True),
        ("display name", set_(ben, display_name="Ben"), False),
        ("another organisation", set_(ben, organisation_id=other.id), True),
        ("organisation's sector", set_(other, sector="ports"), True),
        ("organisation's country", set_(other, country="WS"), True),
        ("organisation's slug", set_(other, slug="reef-bank-ws"), True),
        ("organisation's name", set_(other, name="Reef Bank of Samoa"), False),
        ("organisation deactivated", set_(other, active=False), False),
        ("organisation reactivated", set_(other, active=True), True),
        ("deactivated", set_(ben, active=False), False),
        ("reactivated", set_(ben, active=True), True),
        ("awaiting approval", set_(ben, pending=True), False),
        ("approved", set_(ben, pending=False), True),
        ("the same address in capitals", set_(ben, email="BEN@harbour.example"), False),
        ("another address", set_(ben, email="ben.new@harbour.example"), True),
        ("a role granted", lambda: ben.set_roles(ben.roles | {Role.ANALYST}), True),
        ("a role taken away", lambda: ben.set_roles(ben.roles - {Role.ANALYST}), False),
        ("a role row added on its own", lambda: db.session.add(UserRole(user_id=ben.id, role=Role.SUBMITTER.value)),
         True),
        ("another organisation, as an object", set_(ben, organisation=scene["rangi"].organisation), True),
        # Bulk UPDATEs skip the unit of work: still counted (a widening, the old value unknown).
        ("an UPDATE of the clearance", lambda: db.session.execute(
            update(User).where(User.id == ben.id).values(clearance=Classification.SENSITIVE)), True),
        ("an UPDATE of the organisation's country", lambda: db.session.execute(
            update(Organisation).where(Organisation.id == ben.organisation_id).values(country="TO")), True),
        ("an UPDATE of something else", lambda: db.session.execute(
            update(User).where(User.id == ben.id).values(display_name="B. Harbour")), False),
    ]
    for what, change, moves in steps:
        before = policy.rights_widened_at(ben)
        change()
        db.session.commit()
        assert (policy.rights_widened_at(ben) > before) is moves, what


def test_pages_walk_the_whole_collection_without_gaps_or_repeats(client, scene):
    whole = all_objects(client, scene["ben_token"])
    for limit in (1, 3, 7):
        paged = all_objects(client, scene["ben_token"], limit=limit)
        assert [o["id"] for o in paged] == [o["id"] for o in whole], limit
    response = taxii(client, OBJECTS, scene["ben_token"], limit=2)
    assert response.get_json()["more"] is True and len(response.get_json()["objects"]) == 2
    beyond = base64.urlsafe_b64encode(json.dumps(["2026-12-01T00:00:00Z", 2 ** 40, 0]).encode()).decode()
    for bad in ({"limit": "0"}, {"limit": "x"}, {"next": "not-ours"}, {"next": beyond.rstrip("=")},
                {"added_after": "yesterday"}, {"match[colour]": "red"}):
        assert taxii(client, OBJECTS, scene["ben_token"], **bad).status_code == 400, bad


def test_match_filters_and_object_by_id(client, scene):
    token = scene["ben_token"]
    indicators = all_objects(client, token, **{"match[type]": "indicator"})
    assert indicators and {o["type"] for o in indicators} == {"indicator"}
    two = all_objects(client, token, **{"match[type]": "report,vessel"})
    assert {o["type"] for o in two} == {"report", "vessel"}
    report = next(o for o in two if o["type"] == "report")
    by_id = all_objects(client, token, **{"match[id]": report["id"]})
    assert by_id == [report]
    assert all_objects(client, token, **{"match[id]": report["id"], "match[version]": report["modified"]}) == [report]
    assert all_objects(client, token, **{"match[id]": report["id"], "match[version]": "2000-01-01T00:00:00.000Z"}) == []
    assert all_objects(client, token, **{"match[id]": report["id"], "match[spec_version]": "2.0"}) == []
    one = taxii(client, f"{OBJECTS}{report['id']}/", token)
    assert one.status_code == 200 and one.get_json()["objects"] == [report]
    assert one.headers["X-TAXII-Date-Added-First"] == one.headers["X-TAXII-Date-Added-Last"]
    # An object of a bulletin the reader cannot read is answered exactly as an unknown one.
    hidden = next(o["id"] for o in all_objects(client, scene["rangi_token"], **{"match[type]": "report"})
                  if o["name"] == "Only for the port")
    for unknown in (hidden, f"report--{uuid.uuid4()}", "nonsense"):
        assert taxii(client, f"{OBJECTS}{unknown}/", token).status_code == 404
        assert taxii(client, f"{OBJECTS}{unknown}/versions/", token).status_code == 404
        assert all_objects(client, token, **{"match[id]": unknown}) == []


def test_a_page_costs_the_same_number_of_queries_whatever_its_size(app, client, scene):
    author = scene["author"]
    for n in range(12):
        publish(client, author, f"Bulk {n}", {"sectors": ["banking"]}, indicators=EVERY_INDICATOR[:4])
    taxii(client, f"{ROOT}collections/", scene["ben_token"])  # the token's first use is noted once a minute
    counts = {}
    for limit in (5, 200):
        statements: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany, seen=statements):
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            # After the portal's own definitions, so that both pages read bulletins.
            response = taxii(client, OBJECTS, scene["ben_token"], limit=limit, added_after="2026-01-01T00:00:00Z")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert len(response.get_json()["objects"]) == min(limit, len(all_objects(
            client, scene["ben_token"], added_after="2026-01-01T00:00:00Z")))
        counts[limit] = len([s for s in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))])
    assert counts[5] == counts[200], counts
    assert counts[200] <= 8, counts


def test_a_page_reads_only_the_bulletins_it_fills_and_pages_stay_full(client, scene):
    """The page walks the readable bulletins until their objects fill it (not ``limit`` bulletins,
    which for a reader who sees 1 % scanned a hundred rows a bulletin ten times too far)."""
    author = scene["author"]
    for n in range(8):
        publish(client, author, f"Bulk {n}", {"sectors": ["banking"]}, indicators=EVERY_INDICATOR[:4])
        publish(client, author, f"Not for the bank {n}", {"sectors": ["ports"]})  # skipped by ben's walk
    after = {"added_after": "2026-01-01T00:00:00Z"}  # past the portal's own definitions
    token = scene["ben_token"]
    whole = all_objects(client, token, **after)
    indicators = [o["id"] for o in whole if o["type"] == "indicator"]
    for limit in (1, 4, 5, 6, 7, 13, 25):
        sizes, cursor, paged = [], None, []
        while True:
            body = taxii(client, OBJECTS, token, limit=limit, **after, **({"next": cursor} if cursor else {})).get_json()
            sizes.append(len(body.get("objects", [])))
            paged.extend(body.get("objects", []))
            if not body["more"]:
                break
            cursor = body["next"]
        assert [o["id"] for o in paged] == [o["id"] for o in whole], limit
        assert all(size == limit for size in sizes[:-1]), (limit, sizes)  # no short pages without filters
        filtered = all_objects(client, token, limit=limit, **after, **{"match[type]": "indicator"})
        assert [o["id"] for o in filtered] == indicators, limit
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert len(taxii(client, OBJECTS, token, limit=5, **after).get_json()["objects"]) == 5
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    loaded = [re.search(r"bulletin_indicators\.bulletin_id IN \(([^)]*)\)", s) for s in statements]
    ids_loaded = [len(found.group(1).split(",")) for found in loaded if found]
    assert ids_loaded and ids_loaded[0] <= 2, ids_loaded  # five objects: one or two bulletins, not six


def test_every_poll_is_an_audited_read(client, scene):
    before = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "taxii.poll"))
    taxii(client, OBJECTS, scene["ben_token"], limit=2)
    taxii(client, OBJECTS, scene["ben_token"], **{"match[type]": "report"})
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "taxii.poll")
                                      .order_by(AuditEntry.id)))
    assert len(entries) == before + 2
    assert entries[-1].actor_email == "ben@harbour.example" and entries[-1].object_id == BULLETINS_COLLECTION
    assert json.loads(entries[-1].details)["filters"] == {"match[type]": "report"}


# --- Authentication and scopes ----------------------------------------------------------------

def test_tokens_as_bearer_or_basic_and_nothing_else(client, scene):
    token = scene["ben_token"]["Authorization"].removeprefix("Bearer ")
    basic = {"Authorization": "Basic " + base64.b64encode(f"anyone:{token}".encode()).decode()}
    assert taxii(client, OBJECTS, basic).status_code == 200
    assert taxii(client, OBJECTS, scene["ben_token"]).status_code == 200
    wrong = {"Authorization": "Basic " + base64.b64encode(b"ben@harbour.example:correct horse battery staple").decode()}
    for headers in ({}, {"Authorization": "Bearer nope"}, wrong, {"Authorization": "Basic !!!"},
                    {"Authorization": "Token " + token}):
        for path in ("/taxii2/", ROOT, f"{ROOT}collections/", OBJECTS, f"{ROOT}status/{uuid.uuid4()}/"):
            response = taxii(client, path, headers)
            assert response.status_code == 401, (headers, path)
            assert response.get_json()["http_status"] == "401" and "Basic" in response.headers["WWW-Authenticate"]
    # A signed-in browser's session cookie is not accepted, and no cookie is set.
    sign_in(client, scene["ben"])
    response = taxii(client, OBJECTS, {})
    assert response.status_code == 401 and "Set-Cookie" not in response.headers


def test_scopes(client, scene):
    no_bulletins = bearer(scene["ben"], ("submissions:read",))
    assert taxii(client, "/taxii2/", no_bulletins).status_code == 200
    assert taxii(client, OBJECTS, no_bulletins).status_code == 403
    assert taxii(client, MANIFEST, no_bulletins).status_code == 403
    read_only = bearer(scene["ben"], ("bulletins:read",))
    assert taxii(client, OBJECTS, read_only).status_code == 200
    refused = client.post(WRITE, headers={**read_only, "Accept": TAXII}, data=json.dumps({"objects": [{}]}),
                          content_type=TAXII)
    assert refused.status_code == 403 and "bulletins:write" in refused.get_json()["description"]
    write_only = bearer(scene["ben"], ("bulletins:write",))
    assert taxii(client, OBJECTS, write_only).status_code == 403
    # The readable collection takes no writes; the sightings collection is not read.
    assert client.post(OBJECTS, headers=scene["ben_token"], data="{}", content_type=TAXII).status_code == 403
    assert taxii(client, f"{ROOT}collections/{SIGHTINGS_COLLECTION}/objects/", scene["ben_token"]).status_code == 403


# --- Writing back -----------------------------------------------------------------------------

def _now() -> str:
    return "2026-11-20T03:00:00.000Z"


def sighting(ref: str, **extra) -> dict:
    return {"type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid4()}", "created": _now(),
            "modified": _now(), "sighting_of_ref": ref, **extra}


def observed(**extra) -> dict:
    return {"type": "observed-data", "spec_version": "2.1", "id": f"observed-data--{uuid.uuid4()}",
            "created": _now(), "modified": _now(), "first_observed": "2026-11-19T22:00:00Z",
            "last_observed": "2026-11-19T23:00:00Z", "number_observed": 2,
            "object_refs": [f"domain-name--{uuid.uuid4()}"], **extra}


def write(client, headers, objects, raw=None):
    return client.post(WRITE, headers={**headers, "Accept": TAXII}, content_type=TAXII,
                       data=raw if raw is not None else json.dumps({"objects": objects}))


def snapshot() -> tuple:
    return (db.session.scalar(select(func.count()).select_from(BulletinSighting)),
            db.session.scalar(select(func.count()).select_from(OutboxMessage)),
            db.session.scalar(select(func.count()).select_from(ActivityEvent)))


def test_sightings_written_back_each_object_on_its_own(client, scene):
    ben = scene["ben_token"]
    objects = all_objects(client, ben)
    indicator = next(o for o in objects if o["type"] == "indicator" and "vessel:" in o["pattern"])
    report = next(o for o in objects if o["type"] == "report" and o["name"] == "Named people only")
    hidden = next(o["id"] for o in all_objects(client, scene["rangi_token"], **{"match[type]": "indicator"})
                  if o["id"] not in {x["id"] for x in objects})
    evidence = observed()
    good = sighting(indicator["id"], observed_data_refs=[evidence["id"]], description="At the wharf.", count=3)
    on_report = sighting(report["id"])
    refused = {
        "unreadable": sighting(hidden),
        "unknown": sighting(f"indicator--{uuid.uuid4()}"),
        "invalid": sighting(indicator["id"], created="last Tuesday"),
        "not a sighting": {"type": "malware", "spec_version": "2.1", "id": f"malware--{uuid.uuid4()}",
                           "created": _now(), "modified": _now(), "name": "x", "is_family": False},
        "lonely evidence": observed(),
        "future": sighting(indicator["id"], first_seen="2999-01-01T00:00:00Z"),
    }
    before = snapshot()
    response = write(client, ben, [good, evidence, on_report, *refused.values()])
    assert response.status_code == 202, response.get_data(as_text=True)
    status = response.get_json()
    assert status["status"] == "complete" and status["total_count"] == 9 and status["pending_count"] == 0
    assert {s["id"] for s in status["successes"]} == {good["id"], evidence["id"], on_report["id"]}
    failures = {f["id"]: f["message"] for f in status["failures"]}
    assert set(failures) == {o["id"] for o in refused.values()}
    assert failures[refused["unreadable"]["id"]] == failures[refused["unknown"]["id"]]
    # The two sightings are the portal's own: the author is told, the scorecards count them.
    rows = list(db.session.scalars(select(BulletinSighting).order_by(BulletinSighting.id)))[-2:]
    assert [r.stix_id for r in rows] == [good["id"], on_report["id"]]
    assert rows[0].indicator_id is not None and rows[0].context == "At the wharf. (seen 3 times)"
    assert rows[0].seen_at.isoformat().startswith("2026-11-19T22:00")
    after = snapshot()
    assert after[0] == before[0] + 2
    messages = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))[-2:]
    assert [m.event for m in messages] == ["bulletin.answered", "bulletin.answered"]
    shares = db.session.scalar(select(func.count()).select_from(ActivityEvent).where(
        ActivityEvent.organisation_id == scene["ben"].organisation_id, ActivityEvent.kind == "share"))
    assert shares == 2 and after[2] == before[2] + 2
    # The status resource, for its writer only; the same sighting again is not counted twice.
    assert taxii(client, f"{ROOT}status/{status['id']}/", ben).get_json() == status
    assert taxii(client, f"{ROOT}status/{status['id']}/", scene["rangi_token"]).status_code == 404
    again = write(client, ben, [good]).get_json()
    assert again["success_count"] == 1 and snapshot()[0] == after[0]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "bulletin.sighting")) == 2


def test_a_malformed_or_oversized_envelope_is_refused_whole(client, scene):
    ben = scene["ben_token"]
    indicator = next(o for o in all_objects(client, ben) if o["type"] == "indicator")
    before = (snapshot(), db.session.scalar(select(func.count()).select_from(TaxiiStatus)))
    for raw, status in (("{not json", 400), (json.dumps({"objects": "x"}), 400), (json.dumps([]), 400),
                        (json.dumps({"objects": [sighting(indicator["id"])] * 501}), 413),
                        (json.dumps({"objects": [sighting(indicator["id"], description="x" * 1_100_000)]}), 413)):
        response = write(client, ben, None, raw=raw)
        assert response.status_code == status, (raw[:40], response.status_code)
        assert response.get_json()["http_status"] == str(status)
    wrong_type = client.post(WRITE, headers=ben, data=json.dumps({"objects": [sighting(indicator["id"])]}),
                             content_type="text/plain")
    assert wrong_type.status_code == 415
    assert (snapshot(), db.session.scalar(select(func.count()).select_from(TaxiiStatus))) == before


@pytest.mark.parametrize("extra_settings", [{"json_max_bytes": 64 * 1024}])
def test_the_envelope_limit_is_the_configured_json_limit(client, scene):
    """The API root announces PORTAL_JSON_MAX_BYTES, and an envelope above it is 413 (at the default
    1 MiB, the same envelope is taken)."""
    ben = scene["ben_token"]
    assert taxii(client, ROOT, ben).get_json()["max_content_length"] == 64 * 1024
    indicator = next(o for o in all_objects(client, ben) if o["type"] == "indicator")
    before = snapshot()
    response = write(client, ben, [sighting(indicator["id"], description="x" * 70_000)])
    assert response.status_code == 413 and response.get_json()["http_status"] == "413"
    assert snapshot() == before
    assert write(client, ben, [sighting(indicator["id"], description="x" * 60_000)]).status_code == 202


def test_the_author_organisation_cannot_sight_its_own_bulletin(client, scene):
    indicator = next(o for o in all_objects(client, scene["author"]) if o["type"] == "indicator")
    before = snapshot()
    status = write(client, scene["author"], [sighting(indicator["id"])]).get_json()
    assert status["failure_count"] == 1 and snapshot() == before


# --- A real TAXII client against a live server --------------------------------------------------

@pytest.fixture
def live(app) -> Iterator[str]:
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_taxii2_client_reads_pages_and_writes_sightings_with_basic_auth(live, client, scene):
    from taxii2client.v21 import Server, as_pages

    token = scene["ben_token"]["Authorization"].removeprefix("Bearer ")
    server = Server(f"{live}/taxii2/", user="ben", password=token)
    assert server.title == "Partner Sharing Portal"
    root = server.default
    assert root.url == f"{live}/taxii2/portal/"
    collections = {c.id: c for c in root.collections}
    bulletins, sightings = collections[BULLETINS_COLLECTION], collections[SIGHTINGS_COLLECTION]
    assert bulletins.can_read and sightings.can_write
    objects = [obj for envelope in as_pages(bulletins.get_objects, per_request=4) for obj in envelope.get("objects", [])]
    assert report_bulletins(objects) == readable_ids(scene["ben"])
    assert [o["id"] for o in objects] == [o["id"] for o in all_objects(client, scene["ben_token"])]
    manifest = bulletins.get_manifest()
    assert len(manifest["objects"]) == len(objects)
    report = next(o for o in objects if o["type"] == "report")
    assert bulletins.get_object(report["id"])["objects"] == [report]
    indicator = next(o for o in objects if o["type"] == "indicator")
    status = sightings.add_objects({"objects": [sighting(indicator["id"]), sighting(f"indicator--{uuid.uuid4()}")]})
    assert status.status == "complete" and status.success_count == 1 and status.failure_count == 1
    status.refresh()
    assert status.success_count == 1
    # The same client with a wrong password is refused.
    from taxii2client.exceptions import TAXIIServiceException

    with pytest.raises((TAXIIServiceException, Exception)):
        Server(f"{live}/taxii2/", user="ben", password="wrong").title  # noqa: B018
