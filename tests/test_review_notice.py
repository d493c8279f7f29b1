"""The two-person rule tells people: the composer says before publishing that a level needs a second
publisher and who can approve; when a bulletin waits, exactly the publishers who may approve it are
told (cleared for it, of the author organisation, and not among its editors)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.notifications import delivery as engine
from portal.outbox import Delivery, OutboxMessage
from tests.conftest import csrf_from, sign_in


@pytest.fixture
def cast(world):
    customs = world.org("nz-customs", "government", "customs", name="NZ Customs")
    police = world.org("nz-police", "government", "police", name="NZ Police")
    world.org("harbour-bank", "private", "banking", name="Harbour Bank")
    return {
        "aroha": world.user("aroha@customs.example", customs, ("publisher",), clearance="RESTRICTED",
                            display_name="Aroha Ngata"),
        "wiremu": world.user("wiremu@customs.example", customs, ("publisher",), clearance="RESTRICTED",
                             display_name="Wiremu Tane"),
        "junior": world.user("junior@customs.example", customs, ("publisher",), clearance="IN-CONFIDENCE",
                             display_name="Junior Clerk"),
        "analyst": world.user("ana@customs.example", customs, ("analyst",), clearance="RESTRICTED",
                              display_name="Ana Lyst"),
        "elsewhere": world.user("pita@police.example", police, ("publisher",), clearance="RESTRICTED",
                                display_name="Pita Police"),
    }


def _compose(client, **fields):
    page = client.get("/bulletins/new")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "title": "Cash couriers",
            "summary": "Couriers carry just under the threshold.", "body": "Watch.",
            "classification": "SENSITIVE", "tlp": "AMBER", "orgs": "harbour-bank", "action": "publish"}
    data.update(fields)
    return client.post("/bulletins/new", data=data)


def test_composer_says_a_second_publisher_is_needed_and_who_can_approve(client, cast):
    sign_in(client, cast["aroha"])
    page = client.get("/bulletins/new").get_data(as_text=True)
    assert "need a second publisher" in page
    assert "Wiremu Tane" in page and "Pita Police" not in page and "Ana Lyst" not in page
    assert "Aroha Ngata" not in page.split('id="review-notice"')[1].split("</div>")[0]
    preview = _compose(client, action="preview", classification="SENSITIVE").get_data(as_text=True)
    notice = preview.split('id="review-notice"')[1].split("</div>")[0]
    assert "SENSITIVE" in notice and "needs a second publisher" in notice
    assert "Wiremu Tane" in notice and "Junior Clerk" not in notice  # not cleared for SENSITIVE
    plain = _compose(client, action="preview", classification="IN-CONFIDENCE", tlp="GREEN").get_data(as_text=True)
    assert "needs a second publisher" not in plain.split('id="review-notice"')[1].split("</div>")[0]


def test_only_eligible_publishers_are_told_a_bulletin_waits(client, cast):
    sign_in(client, cast["aroha"])
    response = _compose(client)
    assert response.status_code == 302
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.event == "bulletin.review_requested"))
    assert message is not None
    engine.dispatch()
    told = set(db.session.scalars(select(Delivery.user_id).where(Delivery.message_id == message.id,
                                                                 Delivery.channel == "inbox",
                                                                 Delivery.status == "sent")))
    assert told == {cast["wiremu"].id}  # not the author, not the uncleared, not the analyst or police
