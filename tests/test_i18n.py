"""Translations and reader-local formatting, including languages Babel's CLDR lacks."""
from __future__ import annotations

import datetime as dt

import pytest
from babel import Locale, UnknownLocaleError

from portal import i18n, translate
from portal.config import settings
from portal.extensions import db
from tests.conftest import sign_in


def test_catalogue_is_up_to_date_with_the_code():
    problems = translate.problems()
    assert problems == [], "\n".join(problems)


def test_every_offered_language_has_a_catalogue(app):
    for language in settings(app).languages:
        if language != "en":
            assert (translate.TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").exists(), language


@pytest.mark.parametrize("language, expected", [("sm", "en_WS"), ("fj", "en_FJ"), ("bi", "fr_VU"),
                                                ("mi", "mi"), ("to", "to"), ("fr", "fr"), ("en", "en_NZ")])
def test_formatting_locale_fallback(language, expected):
    assert str(i18n.formatting_locale(language)) == expected


@pytest.mark.parametrize("code", ["sm", "fj", "bi"])
def test_babel_really_lacks_these_locales(code):
    with pytest.raises(UnknownLocaleError):
        Locale.parse(code)


def test_samoan_reader_gets_samoan_catalogue_and_apia_times(app, client, world):
    org = world.org("ws-police", "pacific", "police", "WS")
    user = world.user("s@ws.example", org, locale="sm", time_zone="Pacific/Apia")
    sign_in(client, user)
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="sm">' in page
    with app.test_request_context("/"):
        from flask import g

        g.portal_user = user
        moment = dt.datetime(2026, 12, 20, 6, 30, tzinfo=dt.timezone.utc)
        text = i18n.format_datetime(moment)
        # 06:30 UTC is 19:30 the same day in Apia (UTC+13), laid out with en_WS conventions, in
        # Samoan words (the catalogue's month and day period, not CLDR's English).
        assert text == "20 Tes 2026, 7:30\u202fi le afiafi (Apia, UTC+13)"  # CLDR: narrow no-break space
        assert i18n.format_datetime(moment, tz="Pacific/Auckland") == "20 Tes 2026, 7:30\u202fi le afiafi NZDT"


def test_translated_string_is_shown(app, client, world):
    org = world.org("gov-fr", "government", "customs")
    user = world.user("f@gov.example", org, locale="fr")
    sign_in(client, user)
    page = client.get("/profile").get_data(as_text=True)
    assert "Votre profil" in page


def test_user_changes_language_and_time_zone(client, world):
    from tests.conftest import csrf_from

    user = world.user("v@bank.example", world.org("bank"))
    sign_in(client, user)
    page = client.get("/profile").get_data(as_text=True)
    response = client.post("/profile", data={"display_name": "V", "locale": "to", "time_zone": "Pacific/Tongatapu",
                                             "csrf_token": csrf_from(page)})
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.locale, user.time_zone) == ("to", "Pacific/Tongatapu")
    bad = client.post("/profile", data={"locale": "xx", "time_zone": "Mars/Base", "csrf_token": csrf_from(page)})
    assert bad.status_code == 400 and "Not a valid choice" in bad.get_data(as_text=True)
    db.session.refresh(user)
    assert (user.locale, user.time_zone) == ("to", "Pacific/Tongatapu")


def test_browser_language_is_used_before_sign_in(client):
    page = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(as_text=True)
    assert '<html lang="fr">' in page
