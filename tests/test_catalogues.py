"""The message catalogues: complete where promised, placeholders intact, compiled wherever the portal
runs, and no English month, weekday or country name on a page in a language CLDR lacks."""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from portal import i18n, translate

ROOT = Path(__file__).resolve().parent.parent

#: Languages whose catalogues must have every entry translated and none fuzzy: all six; every other
#: test here covers all six too.
COMPLETE = {"fr", "sm", "to", "mi", "fj", "bi"}

PLACEHOLDER = re.compile(r"%\([A-Za-z_]+\)[sdr]|%[sd]|\{[A-Za-z_]*\}")
TAG = re.compile(r"</?(a|abbr|b|br|code|em|i|kbd|li|ol|p|span|strong|ul)\b[^>]*>")


@pytest.mark.parametrize("language", sorted(COMPLETE))
def test_catalogue_is_complete(language):
    missing = translate.untranslated(language)
    assert missing == [], f"{language}: {len(missing)} untranslated or fuzzy, e.g. {missing[:5]}"


def test_completeness_check_finds_an_empty_and_a_fuzzy_entry(tmp_path, monkeypatch):
    po = tmp_path / "xx" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid "Done"\nmsgstr "Uma"\n\nmsgid "Open"\nmsgstr ""\n\n'
                  '#, fuzzy\nmsgid "Close"\nmsgstr "Tapuni"\n\n'
                  'msgctxt "month"\nmsgid "May"\nmsgstr ""\n', encoding="utf-8")
    monkeypatch.setattr(translate, "TRANSLATIONS", tmp_path)
    assert sorted(translate.untranslated("xx")) == ["Close", "Open", "month|May"]


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def _tags(text: str) -> list[str]:
    return sorted(m.group(0).split()[0].rstrip(">").lower() for m in TAG.finditer(text))


@pytest.mark.parametrize("language", translate.CATALOGUE_LANGUAGES)
def test_translations_keep_placeholders_and_markup(language):
    """A translation that drops or renames %(name)s, {name} or an HTML tag breaks the page."""
    broken = []
    for message in translate._read(translate.TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"):
        if not message.id:
            continue
        if isinstance(message.id, str):
            pairs = [(message.id, message.string)] if message.string else []
        else:
            singular, plural = message.id
            strings = [s for s in message.string if s]
            # A form may leave out the number ("one day"), never add one, and the last form is the plural's.
            for text in strings:
                if not set(_placeholders(text)) <= set(_placeholders(singular) + _placeholders(plural)):
                    broken.append((plural, text))
            pairs = [(plural, strings[-1])] if strings else []
        for source, text in pairs:
            if _placeholders(source) != _placeholders(text) or _tags(source) != _tags(text):
                broken.append((source, text))
    assert broken == [], f"{language}: {len(broken)} broken, e.g. {broken[:3]}"


# --- Languages CLDR lacks: their own words for months, weekdays, day periods, countries -------------

ENGLISH_WORDS = {
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Monday", "Tuesday",
    "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "am",
    "pm", "AM", "PM",
}


def _english_words(text: str) -> set[str]:
    """English calendar words in ``text``, except those the Samoan catalogue itself uses (Samoan
    abbreviates Novema as "Nov")."""
    from portal import locale_names as names

    samoan = set()
    for context, words in ((names.MONTH_CONTEXTS["wide"], names.MONTHS_WIDE),
                           (names.MONTH_CONTEXTS["abbreviated"], names.MONTHS_ABBREVIATED),
                           (names.WEEKDAY_CONTEXTS["wide"], names.WEEKDAYS_WIDE),
                           (names.WEEKDAY_CONTEXTS["abbreviated"], names.WEEKDAYS_ABBREVIATED),
                           ("day period", tuple(names.DAY_PERIODS.values()))):
        for word in words:
            samoan.update(i18n.pgettext(context, word).split())
    return (set(re.findall(r"[A-Za-z]+", text)) & ENGLISH_WORDS) - samoan


def _as(language: str):
    return i18n.reading_as(language, "Pacific/Apia")


@pytest.fixture(autouse=True)
def current_catalogues():
    """These tests read the catalogues without starting the portal, which is what compiles them."""
    i18n.compile_catalogues()


def test_samoan_dates_use_samoan_month_weekday_and_day_period_names():
    moment = dt.datetime(2026, 12, 20, 6, 30, tzinfo=dt.timezone.utc)
    with _as("sm"):
        # 19:30 on Sunday 20 December in Apia, laid out as en_WS lays dates out.
        assert i18n.format_datetime(moment) == "20 Tes 2026, 7:30\u202fi le afiafi (Apia, UTC+13)"
        assert i18n.format_date(dt.date(2026, 12, 20), "full") == "Aso Sā, 20 Tesema 2026"
        for month in range(1, 13):
            for day in (1, 2, 3, 4, 5, 6, 7):
                day_ = dt.date(2026, month, day)
                for format in ("medium", "long", "full"):
                    text = i18n.format_date(day_, format)
                    assert not _english_words(text), text
            morning = dt.datetime(2026, month, 1, 20, 0, tzinfo=dt.timezone.utc)  # 09:00 in Apia
            assert not _english_words(i18n.format_datetime(morning)), i18n.format_datetime(morning)


def test_languages_cldr_has_keep_cldr_names():
    moment = dt.datetime(2026, 1, 5, 6, 30, tzinfo=dt.timezone.utc)
    with _as("to"):
        assert "Sānuali" in i18n.format_date(moment, "long")
        assert i18n.country_name("WS") == "Haʻamoa"
    with _as("fr"):
        assert "janvier" in i18n.format_date(moment, "long")
        assert i18n.country_name("nz") == "Nouvelle-Zélande"
    with _as("en"):
        assert i18n.format_date(dt.date(2026, 1, 5), "long") == "5 January 2026"


def test_country_names_in_samoan_come_from_the_catalogue():
    with _as("sm"):
        assert i18n.country_name("WS") == "Sāmoa"
        assert i18n.country_name("NZ") == "Niu Sila"
        assert i18n.country_name("ZZ") == "ZZ"  # neither CLDR nor the catalogue: the code, not an English word
        assert i18n.country_name(None) == ""


def test_every_served_country_has_a_catalogue_name():
    from portal.locale_names import COUNTRIES
    from portal.vocabulary import DEFAULT_COUNTRIES

    assert set(DEFAULT_COUNTRIES) <= set(COUNTRIES)


# --- Compiled catalogues reach every deployment --------------------------------------------------

def test_compiles_a_missing_or_stale_catalogue_and_falls_back_to_the_instance(tmp_path, monkeypatch):
    source = tmp_path / "translations"
    po = source / "sm" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid "Yes"\nmsgstr "Ioe"\n', encoding="utf-8")
    instance = tmp_path / "instance" / "translations"
    monkeypatch.setattr(i18n, "_compiled_dirs", [])

    assert i18n.compile_catalogues(instance, source) == [po.with_suffix(".mo")]
    assert i18n.compile_catalogues(instance, source) == []  # fresh: nothing to do

    # The .po changes and its directory is read-only (a package installed by root): the instance gets it.
    po.write_text('msgid "Yes"\nmsgstr "Ioe lava"\n', encoding="utf-8")
    os.utime(po, (po.stat().st_atime, po.with_suffix(".mo").stat().st_mtime + 10))
    real_mkstemp = i18n.tempfile.mkstemp

    def read_only(*args, dir=None, **kwargs):
        if Path(dir) == po.parent:
            raise PermissionError(13, "Read-only file system", str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(i18n.tempfile, "mkstemp", read_only)
    monkeypatch.setattr(i18n, "TRANSLATIONS_DIR", source)
    written = i18n.compile_catalogues(instance, source)
    assert written == [instance / "sm" / "LC_MESSAGES" / "messages.mo"]
    assert i18n.translations_for("sm").ugettext("Yes") == "Ioe lava"
    i18n.translations_for.cache_clear()


FRESH_CHECKOUT_SCRIPT = textwrap.dedent("""
    import re, sys
    from app import create_app
    from portal.extensions import db
    from portal.models import Organisation, User
    from portal.accounts.passwords import hash_password
    from portal.vocabulary import Classification, Role
    import flask_migrate

    app = create_app({"env": "test", "database_url": sys.argv[1], "instance_path": sys.argv[2],
                      "base_url": "http://localhost", **%(secrets)r})
    with app.app_context():
        flask_migrate.upgrade()
        org = Organisation(slug="ws-police", name="Samoa Police Service", kind="pacific", sector="police",
                           country="WS")
        user = User(email="sefo@police.ws.example", organisation=org, clearance=Classification.parse("SENSITIVE"),
                    password_hash=hash_password("pacific-demo-2026"), locale="sm", time_zone="Pacific/Apia")
        user.set_roles({Role("viewer")})
        db.session.add_all([org, user])
        db.session.commit()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"email": "sefo@police.ws.example", "password": "pacific-demo-2026",
                                         "csrf_token": token})
    assert answer.status_code == 302, answer.status_code
    sys.stdout.write(client.get("/deportees").get_data(as_text=True))
""")


def test_a_fresh_checkout_without_compiled_catalogues_serves_samoan(tmp_path):
    """As README's production steps set a server up: a clean checkout (no .mo files), then start."""
    from tests.conftest import TEST_SECRETS

    checkout = tmp_path / "checkout"
    checkout.mkdir()
    ignore = shutil.ignore_patterns("*.mo", "__pycache__", "*.pyc")
    for name in ("app.py", "portal", "templates", "static", "translations", "config", "migrations"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, checkout / name, ignore=ignore)
        else:
            shutil.copy2(source, checkout / name)
    assert not list(checkout.glob("translations/**/*.mo"))
    script = FRESH_CHECKOUT_SCRIPT % {"secrets": TEST_SECRETS}
    result = subprocess.run(
        [sys.executable, "-c", script, f"sqlite:///{tmp_path / 'portal.sqlite3'}", str(tmp_path / "instance")],
        cwd=checkout, env={**os.environ, "PYTHONPATH": str(checkout)}, capture_output=True, text=True,
        timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    page = result.stdout
    assert '<html lang="sm">' in page
    catalogue = {m.id: m.string for m in translate._read(
        ROOT / "translations" / "sm" / "LC_MESSAGES" / "messages.po") if m.id}
    for english in ("Deportee notifications", "Sign out", "Profile"):
        samoan = catalogue[english]
        assert samoan and samoan != english
        assert samoan in page, english
        assert f">{english}<" not in page
    assert (checkout / "translations" / "sm" / "LC_MESSAGES" / "messages.mo").exists()
