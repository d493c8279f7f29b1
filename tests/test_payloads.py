"""One declaration per payload: the models of ``portal/payloads.py`` and each feature's
``schemas.py`` check the API and the pages alike, key their errors as CONTRACT.md says, and write the
OpenAPI document; the pages' error summaries come from one macro that links to each field."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.api.openapi import api_operations
from portal.api.scopes import FAMILY_ATTRIBUTE, OPEN_ENDPOINTS, scope_needed
from portal.bulletins.models import Bulletin, BulletinAudience, BulletinFeedback
from portal.extensions import db
from portal.payloads import check, field_key, from_data
from portal.problems import Invalid
from portal.rfis.models import InformationRequest
from portal.submissions.schemas import SubmissionInput
from portal.types import utcnow
from portal.vocabulary import Classification
from tests.conftest import bearer, csrf_from, sign_in

SUBMISSION = {"recipient_org": "nz-fiu", "classification": "IN-CONFIDENCE", "typologies": ["money-laundering"],
              "narrative": "Cash deposits.", "subjects": [{"id": "p1", "kind": "person", "names": ["Sione Taufa"]}]}


@pytest.mark.parametrize("loc, key", [
    (("subjects", 0, "date_of_birth"), "subjects[0].date_of_birth"),
    (("subjects", 2, "person", "documents", 1, "number"), "subjects[2].documents[1].number"),
    (("person", "names"), "person.names"),
    (("typologies", "list[constrained-str]", 3), "typologies[3]"),
    (("typologies", "str"), "typologies"),
    ((), "body"),
])
def test_pydantic_locations_become_contract_keys(loc, key):
    assert field_key(loc) == key


def test_relation_roles_are_declared_as_the_report_checks_them():
    from portal.submissions.schemas import RELATION_ROLE_NAMES
    from portal.submissions.validation import RELATION_ROLES

    assert RELATION_ROLE_NAMES == tuple(RELATION_ROLES)


def test_json_is_checked_strictly_and_every_problem_is_keyed_at_once(app):
    body = {**SUBMISSION, "narrative": 5, "subjects": [
        {"kind": "person", "date_of_birth": 19870314}, {"kind": "starship"}, {"kind": "entity"}]}
    with pytest.raises(Invalid) as refused:
        from_data(SubmissionInput, body)
    fields = refused.value.fields
    assert set(fields) == {"narrative", "subjects[0].date_of_birth", "subjects[1].kind", "subjects[2].name"}, fields
    assert fields["narrative"] == ["Give text."]
    assert fields["subjects[2].name"] == ["This is required."]
    assert "person" in fields["subjects[1].kind"][0] and "email" in fields["subjects[1].kind"][0]
    # A page's form sends text: the same model takes it laxly, but still not a number where text goes.
    assert check(SubmissionInput, {**SUBMISSION, "typologies": "money-laundering"}).typologies == "money-laundering"


@pytest.fixture
def people(world):
    customs = world.org("nz-customs", "government", "customs", name="NZ Customs")
    police = world.org("nz-police", "government", "police", name="NZ Police")
    bank = world.org("harbour-bank", name="Harbour Bank")
    analyst = world.user("analyst@customs.example", customs, ("analyst",), clearance="RESTRICTED")
    world.user("analyst@police.example", police, ("analyst",), clearance="RESTRICTED")
    risk = world.user("ben@harbour.example", bank, ("viewer", "submitter"))
    bulletin = Bulletin(author_org=customs, title="Reefer weights", classification=Classification.UNCLASSIFIED,
                        tlp="GREEN", status="published", published_at=utcnow())
    bulletin.audience.append(BulletinAudience(kind="org", value="harbour-bank"))
    db.session.add(bulletin)
    db.session.commit()
    return {"analyst": analyst, "risk": risk, "bulletin": bulletin}


def test_the_api_and_the_page_refuse_a_payload_in_the_same_words(client, people):
    bulletin = people["bulletin"]
    api = client.post(f"/api/v1/bulletins/{bulletin.id}/feedback", json={"rating": "brilliant"},
                      headers=bearer(people["risk"]))
    assert api.status_code == 400
    words = api.get_json()["error"]["fields"]["rating"]
    assert words == ["Choose one of: useful, actioned, not-relevant."]
    sign_in(client, people["risk"])
    token = csrf_from(client.get(f"/bulletins/{bulletin.id}").get_data(as_text=True))
    page = client.post(f"/bulletins/{bulletin.id}/feedback", data={"csrf_token": token, "rating": "brilliant", "confirmed": "yes"},
                       follow_redirects=True).get_data(as_text=True)
    assert words[0] in page
    assert db.session.scalar(select(func.count()).select_from(BulletinFeedback)) == 0
    # The page's form is still protected against cross-site requests.
    assert client.post(f"/bulletins/{bulletin.id}/feedback", data={"rating": "useful", "confirmed": "yes"}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(BulletinFeedback)) == 0


def test_the_error_summary_names_fields_by_their_labels_and_links_to_them(client, people):
    sign_in(client, people["analyst"])
    token = csrf_from(client.get("/requests/new").get_data(as_text=True))
    refused = client.post("/requests/new", data={"csrf_token": token, "holder_org": "nz-police", "subject": "x",
                                                 "due": "2020-01-01"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    summary = page[page.index('class="error-summary"'):page.index("</div>", page.index('class="error-summary"'))]
    links = dict(re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', summary))
    assert links == {"legal_basis": "Legal basis", "grounds": "Your reasonable grounds", "due": "Needed by"}, summary
    for field_id in links:
        assert f'id="{field_id}"' in page  # each link lands on its field
    items = re.findall(r"<li>(.*?)</li>", summary)
    assert len(items) == 3 and all(item.startswith('<a href="#') for item in items), items  # no raw keys
    assert "State the legal basis for the request" in summary
    assert db.session.scalar(select(func.count()).select_from(InformationRequest)) == 0


def test_every_api_route_is_declared_and_its_scope_documented(app, client, people):
    operations = api_operations(app)
    assert len(operations) >= 30
    document = client.get("/api/v1/openapi.json", headers=bearer(people["risk"])).get_json()
    for path, method, endpoint, view, _op in operations:
        entry = document["paths"][path][method]
        assert entry["operationId"] == endpoint.removeprefix("api.")
        assert "401" in entry["responses"]
        family = getattr(view, FAMILY_ATTRIBUTE, None)
        if endpoint in OPEN_ENDPOINTS:
            assert family is None and "security" not in entry
            continue
        scope = scope_needed(family, method)
        assert entry["security"] == [{"bearer": [scope]}] and "403" in entry["responses"], (path, method)
        if "{" in path:
            assert "404" in entry["responses"]
        if "requestBody" in entry:
            assert {"400", "413", "415"} <= set(entry["responses"]), (path, method)
    create = document["paths"]["/submissions"]["post"]
    assert create["responses"]["201"]["links"]["get_submission"] == {
        "operationId": "get_submission", "parameters": {"reference": "$response.body#/reference"}}
    assert document["components"]["schemas"]["SubmissionInput"]["required"] == [
        "classification", "typologies", "narrative"]
