"""Search by indicator, however it is typed (issue 16, item 5): the lookup a port or a bank does
most. A container, an IMO number, an IBAN or NZ bank account, a phone number (E.164 with
libphonenumber), an e-mail address or a domain finds the bulletins and reports that name it —
through the normalised, indexed form, and only among what the reader may read."""
from __future__ import annotations

import copy

import pytest

from portal.bulletins.indicators import recognise
from tests.conftest import bearer, sign_in

BULLETIN = {"title": "Reefer containers with altered seals", "summary": "Check these.",
            "body_html": "<p>Seal numbers altered.</p>", "classification": "IN-CONFIDENCE", "tlp": "GREEN",
            "audience": {"orgs": ["harbour-bank"]}, "typologies": ["drug-importation"],
            "indicators": [{"type": "container", "value": "CSQU3054383"},
                           {"type": "vessel-imo", "value": "IMO 9074729"},
                           {"type": "phone", "value": "+64 21 555 0123"},
                           {"type": "bank-account", "value": "GB82WEST12345698765432"},
                           {"type": "bank-account", "value": "12-3456-7890123-00"},
                           {"type": "email", "value": "Broker@Harbour-Freight.example"},
                           {"type": "domain", "value": "harbour-freight.example"}],
            "publish": True}
#: Each indicator above, typed as a searcher would.
TYPED = ["csqu 305438-3", "CSQU-3054383", "9074729", "imo9074729", "021 555 0123", "0064 21 555 0123",
         "+64 (21) 555-0123", "gb82 west 1234 5698 7654 32", "12 3456 7890123 000", "broker@harbour-freight.example",
         "HARBOUR-FREIGHT.EXAMPLE"]
REPORT = {
    "recipient_org": "nz-fiu", "classification": "IN-CONFIDENCE", "typologies": ["money-laundering"],
    "narrative": "Cash deposits just under the threshold.",
    "subjects": [
        {"id": "p1", "kind": "person", "names": ["Sione Taufa"], "date_of_birth": "1987-03-14", "nationality": "TO",
         "documents": [{"type": "passport", "number": "T1234567", "country": "TO"}]},
        {"id": "a1", "kind": "account", "institution": "Harbour Bank", "number": "12-3456-7890123-00"},
        {"id": "t1", "kind": "phone", "number": "021 555 0123"},
    ],
    "transactions": [],
}


@pytest.fixture
def people(world):
    customs = world.org("nz-customs", "government", "customs")
    bank = world.org("harbour-bank", "private", "banking")
    other = world.org("kowhai-bank", "private", "banking")
    fiu = world.org("nz-fiu", "government", "fiu")
    return {
        "publisher": world.user("aroha@customs.example", customs, ("publisher",), clearance="RESTRICTED"),
        "bank": world.user("ben@harbour.example", bank, ("submitter", "viewer"), clearance="SENSITIVE"),
        "other": world.user("lucy@kowhai.example", other, ("submitter", "viewer"), clearance="SENSITIVE"),
        "analyst": world.user("nadia@fiu.example", fiu, ("analyst",), clearance="RESTRICTED"),
    }


def test_each_way_of_typing_an_indicator_is_recognised_as_one_value():
    assert recognise("csqu 305438-3") == recognise("CSQU3054383") == [("container", "CSQU3054383")]
    assert ("phone", "+64215550123") in recognise("021 555 0123")
    assert recognise("021 555 0123") == recognise("+64 21 555 0123") == recognise("0064 21-555-0123")
    assert recognise("gb82 west 1234 5698 7654 32") == [("bank-account", "IBAN:GB82WEST12345698765432")]
    assert recognise("cash courier") == [] and recognise("x" * 500) == []


def test_bulletins_are_found_by_an_indicator_however_it_is_typed_within_the_policy(client, people):
    created = client.post("/api/v1/bulletins", json=BULLETIN, headers=bearer(people["publisher"]))
    assert created.status_code == 201, created.get_json()
    found_by = {}
    for typed in TYPED:
        items = client.get("/api/v1/bulletins", query_string={"q": typed}, headers=bearer(people["bank"])).get_json()
        found_by[typed] = [item["id"] for item in items["items"]]
    assert all(ids == [created.get_json()["id"]] for ids in found_by.values()), found_by
    # A reader outside the audience finds nothing, however the indicator is typed.
    for typed in TYPED:
        assert client.get("/api/v1/bulletins", query_string={"q": typed},
                          headers=bearer(people["other"])).get_json()["items"] == []
    # Something else is not found; the page's search box works alike.
    assert client.get("/api/v1/bulletins", query_string={"q": "CSQU3054384"},
                      headers=bearer(people["bank"])).get_json()["items"] == []
    sign_in(client, people["bank"])
    assert "Reefer containers with altered seals" in client.get("/bulletins?q=csqu+305438-3").get_data(as_text=True)


def test_reports_are_found_by_an_account_phone_or_passport_however_typed(client, people):
    created = client.post("/api/v1/submissions", json=copy.deepcopy(REPORT), headers=bearer(people["bank"]))
    assert created.status_code == 201, created.get_json()
    reference = created.get_json()["reference"]
    for typed in ("12 3456 7890123 000", "+64 21 555 0123", "0064215550123", "t123 4567", "T1234567"):
        for reader in ("bank", "analyst"):
            items = client.get("/api/v1/submissions", query_string={"q": typed},
                               headers=bearer(people[reader])).get_json()["items"]
            assert [item["reference"] for item in items] == [reference], (typed, reader)
        # Another bank's risk officer does not read the report, and does not find it.
        assert client.get("/api/v1/submissions", query_string={"q": typed},
                          headers=bearer(people["other"])).get_json()["items"] == []
    assert client.get("/api/v1/submissions", query_string={"q": "021 555 0124"},
                      headers=bearer(people["analyst"])).get_json()["items"] == []
