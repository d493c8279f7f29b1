"""The served OpenAPI document holds: Schemathesis runs every operation of ``/api/v1/openapi.json``
through its engine (examples, coverage, fuzzing, and stateful sequences that follow the document's
links from each create operation to the reads and acts on what it created), with the tokens of
three roles, and every check named below must find nothing.

What the test configures rather than drops:
- ``object_level_authorization``: only the bank's risk officer and the Pacific receiver are *peers*
  (identities that must never read each other's objects). The agency publisher is not one: it
  shares bulletins with the bank and deportee notifications with the Pacific receiver by design.
- ``positive_data_acceptance``: an answer 403 (this role may not), 409 (the thing's state forbids
  it, e.g. acknowledging one's own bulletin) or 401 (no identity is admitted to it, and Schemathesis
  tries it without credentials last) is an accepted request; and the domain rules no JSON
  Schema can state — a row that must exist (an agency, an audience), check digits, a report's
  transactions naming its own subjects, dates not in the future — are met by :func:`repair`, which
  fills those values into Schemathesis's valid cases, so that valid cases reach each operation's logic.
"""
from __future__ import annotations

import json
import random
import threading
from collections import Counter
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from werkzeug.serving import make_server

from portal.bulletins.models import Bulletin, BulletinAudience
from portal.extensions import db
from portal.types import utcnow
from portal.vocabulary import Classification
from tests.conftest import bearer

#: The checks this test runs, by their Schemathesis names. ``allow_header_on_405`` is ours (below).
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "positive_data_acceptance", "negative_data_rejection",
          "unsupported_method", "missing_required_header", "ignored_auth", "use_after_free",
          "ensure_resource_availability", "object_level_authorization", "allow_header_on_405")
#: Cases per operation and phase: enough to reach every operation's logic and its refusals, few
#: enough that a run stays well under a minute per database.
MAX_EXAMPLES = 5


@schemathesis.check
def allow_header_on_405(ctx: Any, response: Any, case: Any) -> bool | None:
    """RFC 9110: a 405 names the methods that would work."""
    if response.status_code == 405 and not response.headers.get("allow"):
        raise AssertionError(f"405 without an Allow header for {case.method} {case.path}")
    return None


@pytest.fixture
def extra_settings():
    return {"deportee_routes": {"WS": ["ws-police"]}}


@pytest.fixture
def identities(world):
    customs = world.org("nz-customs", "government", "customs")
    world.org("nz-fiu", "government", "fiu")
    bank = world.org("harbour-bank", "private", "banking")
    samoa = world.org("ws-police", "pacific", "police", "WS")
    # An agency's publisher who also analyses the reports addressed to the agency.
    publisher = world.user("aroha@customs.example", customs, ("publisher", "analyst"), clearance="RESTRICTED")
    reviewer = world.user("wiremu@customs.example", customs, ("publisher",), clearance="RESTRICTED")
    risk = world.user("ben@harbour.example", bank, ("submitter", "viewer"), clearance="IN-CONFIDENCE")
    receiver = world.user("malia@police.ws.example", samoa, ("viewer", "org-admin"), clearance="SENSITIVE")
    bulletin = Bulletin(author_org=customs, title="Reefer weights", classification=Classification.UNCLASSIFIED,
                        tlp="GREEN", status="published", published_at=utcnow())
    bulletin.audience.append(BulletinAudience(kind="org", value="harbour-bank"))
    db.session.add(bulletin)
    db.session.commit()
    # Document order is the order Schemathesis tries them in for each operation, settling on the
    # first that the operation admits: the publisher reads most, a second publisher of the agency
    # approves, the Pacific receiver acknowledges, the bank's risk officer submits reports.
    return {"publisher": bearer(publisher), "reviewer": bearer(reviewer), "pacific": bearer(receiver),
            "bank": bearer(risk)}


# --- Valid cases that reach the operations' logic ----------------------------------------------

PERSON = {"id": "p1", "kind": "person", "names": ["Sione Taufa"], "date_of_birth": "1987-03-14", "nationality": "TO",
          "documents": [{"type": "passport", "number": "T1234567", "country": "TO"}]}
ACCOUNT = {"id": "a1", "kind": "account", "institution": "Harbour Bank", "number": "12-3456-7890123-00"}
ENTITY = {"id": "e1", "kind": "entity", "name": "Blue Reef Trading Ltd", "registration_number": "6543210",
          "country": "NZ"}
TRANSACTION = {"date": "2026-10-01", "amount": "9500.00", "currency": "NZD", "from": "a1", "to": "e1",
               "method": "cash"}
PERSON_NOTIFIED = {"names": ["Tavita Faleolo"], "date_of_birth": "1990-05-01", "sex": "M", "nationality": "WS",
                   "documents": [{"type": "passport", "number": "LA123456", "country": "WS"}]}
REMOVAL = {"flight": "NZ990", "arrival_airport": "APW", "arrival_at": "2026-12-20T06:30:00Z"}


def _typologies(value: Any) -> list[str]:
    return ["money-laundering"] if not value or isinstance(value, str) else ["money-laundering", "drug-importation"][
        :len(value)]


def repair(operation_id: str, body: Any) -> Any:
    """A valid case's body with the domain's values where no JSON Schema can say what they are;
    every other generated value (free text, flags, choices) is kept."""
    if not isinstance(body, dict):
        return body
    body = dict(body)
    if operation_id in ("create_bulletin", "amend_bulletin"):
        body.update(audience={"orgs": ["harbour-bank", "ws-police"]}, indicators=[])
        if "typologies" in body:
            body["typologies"] = [t for t in _typologies(body["typologies"]) if t != "money-laundering"] or []
        body.pop("expires_at", None)
        if body.get("tlp") == "RED":
            body["tlp"] = "AMBER"
        for name in ("title",):
            if name in body and not str(body[name]).strip():
                body[name] = "Reefer weights"
        if operation_id == "amend_bulletin" and not str(body.get("change_note", "")).strip():
            body["change_note"] = "Clarified"
    elif operation_id == "create_submission":
        body.update(recipient_org="nz-customs", subjects=[PERSON, ACCOUNT, ENTITY], transactions=[TRANSACTION],
                    typologies=_typologies(body.get("typologies")), attachments=[], relations=[])
        body.pop("follows", None)
        if body.get("classification") in ("SENSITIVE", "RESTRICTED"):
            body["classification"] = "IN-CONFIDENCE"
        if not str(body.get("narrative", "")).strip():
            body["narrative"] = "Cash deposits below the threshold."
    elif operation_id == "create_deportee_notification":
        body.update(destination_country="WS", person=PERSON_NOTIFIED, removal=REMOVAL)
        if not str(body.get("legal_basis", "")).strip():
            body["legal_basis"] = "Memorandum of understanding"
        for name in ("offences", "sentences"):
            if isinstance(body.get(name), str) and not body[name].strip():
                body.pop(name)
    elif operation_id == "import_misp_event":
        event = body.get("Event") if isinstance(body.get("Event"), dict) else {}
        body = {"Event": {"info": str(event.get("info") or "Imported"), "Attribute": []}}
    elif operation_id == "report_sighting":
        body.update(seen_at="2026-01-02T03:04:05Z")
        body.pop("indicator", None)
    elif operation_id in ("withdraw_bulletin", "ask_question", "answer_question"):
        for name in ("reason", "body"):
            if name in body and not str(body[name]).strip():
                body[name] = "Because"
    return body


def _write_identities(path, identities: dict[str, dict[str, str]]) -> None:
    path.write_text(json.dumps({"auth": [
        {"name": name, "fixedHeaders": [{"name": "Authorization", "value": headers["Authorization"]}]}
        for name, headers in identities.items()]}))


def test_every_operation_conforms_to_the_served_document_for_every_role(app, identities, tmp_path):
    """Zero failures of any named check, over every operation, phase and role."""
    _write_identities(tmp_path / "identities.json", identities)
    # Stricter than Schemathesis's default (no 3xx, 429 or 5xx). 401: when no identity is admitted
    # to an operation on a given object (a recipient acting on a draft it cannot see), Schemathesis
    # tries it last without credentials; ignored_auth checks separately that credentials are needed.
    accepted = ["2xx", "401", "403", "404", "409"]
    config = SchemathesisConfig.from_dict({
        "workers": 1,
        # Schemathesis keeps what it learns during the run (e.g. which identity each operation admits)
        # in its cache: a fresh one per run, outside the work tree.
        "cache": {"directory": str(tmp_path / "schemathesis")},
        "auth": {"wfc": {"path": str(tmp_path / "identities.json"), "peers": ["bank", "pacific"]}},
        # Text the portal can store: UTF-8 without NUL (the server refuses anything else, by design).
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none", "codec": "utf-8",
                       "allow-x00": False},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
                   "stateful": {"enabled": True, "max-steps": 10}},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS},
                   "positive_data_acceptance": {"enabled": True, "expected-statuses": accepted}},
        "operations": [
            # A bulletin reaches its recipients once published (a draft or one pending review is its
            # author's alone), and a deportee notification only its receiving organisations: a
            # recipient's 404 for what another identity has just created is the access policy.
            {"include-operation-id": ["acknowledge_bulletin", "bulletin_feedback", "ask_question", "report_sighting",
                                      "acknowledge_deportee_notification", "update_deportee_notification"],
             "checks": {"ensure_resource_availability": {"enabled": False}}},
            # A multipart body is read for its part named "file" and nothing else: other parts, whatever
            # Schemathesis puts in them, are ignored rather than refused.
            {"include-operation-id": "upload_attachment", "checks": {"negative_data_rejection": {"enabled": False}}},
        ],
    })
    # Served over HTTP on the loopback address, as a real server runs it: each request in its own
    # context, and Schemathesis's ordinary transport.
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _run(config, f"http://127.0.0.1:{server.server_port}", identities)
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _run(config: SchemathesisConfig, base_url: str, identities: dict[str, dict[str, str]]) -> None:
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json", config=config,
                                           headers=identities["publisher"])
    schema.config.update(base_url=f"{base_url}/api/v1")

    @schema.hook
    def map_case(context: Any, case: Any) -> Any:
        meta = case.meta
        if meta is not None and meta.generation.mode.is_positive:
            if case.body is not None:
                case.body = repair(case.operation.definition.raw.get("operationId", ""), case.body)
            if case.query and "cursor" in case.query:  # a cursor is one this API gave out
                case.query.pop("cursor")
            period = (case.query or {}).get("period") or ""
            if period.startswith("FY") and period[2:6].isdigit() and period[7:9] != f"{int(period[2:6]) + 1:04d}"[-2:]:
                case.query["period"] = "FY2026/27"  # a financial year runs into the next year
            for name in ("since", "until"):  # the portal keeps dates of the years 1800 to 2999
                if case.query and case.query.get(name):
                    case.query[name] = "2026-01-02T03:04:05Z"
        return case

    operations = {op.ok().label for op in schema.get_all_operations()}
    random.seed(0)
    failures: dict[str, str] = {}
    statuses: Counter[str] = Counter()
    for event in from_schema(schema).execute():
        if isinstance(event, events.PhaseFinished):
            print(f"phase {event.phase.name}: {event.status}")
        if isinstance(event, events.ScenarioFinished):
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.status == Status.FAILURE:
                        interaction = event.recorder.interactions.get(case_id)
                        request = interaction.request if interaction else None
                        failure = check.failure_info.failure if check.failure_info else None
                        key = f"{event.label} {check.name}: {failure.title if failure else ''}"
                        answer = interaction.response if interaction else None
                        failures.setdefault(key, f"{failure.message[:300] if failure else ''} -- "
                                                 f"{answer.status_code if answer else ''} "
                                                 f"{(answer.content or b'')[:200] if answer else ''} -- "
                                                 f"{request.method if request else ''} {request.uri if request else ''} "
                                                 f"{(request.body or b'')[:300] if request else ''}")
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    statuses[f"{event.label} {interaction.response.status_code}"] += 1
        elif isinstance(event, (events.FatalError, events.NonFatalError)):
            info = getattr(event, "info", event)
            failures.setdefault(f"error: {getattr(event, 'label', '')} {str(info)[:200]}",
                                getattr(info, "traceback", "")[-1500:] if hasattr(info, "traceback") else "")
    reached = {label for label in operations if any(key.startswith(label + " 2") for key in statuses)}
    print(f"operations: {len(operations)}, reached with a 2xx: {len(reached)}")
    assert not failures, "\n".join(f"{key}\n    {example}" for key, example in sorted(failures.items()))
    assert len(operations) >= 30
    # Valid data got through to the operations' logic: every operation answered 2xx at least once.
    assert operations == reached, sorted(operations - reached)
