"""Suspicious-activity submissions: the API (docs/contract.md's shape, idempotency, bad input), isolation
between organisations, triage and feedback, linked records, and the goAML export."""
from __future__ import annotations

import base64
import copy
import csv
import io
import re
import threading
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.bulletins.models import Bulletin, BulletinAudience, BulletinIndicator
from portal.config import settings
from portal.extensions import db
from portal.outbox import OutboxMessage
from portal.problems import Invalid
from portal.submissions import service
from portal.submissions.linking import fold_name, same_person
from portal.submissions.models import (Submission, SubmissionDraft, SubmissionIdentifier, SubmissionNote,
                                      SubmissionPerson)
from portal.types import utcnow
from portal.vocabulary import Classification
from tests.conftest import bearer, csrf_from, sign_in, sign_out
from tests.idp import free_port
from tests.attachment_store import kept
from tests.mail import SmtpSink

SMTP_PORT = free_port()
XSD = Path(__file__).parent / "data" / "goaml" / "goAMLSchema-5.0.2.xsd"

EXAMPLE = {
    "recipient_org": "nz-fiu",
    "classification": "IN-CONFIDENCE",
    "typologies": ["money-laundering"],
    "narrative": "Free text: what was seen and why it is suspicious.",
    "subjects": [
        {"id": "p1", "kind": "person", "names": ["Sione Taufa"], "date_of_birth": "1987-03-14",
         "nationality": "TO", "documents": [{"type": "passport", "number": "T1234567", "country": "TO"}]},
        {"id": "a1", "kind": "account", "institution": "Harbour Bank", "number": "12-3456-7890123-00"},
        {"id": "e1", "kind": "entity", "name": "Blue Reef Trading Ltd", "registration_number": "6543210",
         "country": "NZ"},
    ],
    "transactions": [
        {"date": "2026-10-01", "amount": "9500.00", "currency": "NZD", "from": "a1", "to": "e1", "method": "cash"}
    ],
}


@pytest.fixture
def extra_settings():
    return {"smtp_port": SMTP_PORT}


@pytest.fixture
def people(world):
    fiu = world.org("nz-fiu", kind="government", sector="fiu", name="Financial Intelligence Unit")
    customs = world.org("nz-customs", kind="government", sector="customs", name="NZ Customs")
    police = world.org("nz-police", kind="government", sector="police", name="NZ Police")
    bank = world.org("harbour-bank", name="Harbour Bank")
    other_bank = world.org("kowhai-bank", name="Kowhai Bank")
    port = world.org("port-tamaki", sector="ports", name="Port Tamaki")
    u = world.user
    return {
        "fiu": fiu, "customs": customs, "bank": bank, "other_bank": other_bank,
        "submitter": u("risk@harbour.example", bank, ("submitter",)),
        "bank_viewer": u("viewer@harbour.example", bank, ("viewer",)),
        "bank_admin": u("admin@harbour.example", bank, ("org-admin",)),
        "other_submitter": u("risk@kowhai.example", other_bank, ("submitter",)),
        "port_submitter": u("risk@port.example", port, ("submitter",)),
        "analyst": u("analyst@fiu.example", fiu, ("analyst",), clearance="RESTRICTED"),
        "analyst2": u("second@fiu.example", fiu, ("analyst",), clearance="RESTRICTED"),
        "fiu_viewer": u("viewer@fiu.example", fiu, ("viewer",), clearance="RESTRICTED"),
        "customs_analyst": u("analyst@customs.example", customs, ("analyst",), clearance="RESTRICTED"),
        "police_analyst": u("analyst@police.example", police, ("analyst",), clearance="RESTRICTED"),
        "admin": u("admin@portal.example", fiu, ("admin",), clearance="RESTRICTED"),
        "auditor": u("auditor@portal.example", fiu, ("auditor",), clearance="RESTRICTED"),
    }


def _submit(client, user, body=None, **headers):
    return client.post("/api/v1/submissions", json=copy.deepcopy(body or EXAMPLE),
                       headers={**bearer(user), **headers})


def test_contract_example_is_accepted_and_read_back(client, people):
    response = _submit(client, people["submitter"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert re.fullmatch(r"SAR-\d{4}-\d{6}", body["reference"])
    assert body["status"] == "received" and body["submitted_at"].endswith("Z")
    assert body["recipient_org"] == "nz-fiu" and body["submitting_org"] == "harbour-bank"
    assert re.fullmatch(r"[0-9a-f]{64}", body["content_hash"])
    assert body["transactions"][0]["amount"] == "9500.00"
    assert response.headers["Location"] == f"/api/v1/submissions/{body['reference']}"
    again = client.get(f"/api/v1/submissions/{body['reference']}", headers=bearer(people["analyst"]))
    assert again.status_code == 200 and again.get_json()["content_hash"] == body["content_hash"]
    second = _submit(client, people["submitter"]).get_json()
    assert int(second["reference"][-6:]) == int(body["reference"][-6:]) + 1


def test_isolation_between_banks_agencies_and_roles(client, people):
    reference = _submit(client, people["submitter"]).get_json()["reference"]
    _submit(client, people["other_submitter"], {**EXAMPLE, "recipient_org": "nz-customs"})
    readers = {"submitter": True, "bank_admin": True, "analyst": True, "bank_viewer": False, "fiu_viewer": False,
               "other_submitter": False, "customs_analyst": False, "police_analyst": False, "admin": False,
               "auditor": False, "port_submitter": False}
    for name, may in readers.items():
        user = people[name]
        headers = bearer(user)
        for path in (f"/api/v1/submissions/{reference}", f"/api/v1/submissions/{reference}/goaml"):
            assert client.get(path, headers=headers).status_code == (200 if may else 404), (name, path)
        listed = [s["reference"] for s in client.get("/api/v1/submissions", headers=headers).get_json()["items"]]
        assert (reference in listed) is may, name
    # pages: another bank sees neither the report nor its count
    sign_in(client, people["other_submitter"])
    assert client.get(f"/submissions/{reference}").status_code == 404
    assert client.get(f"/submissions/{reference}/goaml").status_code == 404
    page = client.get("/submissions").get_data(as_text=True)
    assert reference not in page


def test_admin_and_auditor_read_no_report_by_their_role_in_pages(client, people):
    reference = _submit(client, people["submitter"]).get_json()["reference"]
    for name in ("admin", "auditor"):
        sign_out(client)
        sign_in(client, people[name])
        assert client.get(f"/submissions/{reference}").status_code == 404
        assert reference not in client.get("/submissions").get_data(as_text=True)
        client.post("/logout", data={"csrf_token": csrf_from(client.get("/submissions").get_data(as_text=True))})


BAD = [
    ("invalid date", lambda d: d["transactions"][0].update(date="2026-13-45"), "transactions[0].date"),
    ("birth date in the future", lambda d: d["subjects"][0].update(date_of_birth="2999-01-01"),
     "subjects[0].date_of_birth"),
    ("negative amount", lambda d: d["transactions"][0].update(amount="-5"), "transactions[0].amount"),
    ("non-numeric amount", lambda d: d["transactions"][0].update(amount="lots"), "transactions[0].amount"),
    ("unknown currency", lambda d: d["transactions"][0].update(currency="XYZ"), "transactions[0].currency"),
    ("unknown country", lambda d: d["subjects"][0].update(nationality="ZZ"), "subjects[0].nationality"),
    ("recipient not an agency", lambda d: d.update(recipient_org="kowhai-bank"), "recipient_org"),
    ("recipient unknown", lambda d: d.update(recipient_org="nobody"), "recipient_org"),
    ("no typology", lambda d: d.update(typologies=[]), "typologies"),
    ("unknown typology", lambda d: d.update(typologies=["knitting"]), "typologies"),
    ("unknown subject in a transaction", lambda d: d["transactions"][0].update(to="x9"), "transactions[0].to"),
    ("classification above RESTRICTED", lambda d: d.update(classification="SECRET"), "classification"),
    ("classification above clearance", lambda d: d.update(classification="RESTRICTED"), "classification"),
    ("bad IMO", lambda d: d["subjects"].append({"id": "v1", "kind": "vessel", "imo": "IMO 1234568"}),
     "subjects[3].imo"),
    ("oversized narrative", lambda d: d.update(narrative="x" * 50_001), "narrative"),
    ("no narrative", lambda d: d.update(narrative="  "), "narrative"),
    ("method not text", lambda d: d["transactions"][0].update(method=["cash"]), "transactions[0].method"),
    ("relations not a list", lambda d: d.update(relations={"p1": "a1"}), "relations"),
    ("relation to an unknown subject id",
     lambda d: d.update(relations=[{"subject": "p1", "role": "signatory", "to": "a9"}]), "relations[0].to"),
    ("relation of an unknown subject index",
     lambda d: d.update(relations=[{"subject": 7, "role": "signatory", "to": "a1"}]), "relations[0].subject"),
    ("relation with an unknown role",
     lambda d: d.update(relations=[{"subject": "p1", "role": "cousin", "to": "e1"}]), "relations[0].role"),
    ("a subject related to itself",
     lambda d: d.update(relations=[{"subject": "e1", "role": "holder", "to": "e1"}]), "relations[0].to"),
    ("a person as holder of an entity",
     lambda d: d.update(relations=[{"subject": "p1", "role": "holder", "to": "e1"}]), "relations[0].to"),
    ("an account as signatory",
     lambda d: d.update(relations=[{"subject": "a1", "role": "signatory", "to": "a1"}]), "relations[0].subject"),
    ("an entity as director",
     lambda d: d.update(relations=[{"subject": "e1", "role": "director", "to": "e1"}]), "relations[0].subject"),
    ("conductor of a transaction the report lacks",
     lambda d: d.update(relations=[{"subject": "p1", "role": "conductor", "transaction": 1}]),
     "relations[0].transaction"),
    ("conductor given a subject instead of a transaction",
     lambda d: d.update(relations=[{"subject": "p1", "role": "conductor", "to": "a1"}]), "relations[0].to"),
    ("two conductors of one transaction", lambda d: (
        d["subjects"].append({"id": "p2", "kind": "person", "names": ["Ana Lolo"]}),
        d.update(relations=[{"subject": "p1", "role": "conductor", "transaction": 0},
                            {"subject": "p2", "role": "conductor", "transaction": 0}])), "relations[1].subject"),
]


@pytest.mark.parametrize("name,change,field", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_with_field_errors_and_nothing_stored(client, people, name, change, field):
    body = copy.deepcopy(EXAMPLE)
    change(body)
    response = _submit(client, people["submitter"], body)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and field in error["fields"], error
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0
    assert db.session.scalar(select(func.count()).select_from(SubmissionIdentifier)) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_every_problem_is_listed_at_once(client, people):
    body = copy.deepcopy(EXAMPLE)
    body.update(typologies=[], classification="TOP SECRET")
    body["transactions"][0].update(amount="-1", currency="ABC", to="nobody")
    fields = _submit(client, people["submitter"], body).get_json()["error"]["fields"]
    assert {"typologies", "classification", "transactions[0].amount", "transactions[0].currency",
            "transactions[0].to"} <= set(fields)


def test_wrong_content_type_and_oversized_body_or_attachment(client, people, app):
    headers = bearer(people["submitter"])
    response = client.post("/api/v1/submissions", data="recipient_org=nz-fiu", headers=headers,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and response.get_json()["error"]["code"] == "unsupported-media-type"
    limit = settings(app).attachment_max_bytes
    big = {**copy.deepcopy(EXAMPLE), "attachments": [
        {"filename": "statement.txt", "content_base64": base64.b64encode(b"a" * (limit + 1)).decode()}]}
    response = client.post("/api/v1/submissions", json=big, headers=headers)
    assert response.status_code == 413, response.get_json()
    wrong = {**copy.deepcopy(EXAMPLE), "attachments": [
        {"filename": "tool.exe", "content_base64": base64.b64encode(b"MZ\x90\x00" * 10).decode()}]}
    assert client.post("/api/v1/submissions", json=wrong, headers=headers).status_code == 415
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0
    assert kept(app) == []  # neither in the database nor on disk


def test_attachment_through_the_api_is_kept_with_its_hash(client, people):
    body = {**copy.deepcopy(EXAMPLE), "attachments": [
        {"filename": "statement.csv", "content_base64": base64.b64encode(b"date,amount\n2026-10-01,9500\n").decode()}]}
    created = _submit(client, people["submitter"], body).get_json()
    assert created["attachments"][0]["filename"] == "statement.csv"
    sign_in(client, people["analyst"])
    file = client.get(f"/submissions/{created['reference']}/attachments/{created['attachments'][0]['id']}")
    assert file.status_code == 200 and file.data.startswith(b"date,amount")


def test_idempotency_key_same_body_same_report_other_body_conflict(client, people):
    first = _submit(client, people["submitter"], **{"Idempotency-Key": "k-1"})
    again = _submit(client, people["submitter"], **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.get_json()["reference"] == again.get_json()["reference"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = _submit(client, people["submitter"], {**EXAMPLE, "narrative": "Something else."},
                    **{"Idempotency-Key": "k-1"})
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "conflict"
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 1


def test_concurrent_identical_submissions_with_one_key_make_one_report(app, people):
    headers = {**bearer(people["submitter"]), "Idempotency-Key": "same-key"}
    results: list[tuple[int, str]] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        own = app.test_client()
        barrier.wait()
        response = own.post("/api/v1/submissions", json=copy.deepcopy(EXAMPLE), headers=headers)
        results.append((response.status_code, (response.get_json() or {}).get("reference")))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 4 and {status for status, _ in results} == {201}, results
    assert len({reference for _, reference in results}) == 1
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 1


def test_follow_up_links_to_the_original_of_the_same_organisation(client, people):
    original = _submit(client, people["submitter"]).get_json()["reference"]
    follow = _submit(client, people["submitter"], {**EXAMPLE, "follows": original, "narrative": "More."}).get_json()
    assert follow["follows"] == original
    refused = _submit(client, people["other_submitter"], {**EXAMPLE, "follows": original})
    assert refused.status_code == 400 and "follows" in refused.get_json()["error"]["fields"]
    sign_in(client, people["analyst"])
    page = client.get(f"/submissions/{original}").get_data(as_text=True)
    assert follow["reference"] in page


def _form(client, path):
    return csrf_from(client.get(path).get_data(as_text=True))


def test_triage_assignment_statuses_notes_and_feedback(client, people):
    reference = _submit(client, people["submitter"]).get_json()["reference"]
    sign_in(client, people["analyst"])
    page = f"/submissions/{reference}"
    token = _form(client, page)
    client.post(f"{page}/assign", data={"csrf_token": token, "assignee": people["analyst2"].id})
    client.post(f"{page}/status", data={"csrf_token": token, "status": "linked"})  # not from received
    assert db.session.scalar(select(Submission.status).where(Submission.reference == reference)) == "received"
    client.post(f"{page}/status", data={"csrf_token": token, "status": "triaged"})
    client.post(f"{page}/status", data={"csrf_token": token, "status": "closed"})  # no outcome: refused
    client.post(f"{page}/status", data={"csrf_token": token, "status": "referred"})
    client.post(f"{page}/notes", data={"csrf_token": token, "body": "Internal: matches operation KAURI."})
    client.post(f"{page}/feedback", data={"csrf_token": token, "outcome": "referred-for-investigation",
                                          "text": "Thank you: this was referred for investigation."})
    client.post(f"{page}/status", data={"csrf_token": token, "status": "closed",
                                        "outcome": "referred-for-investigation"})
    row = db.session.scalar(select(Submission).where(Submission.reference == reference))
    assert (row.status, row.outcome, row.assigned_to_id) == ("closed", "referred-for-investigation",
                                                             people["analyst2"].id)
    assert db.session.scalar(select(func.count()).select_from(SubmissionNote)) == 1
    html = client.get(page).get_data(as_text=True)
    assert "operation KAURI" in html and "second@fiu.example" in html
    queue = client.get("/submissions?status=closed").get_data(as_text=True)
    assert reference in queue
    assert reference not in client.get("/submissions?status=received").get_data(as_text=True)
    feedback = db.session.scalar(select(OutboxMessage).where(OutboxMessage.event == "submission.feedback"))
    assert feedback is not None

    # The submitter sees status and feedback, never the notes, assignee or history.
    sign_out(client)
    client2 = client.application.test_client()
    sign_in(client2, people["submitter"])
    mine = client2.get(page).get_data(as_text=True)
    assert "referred for investigation" in mine.lower() and "Closed" in mine
    assert "KAURI" not in mine and "second@fiu.example" not in mine
    api = client2.get(f"/api/v1/submissions/{reference}", headers=bearer(people["submitter"])).get_json()
    assert api["feedback"][0]["outcome"] == "referred-for-investigation" and "KAURI" not in str(api)
    # ...and cannot triage
    token = _form(client2, page)
    client2.post(f"{page}/notes", data={"csrf_token": token, "body": "sneaky"})
    assert db.session.scalar(select(func.count()).select_from(SubmissionNote)) == 1
    actions = {a for (a,) in db.session.execute(select(AuditEntry.action).where(
        AuditEntry.object_id == reference)).all()}
    assert {"submission.create", "submission.assign", "submission.status", "submission.note",
            "submission.feedback"} <= actions


def test_triage_forms_refuse_bad_values_with_their_declarations_words(client, people):
    """Assigning and changing status are checked by AssignInput and StatusInput (the service's
    entrance): a value of the wrong shape shows the declaration's sentence and changes nothing."""
    from markupsafe import escape

    from portal.payloads import check
    from portal.problems import Invalid
    from portal.submissions.schemas import AssignInput, StatusInput

    reference = _submit(client, people["submitter"]).get_json()["reference"]
    sign_in(client, people["analyst"])
    page = f"/submissions/{reference}"
    token = _form(client, page)
    for path, data, model in (("assign", {"assignee": "nobody"}, AssignInput),
                              ("status", {"status": "archived"}, StatusInput),
                              ("status", {"status": "closed", "outcome": "x" * 101}, StatusInput)):
        with pytest.raises(Invalid) as declared:
            check(model, data)
        shown = client.post(f"{page}/{path}", data={"csrf_token": token, **data}, follow_redirects=True)
        html = shown.get_data(as_text=True)
        for words in declared.value.fields.values():
            assert escape(words[0]) in html, (path, data, words)
    row = db.session.scalar(select(Submission).where(Submission.reference == reference))
    assert (row.status, row.outcome, row.assigned_to_id) == ("received", None, None)
    assert not db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.object_id == reference, AuditEntry.action.in_(("submission.assign", "submission.status"))))


def _queue_rows(page: str) -> dict[str, str]:
    """Each report's row of the queue, by reference (the filter form above it says "overdue" too)."""
    rows = re.findall(r"<tr[ >].*?</tr>", page, flags=re.S)
    return {m.group(0): row for row in rows if (m := re.search(r"SAR-\d{4}-\d{6}", row))}


def test_overdue_reports_are_marked_in_the_queue(client, people):
    late = _submit(client, people["submitter"]).get_json()["reference"]
    fresh = _submit(client, people["submitter"], {**EXAMPLE, "narrative": "Another, just now."}).get_json()["reference"]
    row = db.session.scalar(select(Submission).where(Submission.reference == late))
    row.submitted_at = utcnow().replace(year=utcnow().year - 1)
    db.session.commit()
    sign_in(client, people["analyst"])
    assert set(_queue_rows(client.get("/submissions?overdue=1").get_data(as_text=True))) == {late}
    rows = _queue_rows(client.get("/submissions").get_data(as_text=True))
    assert set(rows) == {late, fresh}
    assert 'class="overdue"' in rows[late] and "<strong>overdue</strong>" in rows[late]
    assert "overdue" not in rows[fresh]


# --- Linked records ----------------------------------------------------------------------------

def test_name_folding_handles_case_diacritics_order_and_transliteration():
    assert fold_name("TAUFAʻ, Sione") == fold_name("sione taufa")
    assert fold_name("Mohammed Al-Rashid") == fold_name("Muhammad al rashid")
    assert fold_name("Māui Tīpene") == fold_name("Maui Tipene")
    assert same_person(fold_name("Sione Taufa"), fold_name("Sione Taufaa"))
    assert same_person(fold_name("Filipo Leota"), fold_name("Philipo Leota"))
    assert not same_person(fold_name("Sione Taufa"), fold_name("Mele Havili"))


def test_links_by_identifier_and_fuzzy_person_within_what_the_analyst_reads(client, people, world):
    first = _submit(client, people["submitter"]).get_json()["reference"]
    elsewhere = _submit(client, people["other_submitter"], {**EXAMPLE, "recipient_org": "nz-customs"})
    assert elsewhere.status_code == 201
    second_body = copy.deepcopy(EXAMPLE)
    second_body["subjects"] = [
        {"id": "p1", "kind": "person", "names": ["TAUFA, Sione"], "date_of_birth": "1987-03-14"},
        {"id": "a1", "kind": "account", "number": "12 3456 7890123 000"},
    ]
    second_body["transactions"] = []
    second = _submit(client, people["other_submitter"], second_body).get_json()["reference"]
    unrelated = copy.deepcopy(second_body)
    unrelated["subjects"] = [{"id": "p1", "kind": "person", "names": ["Sione Taufa"], "date_of_birth": "1990-01-01"}]
    third = _submit(client, people["other_submitter"], unrelated).get_json()["reference"]
    bulletin = Bulletin(author_org=people["fiu"], title="Mule accounts", classification=Classification.UNCLASSIFIED,
                        tlp="GREEN", status="published", published_at=utcnow())
    bulletin.audience.append(BulletinAudience(kind="org", value="nz-fiu"))
    bulletin.indicators.append(BulletinIndicator(type="bank-account", value="12-3456-7890123-00",
                                                 normalised="NZ:12-3456-7890123-000"))
    db.session.add(bulletin)
    db.session.commit()
    sign_in(client, people["analyst"])
    html = client.get(f"/submissions/{first}").get_data(as_text=True)
    linked = html.split("Linked records")[1]
    assert second in linked and "Mule accounts" in linked
    assert third not in linked  # same name, another birth date
    assert elsewhere.get_json()["reference"] not in linked  # Customs' report: not the FIU's to read
    assert db.session.scalar(select(func.count()).select_from(SubmissionPerson)) >= 3


# --- goAML ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(str(XSD)))


GOAML_CASES = {
    "contract example (person, account, entity, transaction)": EXAMPLE,
    "no transactions: activity with parties": {
        **EXAMPLE, "transactions": [], "typologies": ["drug-importation", "money-laundering"],
        "subjects": EXAMPLE["subjects"] + [
            {"id": "p2", "kind": "person", "names": ["Tēvita Fīnau Hōpoate"], "aliases": ["Big T"],
             "date_of_birth": "1979-11-02", "nationality": "TO", "gender": "M",
             "documents": [{"type": "driver-licence", "number": "DL998877", "country": "NZ"}]},
            {"id": "v1", "kind": "vessel", "name": "Moana Star", "imo": "IMO 9074729"},
            {"id": "c1", "kind": "container", "number": "CSQU3054383"},
        ]},
    "a method goAML has no code for, and a common alias": {
        **EXAMPLE, "transactions": [
            {"date": "2026-10-01", "amount": "120", "currency": "NZD", "from": "a1", "to": "e1", "method": "barter"},
            {"date": "2026-10-02", "amount": "130", "currency": "NZD", "from": "a1", "to": "e1", "method": "EFT"}]},
    "foreign currency, IBAN, one side unknown": {
        **EXAMPLE, "typologies": ["trade-based-money-laundering"],
        "subjects": [{"id": "a1", "kind": "account", "number": "GB82 WEST 1234 5698 7654 32", "institution":
                      "West Bank", "swift": "WESTGB2L", "holder": "Ōtara Imports", "country": "GB"},
                     {"id": "e1", "kind": "entity", "name": "Ōtara Imports Ltd", "country": "NZ"}],
        "transactions": [
            {"date": "2026-09-01", "amount": "120000", "currency": "USD", "from": "a1", "method": "wire-transfer",
             "amount_local": "201000.00"},
            {"date": "2026-09-03", "amount": "5000", "currency": "NZD", "to": "e1", "method": "remittance"}]},
}


@pytest.mark.parametrize("case", list(GOAML_CASES))
def test_goaml_export_validates_against_the_schema(client, people, schema, case):
    created = _submit(client, people["submitter"], GOAML_CASES[case])
    assert created.status_code == 201, created.get_json()
    reference = created.get_json()["reference"]
    response = client.get(f"/api/v1/submissions/{reference}/goaml", headers=bearer(people["analyst"]))
    assert response.status_code == 200 and response.mimetype == "application/xml"
    document = etree.fromstring(response.data)
    schema.assertValid(document)
    assert document.findtext("entity_reference") == reference
    assert document.findall("report_indicators/indicator")


def _goaml(client, people, body):
    created = _submit(client, people["submitter"], body)
    assert created.status_code == 201, created.get_json()
    reference = created.get_json()["reference"]
    response = client.get(f"/api/v1/submissions/{reference}/goaml", headers=bearer(people["analyst"]))
    assert response.status_code == 200, response.data[:500]
    return reference, etree.fromstring(response.data)


def _missing_subjects(document, subjects):
    """The persons, entities and accounts of ``subjects`` that the goAML document does not carry."""
    from portal.submissions.goaml import _name_text

    people = {(e.findtext("first_name"), e.findtext("last_name"), e.findtext("birthdate"))
              for e in document.iter() if e.find("last_name") is not None}
    entities = {e.findtext("name") for e in document.iter()
                if e.tag in ("from_entity", "to_entity", "t_entity", "entity") and e.find("name") is not None}
    accounts = {e.findtext("account") for e in document.iter()
                if e.tag in ("from_account", "to_account", "account") and e.find("institution_code") is not None
                or e.find("swift") is not None}
    missing = []
    for s in subjects:
        if s["kind"] == "person":
            words = _name_text(s["names"][0]).split()
            born = f"{s['date_of_birth']}T00:00:00" if s.get("date_of_birth") else None
            if (" ".join(words[:-1]) or words[0], words[-1], born) not in people:
                missing.append(s["id"])
        elif s["kind"] == "entity" and _name_text(s["name"]) not in entities:
            missing.append(s["id"])
        elif s["kind"] == "account" and s["number"] not in accounts:
            missing.append(s["id"])
    return missing


#: Reports whose subjects are related (or not) in every way goAML has a place for.
PEOPLE = [
    {"id": "p1", "kind": "person", "names": ["Sione Taufa"], "date_of_birth": "1987-03-14", "nationality": "TO",
     "documents": [{"type": "passport", "number": "T1234567", "country": "TO"}]},
    {"id": "p2", "kind": "person", "names": ["Mele Vea"], "date_of_birth": "1990-06-01"},
    {"id": "p3", "kind": "person", "names": ["Losa Tupou"], "date_of_birth": "1970-01-20"},
    {"id": "p4", "kind": "person", "names": ["Viliami Kata"]},
]
ACCOUNTS = [{"id": "a1", "kind": "account", "institution": "Harbour Bank", "number": "12-3456-7890123-00"},
            {"id": "a2", "kind": "account", "institution": "Kowhai Bank", "number": "38-9000-1234567-01"}]
ENTITIES = [{"id": "e1", "kind": "entity", "name": "Blue Reef Trading Ltd", "registration_number": "6543210",
             "country": "NZ"},
            {"id": "e2", "kind": "entity", "name": "Coral Holdings Ltd", "country": "FJ"}]
CASH = {"date": "2026-10-01", "amount": "9500.00", "currency": "NZD", "method": "cash"}
SUBJECT_CASES = {
    "contract example: the person unrelated": EXAMPLE,
    "every relation stated": {
        **EXAMPLE, "subjects": PEOPLE + ACCOUNTS + ENTITIES,
        "transactions": [{**CASH, "from": "a1", "to": "e1"}, {**CASH, "from": "a2"}],
        "relations": [{"subject": "p1", "role": "conductor", "transaction": 0},
                      {"subject": "p2", "role": "signatory", "to": "a1"},
                      {"subject": "e2", "role": "holder", "to": "a2"},
                      {"subject": "p3", "role": "director", "to": "e2"},
                      {"subject": "p3", "role": "shareholder", "to": "e1"},
                      {"subject": "p4", "role": "beneficiary", "transaction": 1}]},
    "several accounts, nobody related": {
        **EXAMPLE, "subjects": PEOPLE + ACCOUNTS + ENTITIES, "transactions": [{**CASH, "from": "a1", "to": "e1"}]},
    "a beneficiary besides the receiving party, a director of an entity outside the transactions": {
        **EXAMPLE, "subjects": PEOPLE + ACCOUNTS[:1] + ENTITIES,
        "transactions": [{**CASH, "from": "a1", "to": "e1"}],
        "relations": [{"subject": "p2", "role": "beneficiary", "transaction": 0},
                      {"subject": "p3", "role": "director", "to": "e2"},
                      {"subject": "p1", "role": "holder", "to": "a1"}]},
    "no transactions, relations": {
        **EXAMPLE, "subjects": PEOPLE + ACCOUNTS + ENTITIES, "transactions": [],
        "relations": [{"subject": "p2", "role": "signatory", "to": "a1"},
                      {"subject": "e1", "role": "holder", "to": "a2"},
                      {"subject": "p3", "role": "director", "to": "e1"}]},
}


@pytest.mark.parametrize("case", list(SUBJECT_CASES))
def test_goaml_keeps_every_subject_and_validates(client, people, schema, case):
    body = SUBJECT_CASES[case]
    _reference, document = _goaml(client, people, body)
    schema.assertValid(document)
    assert _missing_subjects(document, body["subjects"]) == []


def test_goaml_places_subjects_by_their_stated_relations(client, people, schema):
    reference, document = _goaml(client, people, SUBJECT_CASES["every relation stated"])
    first, second = document.findall("transaction")
    conductor = first.find("t_from/t_conductor")
    assert (conductor.findtext("first_name"), conductor.findtext("last_name")) == ("Sione", "Taufa")
    assert conductor.findtext("passport_number") == "T1234567" and "Conductor" in conductor.findtext("comments")
    signatory = first.find("t_from/from_account/signatory")
    assert signatory.findtext("t_person/last_name") == "Vea" and signatory.findtext("role") == "SSIGN"
    shareholder = first.find("t_to/to_entity/director_id")
    assert shareholder.findtext("last_name") == "Tupou" and shareholder.findtext("role") == "SHRHL"
    holder = second.find("t_from/from_account/t_entity")
    assert holder.findtext("name") == "Coral Holdings Ltd"
    assert holder.find("director_id").findtext("last_name") == "Tupou"
    assert holder.find("director_id").findtext("role") == "DIR"
    assert second.find("t_to/to_person").findtext("last_name") == "Kata"  # the beneficiary, as no "to" was named
    assert document.find("activity") is None  # everyone has a place in the transactions
    assert "unconfirmed" not in etree.tostring(document, encoding="unicode")


def test_goaml_default_places_an_unrelated_person_as_unconfirmed_signatory(client, people, schema):
    _reference, document = _goaml(client, people, EXAMPLE)
    signatory = document.find("transaction/t_from/from_account/signatory")
    assert signatory.findtext("t_person/last_name") == "Taufa"
    assert signatory.findtext("t_person/passport_number") == "T1234567"
    assert signatory.findtext("role") == "-" and "Role unconfirmed" in signatory.findtext("t_person/comments")
    # with several accounts there is no "the" account: unrelated people become report parties
    _reference, document = _goaml(client, people, SUBJECT_CASES["several accounts, nobody related"])
    parties = document.findall("activity/report_parties/report_party")
    unplaced = {p.findtext("person/last_name") for p in parties if p.find("person") is not None}
    assert unplaced == {"Taufa", "Vea", "Tupou", "Kata"}
    assert {p.find("account").findtext("account") for p in parties if p.find("account") is not None} == \
        {"38-9000-1234567-01"}
    assert all("role unconfirmed" in p.findtext("reason") for p in parties)


def test_goaml_reason_states_what_the_reporter_said_of_a_subject_placed_in_the_activity(client, people, schema):
    body = SUBJECT_CASES["a beneficiary besides the receiving party, a director of an entity outside the transactions"]
    reference, document = _goaml(client, people, body)
    parties = document.findall("activity/report_parties/report_party")
    reasons = {(p.findtext("person/last_name") or p.findtext("entity/name")): p.findtext("reason") for p in parties}
    assert f"beneficiary of transaction {reference}-T1" in reasons["Vea"]
    assert "Coral Holdings Ltd" in reasons and "Tupou" not in reasons  # the director is inside its entity
    assert document.find("activity//entity/director_id").findtext("last_name") == "Tupou"
    holder = document.find("transaction/t_from/from_account/signatory")
    assert holder.findtext("is_primary") == "1" and holder.findtext("role") == "PAH"


def test_relations_are_stored_and_read_back(client, people):
    body = SUBJECT_CASES["every relation stated"]
    created = _submit(client, people["submitter"], body).get_json()
    again = client.get(f"/api/v1/submissions/{created['reference']}", headers=bearer(people["analyst"])).get_json()
    assert again["relations"] == body["relations"] == created["relations"]
    # a subject named by its position is stored by its id
    indexed = {**EXAMPLE, "relations": [{"subject": 0, "role": "signatory", "to": 1}]}
    created = _submit(client, people["submitter"], indexed).get_json()
    assert created["relations"] == [{"subject": "p1", "role": "signatory", "to": "a1"}]


#: Every character XML 1.0 cannot carry: the C0 controls but tab, line feed and carriage return; U+FFFE, U+FFFF.
NOT_XML = "".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r") + "\ufffe\uffff"
#: The same but NUL, which a PostgreSQL text column cannot store (SQLite can: the unit check covers it).
STORABLE = NOT_XML.replace("\x00", "")


def test_class_control_characters_goaml_export_succeeds_and_validates(client, people, schema):
    """Issue 13, class 7: a control character pasted into a report used to make the export a 500.
    Each character XML cannot carry is now written as U+FFFD, and the document still validates."""
    from portal.submissions.goaml import xml_text

    assert xml_text("a" + NOT_XML + "\t\n\r\U0001f600") == "a" + "\ufffd" * len(NOT_XML) + "\t\n\r\U0001f600"
    body = copy.deepcopy(EXAMPLE)
    body["narrative"] = "Cash counted" + STORABLE + " at the branch."
    body["subjects"][0]["notes"] = "Seen" + STORABLE
    body["subjects"][0]["aliases"] = ["Big" + STORABLE + "T"]
    body["subjects"][2]["name"] = "Blue" + STORABLE + "Reef Trading Ltd"
    body["transactions"][0]["description"] = "Bag of notes" + STORABLE
    created = _submit(client, people["submitter"], body)
    assert created.status_code == 201, created.get_json()
    reference = created.get_json()["reference"]
    response = client.get(f"/api/v1/submissions/{reference}/goaml", headers=bearer(people["analyst"]))
    assert response.status_code == 200, response.data[:500]
    document = etree.fromstring(response.data)
    schema.assertValid(document)
    assert document.findtext("reason").startswith("Cash counted" + "\ufffd" * len(STORABLE) + " at the branch.")
    description = document.findtext("transaction/transaction_description")  # its spaces were collapsed on input
    assert description.startswith("Bag of notes\ufffd") and not set(description) & set(NOT_XML)
    sign_in(client, people["analyst"])
    page = client.get(f"/submissions/{reference}/goaml")
    assert page.status_code == 200 and etree.fromstring(page.data).findtext("entity_reference") == reference


def test_class_control_characters_csv_exports_carry_them(client, people):
    """Issue 13, class 7: no CSV export fails on a control character (or on U+FFFE): each is
    written as it is, quoted where it must be, and read back the same."""
    from portal.audit import trail
    from portal.csv_export import csv_text

    cells = [NOT_XML, "=" + NOT_XML, "line\r\nbreak, \"quoted\"", "\x00"]
    assert list(csv.reader(io.StringIO(csv_text(["a", "b", "c", "d"], [cells]))))[1] == \
        [NOT_XML, "'=" + NOT_XML, "line\r\nbreak, \"quoted\"", "\x00"]
    trail.record("submission.read", "submission", "SAR-2026-000001", "harbour-bank", reason="Why" + STORABLE)
    db.session.commit()
    sign_in(client, people["auditor"])
    export = client.get("/audit/export.csv")
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert "Why" + STORABLE in [row["reason"] for row in rows]


def test_goaml_refuses_a_report_without_parties(client, people):
    body = {**EXAMPLE, "transactions": [], "subjects": [{"id": "c1", "kind": "container", "number": "CSQU3054383"}]}
    reference = _submit(client, people["submitter"], body).get_json()["reference"]
    response = client.get(f"/api/v1/submissions/{reference}/goaml", headers=bearer(people["analyst"]))
    assert response.status_code == 409 and "goAML" in response.get_json()["error"]["message"]


# --- The composer and the receipt ----------------------------------------------------------------

def test_composer_saves_drafts_lists_every_problem_then_submits_with_a_receipt(client, people):
    sign_in(client, people["submitter"])
    token = _form(client, "/submissions/new")
    response = client.post("/submissions/new", data={"csrf_token": token})
    assert response.status_code == 302
    draft = response.headers["Location"].split("#")[0]
    # add a person, then an account (each press saves the draft)
    client.post(draft, data={"csrf_token": token, "subject_count": 0, "transaction_count": 0,
                             "narrative": "Cash deposits just under the threshold.", "action": "add-subject:person"})
    client.post(draft, data={"csrf_token": token, "subject_count": 1, "subjects-0-kind": "person",
                             "subjects-0-id": "s1", "subjects-0-names": "Sione Taufa",
                             "subjects-0-date_of_birth": "1987-03-14", "subjects-0-documents": "passport T1234567 TO",
                             "narrative": "Cash deposits just under the threshold.", "action": "add-subject:account"})
    html = client.get(draft).get_data(as_text=True)
    assert "Sione Taufa" in html and "passport T1234567 TO" in html and 'name="subjects-1-kind" value="account"' in html
    # the background save keeps what is typed
    client.post(draft + "/autosave", data={"csrf_token": token, "subject_count": 0, "transaction_count": 0,
                                           "narrative": "Typed, not yet saved by a button."})
    assert "Typed, not yet saved by a button." in client.get(draft).get_data(as_text=True)
    fields = {"csrf_token": token, "subject_count": 2, "transaction_count": 1,
              "subjects-0-kind": "person", "subjects-0-id": "s1", "subjects-0-names": "Sione Taufa",
              "subjects-0-date_of_birth": "14/03/1987", "subjects-1-kind": "account", "subjects-1-id": "s2",
              "subjects-1-number": "12-3456-7890123-00", "transactions-0-date": "2026-10-01",
              "transactions-0-amount": "-9", "transactions-0-currency": "NZD", "transactions-0-from": "s2",
              "transactions-0-method": "cash", "narrative": "Cash deposits just under the threshold.",
              "classification": "IN-CONFIDENCE", "action": "submit"}
    refused = client.post(draft, data=fields)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Please fix the following" in page
    for problem in ("Receiving agency", "Typologies", "Subject 1: date of birth", "Transaction 1: amount"):
        assert problem in page, problem
    assert 'href="#subjects-0-date_of_birth"' in page and 'id="subjects-0-date_of_birth"' in page
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0
    fields.update({"recipient_org": "nz-fiu", "typologies": "money-laundering",
                   "subjects-0-date_of_birth": "1987-03-14", "transactions-0-amount": "9500"})
    done = client.post(draft, data=fields)
    assert done.status_code == 302 and "/receipt" in done.headers["Location"]
    receipt = client.get(done.headers["Location"]).get_data(as_text=True)
    row = db.session.scalar(select(Submission))
    assert row.reference in receipt and row.content_hash in receipt
    assert client.get(draft).status_code == 404  # the draft became the report
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.event == "submission.receipt"))
    assert message is not None and message.data["recipient_ids"] == [people["submitter"].id]


def test_composer_relates_subjects_to_each_other_and_to_transactions(client, people, schema):
    sign_in(client, people["submitter"])
    token = _form(client, "/submissions/new")
    draft = client.post("/submissions/new", data={"csrf_token": token}).headers["Location"].split("#")[0]
    fields = {"csrf_token": token, "subject_count": 3, "transaction_count": 1, "relation_count": 0,
              "recipient_org": "nz-fiu", "typologies": "money-laundering", "classification": "IN-CONFIDENCE",
              "narrative": "Cash deposits just under the threshold.",
              "subjects-0-kind": "person", "subjects-0-id": "p1", "subjects-0-names": "Sione Taufa",
              "subjects-1-kind": "account", "subjects-1-id": "a1", "subjects-1-number": "12-3456-7890123-00",
              "subjects-2-kind": "person", "subjects-2-id": "p2", "subjects-2-names": "Mele Vea",
              "transactions-0-date": "2026-10-01", "transactions-0-amount": "9500", "transactions-0-currency": "NZD",
              "transactions-0-from": "a1", "transactions-0-method": "cash", "action": "add-relation"}
    added = client.post(draft, data=fields)
    assert added.status_code == 302 and added.headers["Location"].endswith("?focus=relation-0")  # the new fieldset gets the focus
    html = client.get(draft).get_data(as_text=True)
    assert 'name="relations-0-role"' in html and '<option value="#1">' in html
    fields.update({"relation_count": 2, "relations-0-subject": "p1", "relations-0-role": "conductor",
                   "relations-0-to": "#1", "relations-1-subject": "p2", "relations-1-role": "signatory",
                   "relations-1-to": "p2", "action": "submit"})
    refused = client.post(draft, data=fields)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Relation 2: to" in page and "cannot be related to itself" in page and 'href="#relations-1-to"' in page
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0
    html = client.get(draft).get_data(as_text=True)  # what was chosen is kept in the draft
    assert '<option value="#1" selected>' in html
    fields["relations-1-to"] = "a1"
    done = client.post(draft, data=fields)
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    row = db.session.scalar(select(Submission))
    assert row.content["relations"] == [{"subject": "p1", "role": "conductor", "transaction": 0},
                                        {"subject": "p2", "role": "signatory", "to": "a1"}]
    sign_out(client)
    sign_in(client, people["analyst"])
    assert "conductor" in client.get(f"/submissions/{row.reference}").get_data(as_text=True)
    document = etree.fromstring(client.get(f"/submissions/{row.reference}/goaml").data)
    schema.assertValid(document)
    assert document.findtext("transaction/t_from/t_conductor/last_name") == "Taufa"
    assert document.findtext("transaction/t_from/from_account/signatory/t_person/last_name") == "Vea"


def test_drafts_are_their_authors_alone(client, people, world):
    colleague = world.user("colleague@harbour.example", people["bank"], ("submitter",))
    sign_in(client, people["submitter"])
    token = _form(client, "/submissions/new")
    draft = client.post("/submissions/new", data={"csrf_token": token}).headers["Location"]
    sign_out(client)
    other = client.application.test_client()
    sign_in(other, colleague)
    assert other.get(draft).status_code == 404
    viewer = client.application.test_client()
    sign_in(viewer, people["bank_viewer"])
    assert viewer.get("/submissions/new").status_code == 404


def test_receipt_and_feedback_emails_carry_reference_and_hash_but_no_content(client, people):
    from portal.notifications import delivery as engine

    sink = SmtpSink(SMTP_PORT).start()
    try:
        created = _submit(client, people["submitter"]).get_json()
        engine.dispatch()
        engine.deliver_email()
        receipt = sink.to("risk@harbour.example")
        assert len(receipt) == 1
        text = receipt[0].get_body(("plain",)).get_content()
        assert created["reference"] in text and created["content_hash"] in text
        assert "Sione" not in text and "Free text" not in text
        alert = sink.to("analyst@fiu.example")
        assert len(alert) == 1 and created["reference"] in alert[0].get_body(("plain",)).get_content()
        told = {m["To"] for m in sink.messages}
        assert told == {"risk@harbour.example", "analyst@fiu.example", "second@fiu.example"}, told
    finally:
        sink.stop()


def test_queue_page_costs_the_same_queries_for_2_and_12_reports(client, people):
    from tests.test_bulletin_pages import counting_queries

    sign_in(client, people["analyst"])
    counts = []
    for total in (2, 12):
        while db.session.scalar(select(func.count()).select_from(Submission)) < total:
            _submit(client, people["submitter"])
        row = db.session.scalar(select(Submission).order_by(Submission.id.desc()))
        row.assigned_to_id = people["analyst2"].id
        db.session.commit()
        with counting_queries() as counter:
            assert client.get("/submissions").status_code == 200
        counts.append(counter["n"])
    assert counts[0] == counts[1], counts


def test_composer_survives_tampered_counts(client, people):
    sign_in(client, people["submitter"])
    token = _form(client, "/submissions/new")
    draft = client.post("/submissions/new", data={"csrf_token": token}).headers["Location"]
    for count in ("lots", "-5", "100000000"):
        response = client.post(draft, data={"csrf_token": token, "subject_count": count, "transaction_count": count,
                                            "action": "save"})
        assert response.status_code == 302


def test_search_finds_only_what_the_reader_may_read(client, people):
    body = {**EXAMPLE, "narrative": "Kava ceremony funds moved through 100% cash_only accounts."}
    reference = _submit(client, people["submitter"], body).get_json()["reference"]
    for user, expected in ((people["analyst"], [reference]), (people["submitter"], [reference]),
                           (people["other_submitter"], []), (people["customs_analyst"], [])):
        for query in ("kava ceremony", "100% cash_only", reference):
            found = client.get("/api/v1/submissions", query_string={"q": query}, headers=bearer(user)).get_json()
            assert [s["reference"] for s in found["items"]] == expected, (user.email, query)
    assert client.get("/api/v1/submissions", query_string={"q": "100%_"},
                      headers=bearer(people["analyst"])).get_json()["items"] == []
    sign_in(client, people["other_submitter"])
    assert reference not in client.get("/submissions?q=kava").get_data(as_text=True)


@pytest.mark.parametrize("extra_settings", [{"json_max_bytes": 4096}])
def test_a_draft_beyond_the_configured_room_is_refused(app, people):
    """A saved draft holds at most Settings.submission_draft_max_bytes (twice PORTAL_JSON_MAX_BYTES)."""
    with app.test_request_context():
        submitter = people["submitter"]
        with pytest.raises(Invalid) as refused:
            service.save_draft(submitter, {"narrative": "x" * 8300})
        assert list(refused.value.fields) == ["draft"]
        assert service.save_draft(submitter, {"narrative": "x" * 8000}).id is not None
        assert db.session.scalar(select(func.count()).select_from(SubmissionDraft)) == 1
