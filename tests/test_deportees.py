"""Deportee notifications: routing exactness, encryption at rest (raw-file search), blind-index
lookup, acknowledgement, reminders and escalation on a controlled clock, key rotation, purge."""
from __future__ import annotations

import base64
import copy
import datetime as dt
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import MetaData, func, select, text

from portal.audit.models import AuditEntry
from portal.config import install, settings
from portal.deportees import service
from portal.deportees.models import DeporteeIdentifier, DeporteeNotification
from portal.extensions import db
from portal.outbox import Delivery, OutboxMessage
from portal.types import utcnow
from tests.conftest import TEST_SECRETS, bearer, csrf_from, sign_in
from tests.idp import free_port
from tests.mail import SmtpSink

SECRET_WORDS = ("Tavita", "Faleolo", "T-Bone", "LA123456", "Fa'atasi", "Vaitele")
SMTP_PORT = free_port()
KEY_B = "keyb:" + "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="


def example(country="WS", arrival="2026-12-20T06:30:00Z"):
    return {
        "destination_country": country, "classification": "SENSITIVE",
        "person": {"names": ["Tavita Faleolo"], "aliases": ["T-Bone"], "date_of_birth": "1990-05-01", "sex": "M",
                   "nationality": "WS", "documents": [{"type": "passport", "number": "LA123456", "country": "WS"}]},
        "removal": {"flight": "NZ990", "arrival_airport": "APW", "arrival_at": arrival},
        "offending_summary": "Supply of methamphetamine.", "risk_notes": "Gang links.",
        "reintegration_needs": "Housing with an aunt in Vaitele; family contact through Fa'atasi.",
        "legal_basis": "NZ–Samoa memorandum on deportee information",
    }


@pytest.fixture
def extra_settings():
    return {"deportee_routes": {"WS": ["ws-police", "pacific-tcc"], "TO": ["to-police"], "FJ": ["fj-police"]},
            "smtp_port": SMTP_PORT}


@pytest.fixture
def people(world):
    o = world.org
    corrections = o("nz-corrections", "government", "corrections", name="Corrections")
    police = o("nz-police", "government", "police", name="NZ Police")
    bank = o("harbour-bank", name="Harbour Bank")
    ws = o("ws-police", "pacific", "police", "WS", name="Samoa Police")
    tcc = o("pacific-tcc", "pacific", "regional-centre", "WS", name="Regional Centre")
    to = o("to-police", "pacific", "police", "TO", name="Tonga Police")
    fj = o("fj-police", "pacific", "police", "FJ", name="Fiji Police")
    ck = o("ck-police", "pacific", "police", "CK", name="Cook Islands Police")
    u = world.user
    return {
        "ck_org": ck, "to_org": to,
        "issuer": u("ruth@corrections.example", corrections, ("publisher",), clearance="RESTRICTED"),
        "corrections_viewer": u("viewer@corrections.example", corrections, ("viewer",), clearance="RESTRICTED"),
        "police_publisher": u("pub@police.example", police, ("publisher",), clearance="RESTRICTED"),
        "police_analyst": u("analyst@police.example", police, ("analyst",), clearance="RESTRICTED"),
        "bank_publisher": u("pub@bank.example", bank, ("publisher", "submitter"), clearance="RESTRICTED"),
        "ws": u("sefo@police.ws.example", ws, ("viewer",), clearance="SENSITIVE", locale="sm"),
        "ws_admin": u("malia@police.ws.example", ws, ("org-admin",), clearance="SENSITIVE"),
        "ws_publisher": u("pub@police.ws.example", ws, ("publisher",), clearance="SENSITIVE"),
        "tcc": u("claire@tcc.example", tcc, ("analyst",), clearance="SENSITIVE", locale="fr"),
        "tcc_admin": u("admin@tcc.example", tcc, ("org-admin",), clearance="SENSITIVE"),
        "to": u("sione@police.to.example", to, ("viewer",), clearance="SENSITIVE"),
        "fj": u("ana@police.fj.example", fj, ("viewer",), clearance="SENSITIVE"),
        "ck": u("tere@police.ck.example", ck, ("viewer",), clearance="SENSITIVE"),
        "admin": u("admin@portal.example", police, ("admin",), clearance="RESTRICTED"),
    }


def _issue(client, user, body=None):
    return client.post("/api/v1/deportee-notifications", json=copy.deepcopy(body or example()), headers=bearer(user))


def test_contract_example_and_routing_is_exact_across_countries(client, people):
    created = {}
    for country in ("WS", "TO", "FJ"):
        response = _issue(client, people["issuer"], example(country))
        assert response.status_code == 201, response.get_json()
        created[country] = response.get_json()
    ws = created["WS"]
    assert ws["status"] == "sent" and ws["acknowledged_at"] is None
    assert ws["recipients"] == ["pacific-tcc", "ws-police"]
    assert created["TO"]["recipients"] == ["to-police"] and created["FJ"]["recipients"] == ["fj-police"]
    expected = {"ws": {"WS"}, "tcc": {"WS"}, "to": {"TO"}, "fj": {"FJ"}, "ck": set(), "issuer": {"WS", "TO", "FJ"},
                "corrections_viewer": {"WS", "TO", "FJ"}, "police_publisher": set(), "bank_publisher": set(),
                "admin": set()}
    for name, countries in expected.items():
        headers = bearer(people[name])
        listed = {n["destination_country"] for n in
                  client.get("/api/v1/deportee-notifications", headers=headers).get_json()["items"]}
        assert listed == countries, name
        for country, body in created.items():
            status = client.get(f"/api/v1/deportee-notifications/{body['id']}", headers=headers).status_code
            assert status == (200 if country in countries else 404), (name, country)
    # notifications go to exactly the routed organisations' people
    from portal.notifications import delivery as engine
    engine.dispatch()
    told = set(db.session.scalars(select(Delivery.recipient_key).where(Delivery.channel == "inbox")))
    ids = {f"user:{people[n].id}" for n in ("ws", "ws_admin", "ws_publisher", "tcc", "tcc_admin", "to", "fj")}
    assert told == ids


BAD = [
    ("unknown destination country", lambda d: d.update(destination_country="ZZ"), 400, "destination_country"),
    ("no receiver designated", lambda d: d.update(destination_country="NU"), 400, "destination_country"),
    ("missing person", lambda d: d.pop("person"), 400, "person"),
    ("person without a name", lambda d: d["person"].update(names=[]), 400, "person.names"),
    ("missing legal basis", lambda d: d.pop("legal_basis"), 400, "legal_basis"),
    ("arrival not ISO 8601", lambda d: d["removal"].update(arrival_at="20/12/2026 6:30"), 400, "removal.arrival_at"),
    ("arrival without offset", lambda d: d["removal"].update(arrival_at="2026-12-20T06:30:00"), 400,
     "removal.arrival_at"),
    ("classification above RESTRICTED", lambda d: d.update(classification="SECRET"), 400, "classification"),
    ("bad document", lambda d: d["person"]["documents"].append({"type": "passport", "number": "!"}), 400,
     "person.documents[1]"),
]


@pytest.mark.parametrize("name,change,status,field", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_and_nothing_stored(client, people, name, change, status, field):
    body = example()
    change(body)
    response = _issue(client, people["issuer"], body)
    assert response.status_code == status
    assert field in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(DeporteeNotification)) == 0


@pytest.mark.parametrize("who", ["ws_publisher", "bank_publisher", "corrections_viewer"])
def test_only_nz_agency_publishers_issue(client, people, who):
    response = _issue(client, people[who])
    assert response.status_code == 403 and "New Zealand agency" in response.get_json()["error"]["message"]
    assert db.session.scalar(select(func.count()).select_from(DeporteeNotification)) == 0


def _all_rows_as_text() -> str:
    metadata = MetaData()
    metadata.reflect(bind=db.engine)
    out = []
    with db.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(table.select()):
                out.append(repr(tuple(row)))
    return "\n".join(out)


def test_no_personal_data_in_clear_anywhere_in_the_database(client, people, app):
    body = _issue(client, people["issuer"]).get_json()
    assert body["person"]["names"] == ["Tavita Faleolo"]  # readers get it back, decrypted
    client.post(f"/api/v1/deportee-notifications/{body['id']}/acknowledge", headers=bearer(people["ws"]))
    client.post(f"/api/v1/deportee-notifications/{body['id']}/updates", headers=bearer(people["ws"]),
                json={"kind": "met-by-family", "note": "Met by his aunt from Vaitele (Fa'atasi)."})
    service.remind_and_escalate(now=utcnow() + dt.timedelta(days=30))
    db.session.commit()
    sign_in(client, people["tcc"])
    assert "Tavita Faleolo" in client.get(f"/deportee-notifications/{body['id']}").get_data(as_text=True)
    from portal.notifications import delivery as engine
    engine.dispatch()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) > 5
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) >= 3
    dump = _all_rows_as_text()
    for word in SECRET_WORDS:
        assert word.lower() not in dump.lower(), word
    url = settings(app).database_url
    if url.startswith("sqlite"):
        db.session.remove()
        with db.engine.connect() as connection:
            connection.execute(text("PRAGMA wal_checkpoint(FULL)"))
        path = Path(url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert raw, "database file not found"
        for word in SECRET_WORDS:
            assert word.encode() not in raw and word.lower().encode() not in raw.lower(), word


def test_blind_index_finds_by_document_number_only_what_the_reader_may_read(client, people):
    body = _issue(client, people["issuer"]).get_json()
    found = client.get("/api/v1/deportee-notifications?document=la 123456", headers=bearer(people["ws"])).get_json()
    assert [n["id"] for n in found["items"]] == [body["id"]]
    assert client.get("/api/v1/deportee-notifications?document=LA123457",
                      headers=bearer(people["ws"])).get_json()["items"] == []
    assert client.get("/api/v1/deportee-notifications?document=LA123456",
                      headers=bearer(people["to"])).get_json()["items"] == []
    assert db.session.scalar(select(func.count()).select_from(DeporteeIdentifier)) == 3  # document, name, alias


def test_acknowledging_on_the_page_asks_first_then_says_for_whom(client, people):
    """Acknowledging cannot be taken back: the page's button asks first (no script needed) and
    records nothing until confirmed; then the next page says what happened, for which agency."""
    body = _issue(client, people["issuer"]).get_json()
    officer = people["ws"]
    officer.locale = "en"  # the words checked below are the English ones
    db.session.commit()
    sign_in(client, officer)
    page = f"/deportee-notifications/{body['id']}"
    token = csrf_from(client.get(page).get_data(as_text=True))
    asked = client.post(f"{page}/acknowledge", data={"csrf_token": token})
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Acknowledge this notification for" in text and 'value="yes"' in text
    notification = db.session.get(DeporteeNotification, body["id"])
    assert all(r.acknowledged_at is None for r in notification.recipients)
    done = client.post(f"{page}/acknowledge", data={"csrf_token": csrf_from(text), "confirmed": "yes"},
                       follow_redirects=True)
    assert f"Acknowledged for {officer.organisation.name}." in done.get_data(as_text=True)
    db.session.refresh(notification)
    assert [r.organisation_id for r in notification.recipients if r.acknowledged_at] == [officer.organisation_id]


def test_acknowledgement_is_recorded_and_visible_to_the_issuer(client, people):
    body = _issue(client, people["issuer"]).get_json()
    path = f"/api/v1/deportee-notifications/{body['id']}/acknowledge"
    assert client.post(path, headers=bearer(people["to"])).status_code == 404
    assert client.post(path, headers=bearer(people["issuer"])).status_code == 403
    acked = client.post(path, headers=bearer(people["ws"]))
    assert acked.status_code == 200 and acked.get_json()["acknowledged_at"]
    seen = client.get(f"/api/v1/deportee-notifications/{body['id']}", headers=bearer(people["issuer"])).get_json()
    assert seen["acknowledged_at"] and seen["status"] == "acknowledged"
    by_org = {a["org"]: a["acknowledged_at"] for a in seen["acknowledgements"]}
    assert by_org["ws-police"] and by_org["pacific-tcc"] is None
    sign_in(client, people["issuer"])
    page = client.get(f"/deportee-notifications/{body['id']}").get_data(as_text=True)
    assert "sefo@police.ws.example" in page and "not yet acknowledged" in page
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.event == "deportee.updated")) is not None


def test_reminder_48_hours_before_arrival_and_escalation_on_a_controlled_clock(client, people):
    start = utcnow()
    arrival = (start + dt.timedelta(hours=120)).isoformat()
    body = _issue(client, people["issuer"], example("WS", arrival)).get_json()
    client.post(f"/api/v1/deportee-notifications/{body['id']}/acknowledge", headers=bearer(people["ws"]))

    def events():
        db.session.commit()
        return sorted((m.event, m.data.get("to"), tuple(m.data.get("orgs") or ())) for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.event.in_(["deportee.reminder", "deportee.escalated"]))))

    assert service.remind_and_escalate(now=start + dt.timedelta(hours=1)) == 0
    assert service.remind_and_escalate(now=start + dt.timedelta(hours=23)) == 0
    tcc = people["tcc_admin"].organisation_id
    assert service.remind_and_escalate(now=start + dt.timedelta(hours=25)) == 1  # escalation only
    assert events() == [("deportee.escalated", "admins", (tcc,)), ("deportee.escalated", "issuer", ())]
    assert service.remind_and_escalate(now=start + dt.timedelta(hours=26)) == 0  # once
    assert service.remind_and_escalate(now=start + dt.timedelta(hours=120 - 49)) == 0  # 49 h before: not yet
    assert service.remind_and_escalate(now=start + dt.timedelta(hours=120 - 47)) == 1  # 47 h before: reminder
    assert ("deportee.reminder", None, (tcc,)) in events()
    assert service.remind_and_escalate(now=start + dt.timedelta(hours=120 - 10)) == 0  # once
    db.session.commit()
    from portal.notifications import delivery as engine
    engine.dispatch()
    db.session.commit()
    reminded = {d.user_id for d in db.session.scalars(select(Delivery).join(OutboxMessage).where(
        OutboxMessage.event == "deportee.reminder", Delivery.channel == "inbox"))}
    escalated = {d.user_id for d in db.session.scalars(select(Delivery).join(OutboxMessage).where(
        OutboxMessage.event == "deportee.escalated", Delivery.channel == "inbox"))}
    assert reminded == {people["tcc"].id, people["tcc_admin"].id}  # Samoa Police acknowledged: not reminded
    assert escalated == {people["tcc_admin"].id, people["issuer"].id, people["corrections_viewer"].id}


def _use_keys(app, spec):
    install(app, settings(app).model_copy(update={"data_keys": SecretStr(spec)}))


def test_key_rotation_re_encrypts_without_downtime(client, people, app):
    body = _issue(client, people["issuer"]).get_json()
    client.post(f"/api/v1/deportee-notifications/{body['id']}/updates", headers=bearer(people["ws"]),
                json={"kind": "arrived", "note": "Arrived in Vaitele."})
    old = TEST_SECRETS["data_keys"]
    _use_keys(app, f"{KEY_B},{old}")  # a new key first; the old one still decrypts
    assert client.get(f"/api/v1/deportee-notifications/{body['id']}",
                      headers=bearer(people["ws"])).get_json()["person"]["names"] == ["Tavita Faleolo"]
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1 notification(s), 1 update note(s) and" in result.output and "key keyb" in result.output
    db.session.expire_all()
    assert db.session.get(DeporteeNotification, body["id"]).key_id == "keyb"
    issuer = db.session.get(type(people["issuer"]), people["issuer"].id)
    assert issuer.totp_secret_sealed.startswith("v2.keyb.")  # second-factor secrets rotate too
    _use_keys(app, KEY_B)  # the old key is gone: everything still reads
    assert issuer.totp_secret and len(issuer.totp_secret) >= 16
    again = client.get(f"/api/v1/deportee-notifications/{body['id']}", headers=bearer(people["ws"])).get_json()
    assert again["person"]["documents"][0]["number"] == "LA123456" and again["updates"][0]["note"] == \
        "Arrived in Vaitele."
    assert app.test_cli_runner().invoke(args=["keys", "new"]).output.count(":") == 1


def test_purge_after_retention_keeps_a_statistic_and_is_audited(client, people, app):
    old = (utcnow() - dt.timedelta(days=25 * 31)).isoformat()
    recent = _issue(client, people["issuer"]).get_json()
    body = _issue(client, people["issuer"], example("WS", old)).get_json()
    result = app.test_cli_runner().invoke(args=["jobs", "run-once"])
    assert result.exit_code == 0 and "deportees.purge" in result.output
    db.session.expire_all()
    purged = db.session.get(DeporteeNotification, body["id"])
    assert purged.personal is None and purged.photo is None and purged.purged_at and purged.status == "purged"
    assert purged.destination_country == "WS" and purged.arrival_at is not None
    assert db.session.get(DeporteeNotification, recent["id"]).personal is not None
    assert db.session.scalar(select(func.count()).select_from(DeporteeIdentifier).where(
        DeporteeIdentifier.notification_id == body["id"])) == 0
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "deportee_notification.purge",
                                                      AuditEntry.object_id == str(body["id"])))
    seen = client.get(f"/api/v1/deportee-notifications/{body['id']}", headers=bearer(people["ws"])).get_json()
    assert "person" not in seen and seen["purged_at"]


def test_arrival_in_destination_local_time_beside_the_readers_and_alert_without_personal_data(client, people):
    from portal.notifications import delivery as engine

    body = _issue(client, people["issuer"], {**example("WS"), "destination_country": "WS"}).get_json()
    sign_in(client, people["ws_admin"])
    page = client.get(f"/deportee-notifications/{body['id']}").get_data(as_text=True)
    assert "Pacific/Apia" in page and "7:30" in page
    sink = SmtpSink(SMTP_PORT).start()
    try:
        engine.dispatch()
        engine.deliver_email()
    finally:
        sink.stop()
    db.session.commit()
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.event == "deportee.notified"))
    assert "Tavita" not in message.payload
    mail = sink.to("claire@tcc.example")
    assert len(mail) == 1
    content = mail[0].get_body(("plain",)).get_content()
    assert body["reference"] in content and f"/deportee-notifications/{body['id']}" in content
    assert "Pacific/Apia" in content and "Arrivée" in content  # in French, as Claire reads
    for word in SECRET_WORDS:
        assert word not in content and word not in str(mail[0]["Subject"])


def test_a_report_links_to_a_notification_its_analyst_may_read(client, people, world):
    police = _issue(client, people["police_publisher"]).get_json()
    assert police["recipients"] == ["pacific-tcc", "ws-police"]
    world.org("nz-fiu", "government", "fiu")
    report = client.post("/api/v1/submissions", headers=bearer(people["bank_publisher"]), json={
        "recipient_org": "nz-police", "classification": "IN-CONFIDENCE", "typologies": ["drug-importation"],
        "narrative": "Customer's passport matches a notice.",
        "subjects": [{"id": "p1", "kind": "person", "names": ["FALEOLO, Tavita"], "date_of_birth": "1990-05-01",
                      "documents": [{"type": "passport", "number": "LA 123456", "country": "WS"}]}]})
    assert report.status_code == 201, report.get_json()
    sign_in(client, people["police_analyst"])
    page = client.get(f"/submissions/{report.get_json()['reference']}").get_data(as_text=True)
    assert police["reference"] in page.split("Linked records")[1]


def test_admin_designates_receivers_only_of_that_country(client, people):
    sign_in(client, people["admin"])
    token = csrf_from(client.get("/admin/deportee-routes").get_data(as_text=True))
    client.post("/admin/deportee-routes", data={"csrf_token": token, "country": "CK", "organisation": "ck-police"})
    client.post("/admin/deportee-routes", data={"csrf_token": token, "country": "CK", "organisation": "to-police"})
    assert [o.slug for o in service.receivers_for("CK")] == ["ck-police"]
    created = _issue(client, people["issuer"], example("CK")).get_json()
    assert created["recipients"] == ["ck-police"]


def test_admin_route_form_refuses_bad_values_with_the_declarations_words(client, people):
    """The route form is checked through RouteInput (the service's entrance): a country or an
    organisation of the wrong shape shows the declaration's sentence, once, and adds no route; the
    service still refuses an organisation of another country in its own words."""
    from markupsafe import escape

    from portal.deportees.models import DeporteeRoute
    from portal.deportees.schemas import RouteInput
    from portal.payloads import check
    from portal.problems import Invalid

    sign_in(client, people["admin"])
    token = csrf_from(client.get("/admin/deportee-routes").get_data(as_text=True))
    for data in ({"country": "C1", "organisation": "ck-police"}, {"country": "CK", "organisation": "CK Police!"},
                 {"country": "CKX", "organisation": "x" * 70}):
        with pytest.raises(Invalid) as declared:
            check(RouteInput, data)
        html = client.post("/admin/deportee-routes", data={"csrf_token": token, **data},
                           follow_redirects=True).get_data(as_text=True)
        words = str(escape(next(iter(declared.value.fields.values()))[0]))
        assert html.count(words) == 1, (data, words)
    html = client.post("/admin/deportee-routes", data={"csrf_token": token, "country": "CK",
                                                       "organisation": "to-police"}, follow_redirects=True)
    assert "cannot receive notifications for" in html.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(DeporteeRoute)) == 0


def test_secrets_sealed_by_earlier_versions_open_and_are_resealed_by_rotate(app, people):
    import base64
    import os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from portal.crypto import LEGACY_PREFIX, _legacy_key

    nonce = os.urandom(12)
    legacy = AESGCM(_legacy_key("totp-secret")).encrypt(nonce, b"JBSWY3DPEHPK3PXP", b"totp-secret")
    user = people["issuer"]
    user.totp_secret_sealed = LEGACY_PREFIX + base64.urlsafe_b64encode(nonce + legacy).decode()
    db.session.commit()
    assert user.totp_secret == "JBSWY3DPEHPK3PXP" and not user.totp_secret_needs_sealing
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    user = db.session.get(type(user), user.id)
    assert user.totp_secret_sealed.startswith("v2.test1.") and user.totp_secret == "JBSWY3DPEHPK3PXP"


def test_a_country_without_designated_receivers_goes_to_its_own_pacific_agencies(client, people, world):
    world.org("ck-customs", "pacific", "customs", "CK", name="Cook Islands Customs")
    world.org("nz-tcu", "government", "police", "NZ", name="TCU")  # an NZ agency is never a receiver
    created = _issue(client, people["issuer"], example("CK")).get_json()
    assert created["recipients"] == ["ck-customs", "ck-police"]  # not the regional centre in Samoa


def test_webhook_carries_the_reference_and_arrival_but_no_personal_data(client, people):
    import json

    from portal.notifications import delivery as engine
    from portal.outbox import WebhookEndpoint
    from tests.mail import HttpReceiver

    receiver = HttpReceiver()
    try:
        endpoint = WebhookEndpoint(organisation_id=people["ws"].organisation_id, user_id=people["ws_admin"].id,
                                   name="case system", url=receiver.url)
        endpoint.secret = "shared-secret"
        db.session.add(endpoint)
        db.session.commit()
        body = _issue(client, people["issuer"]).get_json()
        engine.dispatch()
        engine.deliver_webhooks()
        db.session.commit()
        assert receiver.requests, "no webhook was sent"
        raw = receiver.requests[0]["body"].decode()
        for word in SECRET_WORDS:
            assert word not in raw
        sent = json.loads(raw)["object"]
        assert sent["reference"] == body["reference"]
        assert sent["facts"][0]["value"] == body["arrival_at"]
    finally:
        receiver.stop()


def test_a_photo_is_a_jpeg_or_png_within_the_limit_the_settings_derive(client, people, app):
    """The photo's limit is the settings' (twice PORTAL_JSON_MAX_BYTES: 2 MiB by default), and the
    refusal names it; a photo at the limit is kept."""
    limit = app.extensions["portal_settings"].deportee_photo_max_bytes
    assert limit == 2 * 1024 * 1024
    png = b"\x89PNG\r\n\x1a\n"

    def with_photo(raw: bytes) -> dict:
        body = example()
        body["person"]["photo_base64"] = base64.b64encode(raw).decode()
        return body

    response = _issue(client, people["issuer"], with_photo(png + b"\0" * (limit + 1 - len(png))))
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"]["person.photo_base64"] == ["The photo is larger than 2 MiB."]
    response = _issue(client, people["issuer"], with_photo(b"GIF89a" + b"\0" * 10))
    assert response.get_json()["error"]["fields"]["person.photo_base64"] == [
        "The photo must be a JPEG or PNG image, in base64."]
    assert db.session.scalar(select(func.count()).select_from(DeporteeNotification)) == 0
    assert _issue(client, people["issuer"], with_photo(png + b"\0" * (limit - len(png)))).status_code == 201
    sign_in(client, people["issuer"])
    assert "Photo (JPEG or PNG, at most 2 MiB)" in client.get("/deportee-notifications/new").get_data(as_text=True)
