"""Date-times typed into forms are read in the reader's time zone; a new person's time zone comes from
their organisation's country."""
from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from portal.accounts.models import User
from portal.bulletins.models import Bulletin, BulletinAudience, BulletinSighting
from portal.dates import from_form, parse_instant, time_zone_for_country
from portal.extensions import db
from portal.types import utcnow
from portal.vocabulary import Classification
from tests.conftest import csrf_from, sign_in


def test_a_time_without_offset_is_read_in_the_given_zone():
    apia = parse_instant("2026-12-01T09:00", time_zone="Pacific/Apia")  # UTC+13 in December
    assert apia == dt.datetime(2026, 11, 30, 20, 0, tzinfo=dt.timezone.utc)
    assert parse_instant("2026-12-01T09:00") == dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)
    # An explicit offset wins over the reader's zone.
    assert parse_instant("2026-12-01T09:00Z", time_zone="Pacific/Apia").hour == 9
    assert from_form("2026-12-01T09:00", "Pacific/Tongatapu") == "2026-11-30T20:00:00+00:00"
    assert from_form("not a date", "Pacific/Apia") == "not a date"


@pytest.mark.parametrize("country,zone", [("WS", "Pacific/Apia"), ("TO", "Pacific/Tongatapu"),
                                          ("FJ", "Pacific/Fiji"), ("VU", "Pacific/Efate"),
                                          ("NZ", "Pacific/Auckland"), ("ZZ", "Etc/UTC")])
def test_time_zone_for_country(country, zone):
    assert time_zone_for_country(country, "Etc/UTC") == zone


def test_a_sighting_typed_in_apia_is_stored_as_the_right_instant(app, client, world):
    customs = world.org("customs", "government", "customs", country="NZ")
    police = world.org("samoa-police", "government", "police", country="WS")
    officer = world.user("sina@police.example.ws", police, ("viewer",), time_zone="Pacific/Apia")
    bulletin = Bulletin(author_org=customs, title="Container watch", summary="s",
                        classification=Classification.UNCLASSIFIED, tlp="GREEN", status="published",
                        published_at=utcnow())
    bulletin.audience.append(BulletinAudience(kind="org", value="samoa-police"))
    db.session.add(bulletin)
    db.session.commit()
    sign_in(client, officer)
    # Twenty minutes ago, as a clock in Apia shows it.
    seen = (utcnow() - dt.timedelta(minutes=20)).astimezone(dt.timezone(dt.timedelta(hours=13)))
    typed = seen.strftime("%Y-%m-%dT%H:%M")
    page = client.get(f"/bulletins/{bulletin.id}").get_data(as_text=True)
    assert "Pacific/Apia" in page.replace(" ", "_") or "Pacific/Apia".replace("_", " ") in page
    response = client.post(f"/bulletins/{bulletin.id}/sightings",
                           data={"seen_at": typed, "context": "at the wharf", "csrf_token": csrf_from(page)})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    stored = db.session.scalar(select(BulletinSighting))
    assert stored is not None, "refused as in the future"
    assert abs((stored.seen_at - (utcnow() - dt.timedelta(minutes=20))).total_seconds()) < 120


def test_new_users_time_zone_defaults_from_the_organisations_country(app, world):
    world.org("tonga-police", "government", "police", country="TO")
    world.org("fiji-bank", "private", "banking", country="FJ")
    runner = CliRunner()
    for email, org in (("a@police.to", "tonga-police"), ("b@bank.fj", "fiji-bank")):
        result = runner.invoke(app.cli, ["users", "add", email, "--org", org, "--role", "viewer",
                                         "--clearance", "UNCLASSIFIED"])
        assert result.exit_code == 0, result.output
    zones = dict(db.session.execute(select(User.email, User.time_zone)).all())
    assert zones == {"a@police.to": "Pacific/Tongatapu", "b@bank.fj": "Pacific/Fiji"}
    # An explicit choice still wins.
    result = runner.invoke(app.cli, ["users", "add", "c@police.to", "--org", "tonga-police", "--role", "viewer",
                                     "--clearance", "UNCLASSIFIED", "--time-zone", "Pacific/Auckland"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User.time_zone).where(User.email == "c@police.to")) == "Pacific/Auckland"
