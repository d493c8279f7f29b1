"""Issue 13, class 8: no server error on bad input.

Bad input is refused where requests are parsed — URL converters (``portal/converters.py``), cursor
and limit parsing (``portal/api/pagination.py``), date parsing (``portal/dates.py``) and the JSON
body reader (``portal/api/formats.py``) — with a 4xx in docs/contract.md's error shape. The hand-written
cases are the review's examples; the property-based test lets Schemathesis try the served OpenAPI
document's operations with generated input.
"""
from __future__ import annotations

import base64
import contextvars
import copy
import json
from collections import Counter
from typing import Any, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlalchemy import func, select

from portal.bulletins.models import Bulletin, BulletinAudience
from portal.deportees.models import DeporteeNotification
from portal.extensions import db
from portal.submissions.models import Submission
from portal.types import utcnow
from portal.vocabulary import Classification, Role
from tests.conftest import bearer, sign_in

BULLETIN = {"title": "Methamphetamine in frozen fish", "summary": "Check reefer weights.",
            "body_html": "<p>Seal numbers altered.</p>", "classification": "IN-CONFIDENCE", "tlp": "GREEN",
            "audience": {"orgs": ["harbour-bank"], "sectors": ["ports"]},
            "indicators": [{"type": "container", "value": "CSQU3054383"}], "typologies": ["drug-importation"],
            "expires_at": "2030-01-01", "publish": True}
SUBMISSION = {
    "recipient_org": "nz-fiu", "classification": "IN-CONFIDENCE", "typologies": ["money-laundering"],
    "narrative": "Free text: what was seen and why it is suspicious.",
    "subjects": [
        {"id": "p1", "kind": "person", "names": ["Sione Taufa"], "date_of_birth": "1987-03-14", "nationality": "TO",
         "documents": [{"type": "passport", "number": "T1234567", "country": "TO"}]},
        {"id": "a1", "kind": "account", "institution": "Harbour Bank", "number": "12-3456-7890123-00"},
        {"id": "e1", "kind": "entity", "name": "Blue Reef Trading Ltd", "registration_number": "6543210",
         "country": "NZ"},
    ],
    "transactions": [{"date": "2026-10-01", "amount": "9500.00", "currency": "NZD", "from": "a1", "to": "e1",
                      "method": "cash"}],
}
NOTIFICATION = {
    "destination_country": "WS", "classification": "SENSITIVE",
    "person": {"names": ["Tavita Faleolo"], "date_of_birth": "1990-05-01", "sex": "M", "nationality": "WS",
               "documents": [{"type": "passport", "number": "LA123456", "country": "WS"}]},
    "removal": {"flight": "NZ990", "arrival_airport": "APW", "arrival_at": "2026-12-20T06:30:00Z"},
    "offending_summary": "o", "risk_notes": "r", "reintegration_needs": "n", "legal_basis": "MoU",
}
HUGE_IDS = (str(2**31), str(2**63), str(2**64 + 1), "9" * 40, "\u0663", "1\u00b2", "-1", "0x10")


@pytest.fixture
def extra_settings():
    return {"deportee_routes": {"WS": ["ws-police"]}}


@pytest.fixture
def people(world):
    customs = world.org("nz-customs", "government", "customs")
    corrections = world.org("nz-corrections", "government", "corrections")
    world.org("nz-fiu", "government", "fiu")
    world.org("port-tamaki", "private", "ports")
    bank = world.org("harbour-bank", "private", "banking")
    world.org("ws-police", "pacific", "police", "WS")
    users = {
        "publisher": world.user("aroha@customs.example", customs, ("publisher",), clearance="RESTRICTED"),
        "submitter": world.user("ben@harbour.example", bank, ("submitter", "viewer"), clearance="SENSITIVE"),
        "issuer": world.user("ruth@corrections.example", corrections, ("publisher",), clearance="RESTRICTED"),
    }
    bulletin = Bulletin(author_org=customs, title="B", classification=Classification.UNCLASSIFIED, tlp="GREEN",
                        status="published", published_at=utcnow())
    bulletin.audience.append(BulletinAudience(kind="org", value="harbour-bank"))
    db.session.add(bulletin)
    db.session.commit()
    return {name: (user, bearer(user)) for name, user in users.items()} | {"bulletin": bulletin}


def assert_refused(response: Any, *context: Any) -> dict[str, Any]:
    """A 4xx (never 5xx) in docs/contract.md's error shape."""
    assert 400 <= response.status_code < 500, (context, response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert body is not None and set(body) == {"error"}, (context, response.get_data(as_text=True)[:300])
    error = body["error"]
    assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str), (context, error)
    assert isinstance(error.get("fields", {}), dict), (context, error)
    return error


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_class_no_server_error_on_bad_input_huge_and_malformed_ids_are_404(client, people):
    headers = people["submitter"][1]
    bulletin = people["bulletin"].id
    for bad in HUGE_IDS:
        for path in (f"/api/v1/bulletins/{bad}", f"/api/v1/bulletins/{bad}/questions",
                     f"/api/v1/bulletins/{bulletin}/attachments/{bad}", f"/api/v1/deportee-notifications/{bad}",
                     f"/api/v1/bulletins/{bulletin}/questions/{bad}/messages"):
            for method in ("GET", "POST"):
                response = client.open(path, method=method, json={"body": "x"}, headers=headers)
                if response.status_code == 405:
                    continue
                assert response.status_code == 404, (method, path, response.status_code)
                assert_refused(response, method, path)
    for path in ("/api/v1/submissions/%00", "/api/v1/submissions/SAR%00x/goaml", "/api/v1/scorecards/%00",
                 "/api/v1/submissions/" + "x" * 5000):
        assert client.get(path, headers=headers).status_code == 404, path
    # Pages use the same converters.
    sign_in(client, people["submitter"][0])
    assert client.get(f"/bulletins/{2**64}").status_code == 404
    assert client.get("/submissions/%00").status_code == 404


def test_class_no_server_error_on_bad_input_cursors_and_limits(client, people):
    headers = people["submitter"][1]

    def cursor(value: Any) -> str:
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    cursors = [cursor({"before": 2**31}), cursor({"before": 2**70}), cursor({"before": True}), cursor({"before": 1.5}), cursor([1]),
               cursor(b"[" * 5000), cursor(b"\xff\xfe"), "\u00b2", "%00", "x" * 10_000, "====", "a.b"]
    limits = ["\u00b2", "\u0663", "1\u00b2", "-1", "0", "201", "9" * 50, "1e2", " 5", "%00", ""]
    for base in ("/api/v1/bulletins", "/api/v1/submissions", "/api/v1/deportee-notifications",
                 f"/api/v1/bulletins/{people['bulletin'].id}/questions"):
        for value in cursors:
            response = client.get(f"{base}?cursor={value}", headers=headers)
            if response.status_code != 200:  # a list without pages ignores the cursor
                assert response.status_code == 400 and "cursor" in assert_refused(response, base, value)["fields"]
        for value in limits:
            response = client.get(f"{base}?limit={value}", headers=headers)
            if response.status_code != 200:
                assert response.status_code == 400, (base, value)
                assert_refused(response, base, value)
    assert client.get("/api/v1/bulletins?limit=\u00b2", headers=headers).status_code == 400


ENDS_OF_THE_CALENDAR = ("0001-01-01", "0001-01-01T00:00:00+14:00", "9999-12-31", "9999-12-31T23:59:59",
                        "9999-12-31T23:59:59-14:00", "10000-01-01", "2026-02-30", "2026-13-01", "+002026-01-01",
                        "2026-01-01T24:00:00", "\u0662\u0660\u0662\u0666-01-01", "")


def test_class_no_server_error_on_bad_input_dates_at_the_ends_of_the_calendar(client, people):
    reader, publisher, submitter, issuer = (people["submitter"][1], people["publisher"][1], people["submitter"][1],
                                            people["issuer"][1])
    bulletin = people["bulletin"].id
    for value in ENDS_OF_THE_CALENDAR:
        for name in ("since", "until"):
            response = client.get("/api/v1/bulletins", query_string={name: value}, headers=reader)
            if response.status_code != 200:
                assert name in assert_refused(response, name, value)["fields"]
        if value:  # an empty expiry is "none"
            assert_refused(client.post("/api/v1/bulletins", json={**BULLETIN, "expires_at": value},
                                       headers=publisher), "expires_at", value)
        assert_refused(client.post(f"/api/v1/bulletins/{bulletin}/sightings", json={"seen_at": value},
                                   headers=reader), "seen_at", value)
        body = copy.deepcopy(SUBMISSION)
        body["transactions"][0]["date"] = value
        assert_refused(client.post("/api/v1/submissions", json=body, headers=submitter), "transaction", value)
        body = copy.deepcopy(SUBMISSION)
        body["subjects"][0]["date_of_birth"] = value
        if value:  # an empty date of birth is "not given"
            assert_refused(client.post("/api/v1/submissions", json=body, headers=submitter), "born", value)
        body = copy.deepcopy(NOTIFICATION)
        body["removal"]["arrival_at"] = value
        assert_refused(client.post("/api/v1/deportee-notifications", json=body, headers=issuer), "arrival", value)
        body = copy.deepcopy(NOTIFICATION)
        body["person"]["date_of_birth"] = value
        if value:
            assert_refused(client.post("/api/v1/deportee-notifications", json=body, headers=issuer), "born", value)
    assert _count(Submission) == _count(DeporteeNotification) == 0
    assert _count(Bulletin) == 1


def _leaves(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """The path of every field in a JSON document, containers included."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _leaves(child, path + (index,))


def _replaced(document: Any, path: tuple, value: Any) -> Any:
    copied = copy.deepcopy(document)
    target = copied
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copied


WRONG_TYPES = (None, True, 2**70, -1.5, "\u00b2", [], {"x": [1]})


@pytest.mark.parametrize("path, document, who", [
    ("/api/v1/bulletins", BULLETIN, "publisher"),
    ("/api/v1/submissions", SUBMISSION, "submitter"),
    ("/api/v1/deportee-notifications", NOTIFICATION, "issuer"),
])
def test_class_no_server_error_on_bad_input_wrong_json_types_in_any_field(client, people, path, document, who):
    headers = people[who][1]
    for field in _leaves(document):
        for wrong in WRONG_TYPES:
            response = client.post(path, json=_replaced(document, field, wrong), headers=headers)
            assert response.status_code < 500, (field, wrong, response.get_data(as_text=True)[:300])
            if response.status_code >= 400:
                assert_refused(response, field, wrong)


def test_class_no_server_error_on_bad_input_nested_and_non_object_json(client, people):
    headers = people["publisher"][1]
    nested: Any = "x"
    for _ in range(40):
        nested = {"a": nested}
    bodies = ["[" * 100_000, "[" * 100_000 + "]" * 100_000, "{\"a\":" * 50_000 + "1" + "}" * 50_000,
              json.dumps({**BULLETIN, "title": nested}), json.dumps({**BULLETIN, "typologies": [[[[[[[[[]]]]]]]]] * 9}),
              "[]", "\"text\"", "1", "null", "true", "", "{", "{\"title\": NaN}", "{\"title\": Infinity}",
              "{\"title\": 1e400}", json.dumps({**BULLETIN, "title": "a\u0000b"}),
              "{\"title\": \"\\ud800\"}", "{\"\\udc00\": 1}", json.dumps({**BULLETIN, "version": 2**70}),
              json.dumps({**BULLETIN, "audience": {"orgs": ["harbour-bank\u0000"]}}), "\xff\xfe{}"]
    for raw in bodies:
        data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
        response = client.post("/api/v1/bulletins", data=data, content_type="application/json", headers=headers)
        assert response.status_code == 400, (raw[:60], response.status_code, response.get_data(as_text=True)[:300])
        assert_refused(response, raw[:60])
    assert _count(Bulletin) == 1


def test_class_no_server_error_on_bad_input_malformed_urls_and_query_strings(client, people):
    headers = people["submitter"][1]
    for url in ("/api/v1/bulletins?q=%00", "/api/v1/bulletins?%00=1", "/api/v1/submissions?status=%00",
                "/api/v1/submissions?q=a%00b", "/api/v1/deportee-notifications?document=%00",
                "/api/v1/bulletins?since=%00", "/api/v1/scorecards/harbour-bank?period=%00",
                "/api/v1/bulletins?q=%ff%fe", "/api/v1/bulletins?q=%zz", "/api/v1/bulletins?q=" + "%" * 10,
                "/api/v1/bulletins?classification=%ff", "/api/v1/bulletins?tlp=%00", "/api/v1/%ff",
                "/api/v1/bulletins/%ff", "/api/v1/bulletins//1", "/api/v1/bulletins?q=" + "a" * 20_000,
                "/api/v1/scorecards/harbour-bank?period=9999-Q9", "/api/v1/audit/consistency?from=%00&to=1"):
        response = client.get(url, headers=headers)
        assert response.status_code < 500, (url, response.get_data(as_text=True)[:300])
        if response.status_code >= 400:
            assert_refused(response, url)
    assert client.get("/api/v1/bulletins?q=%00", headers=headers).status_code == 400


def test_class_no_server_error_on_bad_input_nul_in_html_form_fields_changes_nothing(client, people):
    """PostgreSQL cannot store NUL: a form field holding one is refused where forms are parsed, on
    every page (a bulletin, a profile), with a 400 page that says why, and nothing is saved."""
    from tests.conftest import csrf_from

    sign_in(client, people["publisher"][0])
    bulletins = _count(Bulletin)
    page = client.get("/bulletins/new").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "title": "Cash\x00couriers", "summary": "s", "body": "b",
            "classification": "IN-CONFIDENCE", "tlp": "GREEN", "orgs": "harbour-bank", "action": "draft"}
    refused = client.post("/bulletins/new", data=form)
    assert refused.status_code == 400, refused.get_data(as_text=True)[:300]
    assert "NUL character" in refused.get_data(as_text=True)
    assert _count(Bulletin) == bulletins
    # The name of a field, and a multipart form, are checked alike.
    named = client.post("/bulletins/new", data={**form, "title": "Cash couriers", "x\x00": "1"})
    assert named.status_code == 400
    multipart = client.post("/bulletins/new", data={**form}, content_type="multipart/form-data")
    assert multipart.status_code == 400
    assert _count(Bulletin) == bulletins
    page = client.get("/profile").get_data(as_text=True)
    profile = client.post("/profile", data={"csrf_token": csrf_from(page), "display_name": "A\x00",
                                            "locale": "en", "time_zone": "Pacific/Auckland"})
    assert profile.status_code == 400
    db.session.expire_all()
    assert people["publisher"][0].display_name != "A\x00"
    # Without the NUL the same form is accepted: the guard refuses the character, not the form.
    saved = client.post("/bulletins/new", data={**form, "title": "Cash couriers"})
    assert saved.status_code == 302
    assert _count(Bulletin) == bulletins + 1


def test_class_no_server_error_on_bad_input_405_carries_allow_and_the_error_shape(client, people):
    headers = people["submitter"][1]
    response = client.delete("/api/v1/bulletins", headers=headers)
    assert response.status_code == 405
    assert assert_refused(response)["code"] == "method-not-allowed"
    assert {m.strip() for m in response.headers["Allow"].split(",")} >= {"GET", "POST"}
    response = client.put(f"/api/v1/bulletins/{people['bulletin'].id}/acknowledge", headers=headers)
    assert response.status_code == 405 and response.headers["Allow"] and assert_refused(response)
    sign_in(client, people["submitter"][0])
    page = client.put("/bulletins")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]


# --- Property-based: Schemathesis over the served OpenAPI document --------------------------------

#: Generated cases per operation and mode (valid and invalid input): enough to find the kinds of
#: input that break parsing, few enough that all operations run in well under a minute per database.
SCHEMATHESIS_EXAMPLES = 15


def test_class_no_server_error_on_bad_input_schemathesis_finds_no_5xx_in_any_operation(app, people):
    """Every operation of the served OpenAPI document, loaded through the app's WSGI interface, with
    generated valid and invalid input and the token of a user who reaches most operations
    (publisher, submitter, analyst, org-admin, auditor): no answer is a 5xx.

    Driven by Hypothesis directly (``operation.as_strategy``): Schemathesis's own pytest plugin
    cannot yet run under this pytest."""
    user = people["publisher"][0]
    user.set_roles(user.roles | {Role.SUBMITTER, Role.ANALYST, Role.ORG_ADMIN, Role.AUDITOR})
    db.session.commit()
    headers = people["publisher"][1]
    # The JSON API's OpenAPI document only: /taxii2 follows the TAXII 2.1 specification instead and is
    # not in it (tests/test_taxii.py tests it, with the real taxii2-client).
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25, [op.label for op in operations]
    answers: Counter[int] = Counter()

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(max_examples=SCHEMATHESIS_EXAMPLES, deadline=None, database=None,
                                 derandomize=True, suppress_health_check=list(HealthCheck))
            def no_server_error(case: Any) -> None:
                # Each request in a fresh context, as a real server runs it (see tests.conftest.IsolatedClient).
                response = contextvars.Context().run(case.call, headers=headers)
                answers[response.status_code] += 1
                case.validate_response(response, checks=[not_a_server_error])

            try:
                no_server_error()
            except Exception as failure:
                failure.add_note(f"operation: {operation.label}, {mode.value} input")
                raise
    # The token worked: most answers are the operations' own (invalid input also mangles the
    # Authorization header, hence some 401s), and many requests got through to do their work.
    assert sum(n for status, n in answers.items() if 200 <= status < 300) > 50, answers
    assert answers[401] < sum(answers.values()) / 3, answers
    print(f"schemathesis answers: {sorted(answers.items())}")
