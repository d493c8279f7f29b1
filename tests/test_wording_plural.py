"""Plural messages in the translators' review (issue 16, item 2): each language's plural rule comes from
its catalogue's ``Plural-Forms`` header; a translator rewords every form at once (placeholders kept);
acceptance puts every form in force in every process; the export writes ``msgid_plural`` and
``msgstr[n]``; and plural messages count towards how much is reviewed."""
from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from app import create_app
from portal import i18n, translate
from portal.extensions import db
from portal.problems import Invalid
from portal.translate import TRANSLATIONS
from portal.wording import service
from portal.wording.messages import find, message_key, messages, plural_numbers, plural_problems
from portal.wording.models import WordingSuggestion
from portal.wording.overrides import wordings
from tests.conftest import IsolatedClient, settings_for, sign_in, sign_out
from tests.test_wording import grant, people, post_form, turn_on_suggestion_mode  # noqa: F401  (fixture)

BULLETINS = ("bulletin you can read", "bulletins you can read")  # the home page's first card
HOURS = ("%(num)s hour", "%(num)s hours")
ONE, MANY = "le faʻasalalauga e mafai ona e faitau", "nā faʻasalalauga e mafai ona e faitau"


def catalogue(language: str):
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh)


# --- The rule of each language ---------------------------------------------------------------------

def test_each_catalogue_states_its_plural_rule_and_gettext_uses_it():
    i18n.compile_catalogues()
    for language, rule in translate.PLURAL_FORMS.items():
        head = (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")[:300]
        assert f'"Plural-Forms: {rule}\\n"' in head, language
    assert translate.plural_forms("fr")[0] == 3 and translate.plural_forms("to") == (1, "0")
    assert translate.plural_forms("sm") == (2, "(n != 1)")
    assert plural_numbers("fr") == ((0, 1), (1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000), (2, 3, 4, 5, 6))
    assert plural_numbers("to") == ((0, 1, 2, 3, 4),)
    assert plural_numbers("mi") == ((1,), (0, 2, 3, 4, 5))
    # The compiled catalogues carry the same rule: French says "0 heure", and "de" before millions.
    with i18n.reading_as("fr", "Pacific/Noumea"):
        assert [i18n.ngettext(*HOURS, n) for n in (0, 1, 2, 1_000_000)] == [
            "0 heure", "1 heure", "2 heures", "1000000 d’heures"]
    with i18n.reading_as("to", "Pacific/Tongatapu"):
        assert i18n.ngettext(*HOURS, 1) == "houa ʻe 1" and i18n.ngettext(*HOURS, 7) == "houa ʻe 7"
    # Every plural entry has exactly the forms its language's rule has.
    for language in translate.CATALOGUE_LANGUAGES:
        count = translate.plural_forms(language)[0]
        for entry in catalogue(language):
            if entry.id and not isinstance(entry.id, str):
                assert len(entry.string) == count and all(entry.string), (language, entry.id)


def test_plural_messages_are_reviewable():
    plural = [m for m in messages().values() if m.is_plural]
    assert len(plural) >= 14
    bulletins = find(message_key(None, BULLETINS[0]))
    assert bulletins is not None and (bulletins.msgid, bulletins.plural) == BULLETINS


@pytest.mark.parametrize("language, forms, broken", [
    ("fr", ["%(num)s heure", "%(num)s d’heures"], {2}),                        # a form missing
    ("fr", ["%(num)s heure", "%(num)s d’heures", "heures"], {2}),              # a placeholder lost
    ("fr", ["%(num)s heure", "%(num)s %(x)s d’heures", "%(num)s heures"], {1}),  # one added
    ("sm", ["itula", "%(num)s itula"], {0}),
    ("to", ["houa"], {0}),
])
def test_every_form_keeps_the_placeholders(language, forms, broken):
    message = find(message_key(None, HOURS[0]))
    problems = plural_problems(message, language, forms)
    assert set(problems) == broken
    assert plural_problems(message, "fr", ["%(num)s heure", "%(num)s d’heures", "%(num)s heures"]) == {}
    assert plural_problems(message, "to", ["houa ʻe %(num)s"]) == {}


# --- Service level: suggest, accept, in force, exported ---------------------------------------------

def test_a_french_plural_wording_needs_three_forms_and_is_in_force_in_each(app, people, tmp_path):  # noqa: F811
    grant(people.sione, "fr", "to")
    message = find(message_key(None, HOURS[0]))
    with pytest.raises(Invalid) as refused:
        service.suggest(people.sione, message, "fr", ["%(num)s heure", "%(num)s heures"])
    assert set(refused.value.fields) == {"wording-2"}
    db.session.rollback()
    assert db.session.scalar(select(WordingSuggestion)) is None

    forms = ["%(num)s heure", "%(num)s d’heures pleines", "%(num)s heures pleines"]
    french = service.suggest(people.sione, message, "fr", forms)
    tongan = service.suggest(people.sione, message, "to", ["ʻaho houa ʻe %(num)s"])
    db.session.commit()
    assert (french.msgid, french.msgid_plural, french.plural_wordings, french.wording) == (*HOURS, forms, forms[0])
    for suggestion in (french, tongan):
        service.decide(people.admin, suggestion, accept=True)
    db.session.commit()
    wordings().refresh(force=True)
    fr, to = wordings().translations("fr"), wordings().translations("to")
    assert [fr.ungettext(*HOURS, n) for n in (1, 3_000_000, 4)] == forms
    assert to.ungettext(*HOURS, 1) == to.ungettext(*HOURS, 9) == "ʻaho houa ʻe %(num)s"

    out = tmp_path / "exported"
    result = app.test_cli_runner().invoke(args=["translations", "export", "--language", "fr", "--output", str(out)])
    assert result.exit_code == 0 and "fr: 1 accepted wording(s)" in result.output, result.output
    text = (out / "fr" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    assert ('msgid "%(num)s hour"\nmsgid_plural "%(num)s hours"\nmsgstr[0] "%(num)s heure"\n'
            'msgstr[1] "%(num)s d’heures pleines"\nmsgstr[2] "%(num)s heures pleines"\n') in text
    original = (TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    assert text.replace(" pleines", "") == original  # nothing else changed, header and rule included


def test_a_plural_row_that_no_longer_fits_the_rule_is_left_out(app, people):  # noqa: F811
    """Accepted before a language's rule changed (two forms for French): neither in force nor counted."""
    message = find(message_key(None, HOURS[0]))
    db.session.add(WordingSuggestion(kind="suggest", language="fr", context="", msgid=HOURS[0],
                                     msgid_plural=HOURS[1], wording="%(num)s h", author_id=people.sione.id,
                                     plural_wordings=["%(num)s h", "%(num)s hh"], status="accepted"))
    db.session.commit()
    from portal.wording import overrides
    overrides.changed()
    db.session.commit()
    wordings().refresh(force=True)
    assert wordings().translations("fr").ungettext(*HOURS, 2) == "%(num)s heures"
    assert wordings().reviewed("fr")[0] == 0
    assert wordings().accepted("fr") == {}
    assert message.key not in wordings()._reviewed.get("fr", frozenset())


# --- HTTP: suggestion mode, the form, acceptance in another process, counts --------------------------

def test_a_plural_message_is_marked_suggested_in_every_form_and_in_force_everywhere(
        app, client, people, database_url, tmp_path):  # noqa: F811
    grant(people.sione, "sm")
    other = create_app(settings_for(database_url, tmp_path / "other-instance"))
    other.test_client_class = IsolatedClient
    reader = other.test_client()
    sign_in(reader, people.tavita)
    samoan = catalogue("sm").get(BULLETINS[0]).string
    assert samoan[1] in reader.get("/").get_data(as_text=True)

    sign_in(client, people.sione)
    turn_on_suggestion_mode(client)
    client.get("/")
    key = message_key(None, BULLETINS[0])
    # The home page's plural card is among the page's messages, for the list and for the script.
    assert f'data-msgid="{key}"' in client.get("/translations/page").get_data(as_text=True)
    items = [item for item in client.get("/translations/page.json").get_json()["items"] if item["key"] == key]
    assert items == [{"key": key, "text": samoan[1], "source": " / ".join(BULLETINS),
                      "url": f"/translations/messages/{key}?next=/translations/page"}]  # both forms alike

    url = f"/translations/messages/{key}"
    form = client.get(url).get_data(as_text=True)
    assert 'name="wording-0"' in form and 'name="wording-1"' in form and 'name="wording"' not in form
    assert "Pe a o le numera o le 1<" in form and "Pe a o le numera o le 0, 2, 3, 4, …<" in form
    assert BULLETINS[1] in form

    # A form left empty refuses the whole suggestion; so does a lost placeholder.
    response = post_form(client, url, url, {"language": "sm", "action": "suggest", "wording-0": ONE, "wording-1": ""})
    assert response.status_code == 400 and 'href="#wording-1"' in response.get_data(as_text=True)
    hours = f"/translations/messages/{message_key(None, HOURS[0])}"
    response = post_form(client, hours, hours, {"language": "sm", "action": "suggest",
                                                "wording-0": "%(num)s itula", "wording-1": "itula e tele"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "%(num)s" in text and 'aria-invalid="true"' in text and 'href="#wording-1"' in text
    assert db.session.scalar(select(WordingSuggestion)) is None

    response = post_form(client, url, url, {"language": "sm", "action": "suggest", "wording-0": ONE,
                                            "wording-1": MANY, "page": "/bulletins/7", "title": "Tavita"})
    assert response.status_code == 302
    row = db.session.scalar(select(WordingSuggestion))
    assert (row.msgid, row.msgid_plural, row.plural_wordings, row.wording, row.status) == (
        *BULLETINS, [ONE, MANY], ONE, "pending")
    assert "Tavita" not in repr([getattr(row, c) for c in ("msgid", "msgid_plural", "plural_wordings", "wording")])
    sign_out(client)

    sign_in(client, people.admin)
    queue = client.get("/admin/translations").get_data(as_text=True)
    assert f"{ONE} / {MANY}" in queue and BULLETINS[1] in queue
    assert post_form(client, "/admin/translations", f"/admin/translations/{row.id}",
                     {"decision": "accept"}).status_code == 302
    # The other process shows the new plural form (no bulletin: "0" takes form 1 in Samoan) at once.
    page = reader.get("/").get_data(as_text=True)
    assert MANY in page and samoan[1] not in page
    with other.app_context():
        db.engine.dispose()


def test_plural_messages_count_towards_the_reviewed_share(client, people):  # noqa: F811
    grant(people.sione, "sm")
    sign_in(client, people.sione)
    total = len(messages())
    assert total == len({m.key for m in messages().values()}) and any(m.is_plural for m in messages().values())
    url = f"/translations/messages/{message_key(None, HOURS[0])}"
    for _ in range(2):  # confirming twice stores one confirmation
        assert post_form(client, url, url, {"language": "sm", "action": "confirm"}).status_code == 302
    rows = db.session.scalars(select(WordingSuggestion)).all()
    assert [(r.kind, r.msgid_plural, r.plural_wordings) for r in rows] == [
        ("confirm", HOURS[1], ["%(num)s itula", "%(num)s itula"])]
    wordings().refresh(force=True)
    assert wordings().reviewed("sm") == (1, total)
    assert re.search(r"\b1 mai le \d", client.get("/translations").get_data(as_text=True))


def test_suggestion_mode_notes_plural_messages_with_and_without_context():
    from babel.support import NullTranslations

    from portal.wording.overrides import RecordingTranslations

    used: dict[str, None] = {}
    recording = RecordingTranslations(NullTranslations(), used)
    assert recording.ungettext(*HOURS, 2) == HOURS[1]
    assert recording.unpgettext("card", *BULLETINS, 1) == BULLETINS[0]
    assert list(used) == [message_key(None, HOURS[0]), message_key("card", BULLETINS[0])]
    # npgettext is extracted with its context, and formats like ngettext.
    assert translate.KEYWORDS["npgettext"] == ((1, "c"), 2, 3)
    with i18n.reading_as("en", "Pacific/Auckland"):
        assert i18n.npgettext("card", *HOURS, 3) == "3 hours"
