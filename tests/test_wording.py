"""Review of the translations by the people who speak them (issue 16, item 2): the translator
permission, suggestion mode, the admin's queue, wordings in force in every process, the export to
``.po`` and how much of each language is reviewed."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import inspect, select

from app import create_app
from portal import permissions as p
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.translate import TRANSLATIONS
from portal.vocabulary import Role as R
from portal.wording import service
from portal.wording.messages import find, message_key, messages, placeholders, wording_problems
from portal.wording.models import TranslatorLanguage, WordingSuggestion
from portal.wording.overrides import wordings
from tests.conftest import IsolatedClient, csrf_from, settings_for, sign_in, sign_out

SKIP = "Skip to main content"
CREATED = "Organisation %(name)s created."


def samoan(msgid: str, context: str | None = None) -> str:
    with (TRANSLATIONS / "sm" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh).get(msgid, context=context).string


@pytest.fixture
def people(world):
    police = world.org("ws-police", "pacific", "police", "WS", name="Samoa Police Service")
    customs = world.org("nz-customs", "government", "customs", "NZ", name="NZ Customs Service")
    bank = world.org("harbour-bank", "private", "banking", "NZ")
    return SimpleNamespace(
        police=police, customs=customs, bank=bank,
        malia=world.user("malia@police.ws.example", police, ("org-admin",), locale="sm"),
        sione=world.user("sione@police.ws.example", police, ("viewer",), locale="sm"),
        tavita=world.user("tavita@police.ws.example", police, ("viewer",), locale="sm"),
        olivia=world.user("olivia@harbourbank.example", bank, ("org-admin",)),
        ben=world.user("ben@harbourbank.example", bank, ("viewer",), locale="sm"),
        admin=world.user("admin@customs.govt.example", customs, ("admin",)),
    )


def grant(user, *languages: str) -> None:
    for language in languages:
        db.session.add(TranslatorLanguage(user_id=user.id, language=language))
    db.session.commit()


def post_form(client, page_url: str, url: str, data: dict):
    page = client.get(page_url)
    return client.post(url, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **data})


def turn_on_suggestion_mode(client) -> None:
    response = post_form(client, "/profile", "/translations/mode", {"on": "1", "next": "/profile"})
    assert response.status_code == 302


# --- The permission ------------------------------------------------------------------------------

def _person(org, *roles, active=True):
    return SimpleNamespace(id=id(object()), organisation=org, organisation_id=org.id, roles=frozenset(roles),
                           clearance=1, may_read=active)


def test_permission_rules():
    pacific = SimpleNamespace(id=1, kind="pacific")
    government = SimpleNamespace(id=2, kind="government")
    private = SimpleNamespace(id=3, kind="private")
    malia, sione = _person(pacific, R.ORG_ADMIN), _person(pacific, R.VIEWER)
    hemi, olivia, ben = _person(government, R.VIEWER), _person(private, R.ORG_ADMIN), _person(private, R.VIEWER)
    admin = _person(government, R.ADMIN)
    assert p.may_grant_translator(malia, sione)
    assert p.may_grant_translator(admin, hemi)
    assert not p.may_grant_translator(malia, hemi), "another organisation's member"
    assert not p.may_grant_translator(olivia, ben), "private organisations have no translators"
    assert not p.may_grant_translator(sione, sione), "a viewer grants nothing"
    assert p.may_suggest_wording(sione, "sm", {"sm"})
    assert not p.may_suggest_wording(sione, "to", {"sm"})
    assert not p.may_suggest_wording(ben, "sm", {"sm"}), "a member of a private organisation"
    assert not p.may_suggest_wording(_person(pacific, R.VIEWER, active=False), "sm", {"sm"})
    assert p.may_review_wordings(admin) and not p.may_review_wordings(malia)


def test_org_admin_grants_the_translator_permission_audited(client, people):
    sign_in(client, people.malia)
    edit = client.get(f"/admin/users/{people.sione.id}").get_data(as_text=True)
    assert f"/admin/users/{people.sione.id}/translator" in edit
    url = f"/admin/users/{people.sione.id}/translator"
    response = post_form(client, url, url, {"languages": ["sm", "to"]})
    assert response.status_code == 302
    granted = set(db.session.scalars(select(TranslatorLanguage.language)
                                     .where(TranslatorLanguage.user_id == people.sione.id)))
    assert granted == {"sm", "to"}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.translator"))
    assert entry is not None and entry.object_id == str(people.sione.id)
    assert '"after":["sm","to"]' in entry.details.replace(" ", "")
    # Taking one language away is recorded too.
    response = post_form(client, url, url, {"languages": ["sm"]})
    assert response.status_code == 302
    assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.translator")).all()) == 2
    # Not another organisation's member, and not without the CSRF token.
    assert client.get(f"/admin/users/{people.ben.id}/translator").status_code == 404
    assert client.post(url, data={"languages": ["fj"]}).status_code == 400
    assert "fj" not in service.translator_languages(people.sione)


def test_translator_form_refuses_an_unknown_language_with_the_declarations_words(client, people):
    """The translator form is checked through TranslatorInput (the service's entrance): a language
    the portal does not review shows the declaration's sentence and grants nothing."""
    from markupsafe import escape

    from portal.payloads import check
    from portal.problems import Invalid
    from portal.wording.schemas import TranslatorInput

    with pytest.raises(Invalid) as declared:
        check(TranslatorInput, {"languages": ["sm", "xx"]})
    sign_in(client, people.malia)
    url = f"/admin/users/{people.sione.id}/translator"
    page = client.get(url).get_data(as_text=True)
    shown = client.post(url, data={"csrf_token": csrf_from(page), "languages": ["sm", "xx"]}, follow_redirects=True)
    english = declared.value.fields["languages[1]"][0]  # Choose one of: mi, sm, … (malia reads Samoan)
    choices = english.removeprefix("Choose one of: ").removesuffix(".")
    words = samoan("Choose one of: %(choices)s.") % {"choices": choices}
    assert str(escape(words)) in shown.get_data(as_text=True)
    assert not service.translator_languages(people.sione)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.translator")) is None


def test_private_organisations_have_no_translators(client, people):
    sign_in(client, people.olivia)
    assert client.get(f"/admin/users/{people.ben.id}/translator").status_code == 404
    assert f"/admin/users/{people.ben.id}/translator" not in client.get(
        f"/admin/users/{people.ben.id}").get_data(as_text=True)


# --- Suggesting ----------------------------------------------------------------------------------

def test_a_non_translator_cannot_suggest(client, people):
    key = message_key(None, SKIP)
    grant(people.tavita, "to")  # a translator, but for Tongan
    for user in (people.sione, people.tavita):
        sign_in(client, user)
        page = client.get("/").get_data(as_text=True)
        assert "/translations/mode" not in page
        assert client.get("/translations/page").status_code == 404
        assert client.get(f"/translations/messages/{key}").status_code == 404
        response = post_form(client, "/profile", f"/translations/messages/{key}",
                             {"language": "sm", "wording": "Alu i le mataupu", "action": "suggest"})
        assert response.status_code == 404
        assert post_form(client, "/profile", "/translations/mode", {"on": "1"}).status_code == 404
        sign_out(client)
    assert db.session.scalar(select(WordingSuggestion)) is None


def test_suggestion_mode_lists_the_page_and_stores_only_the_message_and_wording(client, people):
    grant(people.sione, "sm")
    sign_in(client, people.sione)
    footer = client.get("/profile").get_data(as_text=True)
    assert 'action="/translations/mode"' in footer
    turn_on_suggestion_mode(client)
    page = client.get("/profile").get_data(as_text=True)
    # No inline script: the enhancement is a static file.
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    assert 'src="/static/wording.js"' in page
    listing = client.get("/translations/page").get_data(as_text=True)
    key = message_key(None, SKIP)
    assert f'data-msgid="{key}"' in listing and 'href="/profile"' in listing
    assert message_key(None, "Your profile") in listing
    data = client.get("/translations/page.json").get_json()
    assert {"key": key, "text": samoan(SKIP), "source": SKIP,
            "url": f"/translations/messages/{key}?next=/translations/page"} in data["items"]

    response = post_form(client, "/translations/page", f"/translations/messages/{key}", {
        "language": "sm", "wording": "Alu saʻo i le mataupu autu", "action": "suggest",
        # Whatever else a form might carry is not stored.
        "page": "/bulletins/7", "title": "Bulletin about Tavita Faleolo", "url": "http://x.example/"})
    assert response.status_code == 302
    row = db.session.scalar(select(WordingSuggestion))
    columns = {c.key for c in inspect(WordingSuggestion).mapper.column_attrs}
    assert columns == {"id", "kind", "language", "context", "msgid", "msgid_plural", "wording", "plural_wordings",
                       "author_id", "created_at", "status", "decided_by_id", "decided_at"}
    assert (row.kind, row.language, row.context, row.msgid, row.wording, row.author_id, row.status) == (
        "suggest", "sm", "", SKIP, "Alu saʻo i le mataupu autu", people.sione.id, "pending")
    assert (row.msgid_plural, row.plural_wordings) == ("", None)
    assert row.created_at is not None and row.decided_by_id is None and row.decided_at is None
    stored = " ".join(str(getattr(row, c)) for c in columns)
    for leaked in ("bulletins/7", "Tavita", "x.example", "/profile"):
        assert leaked not in stored
    # Turning the mode off stops the recording.
    assert post_form(client, "/profile", "/translations/mode", {"on": "0", "next": "/"}).status_code == 302
    assert "wording.js" not in client.get("/profile").get_data(as_text=True)


@pytest.mark.parametrize("wording, problem", [
    ("Ua faia le faalapotopotoga.", "%(name)s"),                            # dropped
    ("Ua faia le faalapotopotoga %(name)s %(other)s.", "%(other)s"),       # added
    ("Ua faia <b>%(name)s</b>.", "<b>"),                                    # a tag added
    ("Ua faia le %(name)s 100%.", "%"),                                     # a lone % breaks formatting
    ("Ua faia le {name} %(name)s.", "{name}"),
])
def test_placeholders_must_survive(wording, problem):
    message = find(message_key(None, CREATED))
    problems = wording_problems(message, wording)
    assert problems and problem in " ".join(problems)
    assert wording_problems(message, "Ua faia le faalapotopotoga %(name)s.") == []
    tagged = "This translation was machine-drafted and awaits review by native-speaking officers."
    assert placeholders(tagged) == placeholders(tagged.upper())


def test_a_placeholder_mismatch_is_refused_and_nothing_stored(client, people):
    grant(people.sione, "sm")
    sign_in(client, people.sione)
    key = message_key(None, CREATED)
    url = f"/translations/messages/{key}"
    response = post_form(client, url, url, {"language": "sm", "wording": "Ua faia.", "action": "suggest"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "%(name)s" in text and 'class="error-summary"' in text
    response = post_form(client, url, url, {"language": "sm", "wording": "x" * 5000, "action": "suggest"})
    assert response.status_code == 400
    assert db.session.scalar(select(WordingSuggestion)) is None


def test_wording_forms_refuse_bad_values_with_their_declarations_words(client, people):
    """A suggestion is checked through SuggestionInput and the queue's decision through DecisionInput
    (the service's entrance): a wording too long, or a decision that is neither accept nor reject,
    shows the declaration's sentence (in the reader's language) and changes nothing."""
    from markupsafe import escape

    from portal.payloads import check
    from portal.problems import Invalid
    from portal.wording.schemas import DecisionInput, SuggestionInput

    grant(people.sione, "sm")
    sign_in(client, people.sione)
    url = f"/translations/messages/{message_key(None, SKIP)}"
    response = post_form(client, url, url, {"language": "sm", "wording": "Tali " * 1000, "action": "suggest"})
    assert response.status_code == 400
    assert str(escape(samoan("That wording is too long for this message."))) in response.get_data(as_text=True)
    assert db.session.scalar(select(WordingSuggestion)) is None
    assert post_form(client, url, url, {"language": "sm", "wording": "Alu saʻo i le mataupu autu",
                                        "action": "suggest"}).status_code == 302
    suggestion = db.session.scalar(select(WordingSuggestion))
    sign_out(client)

    sign_in(client, people.admin)
    with pytest.raises(Invalid) as declared:
        check(DecisionInput, {"decision": "perhaps"})
    with pytest.raises(Invalid):
        check(SuggestionInput, {"wording-1": "x" * 5000})
    token = csrf_from(client.get("/admin/translations").get_data(as_text=True))
    shown = client.post(f"/admin/translations/{suggestion.id}", data={"csrf_token": token, "decision": "perhaps"},
                        follow_redirects=True).get_data(as_text=True)
    assert str(escape(declared.value.fields["decision"][0])) in shown
    db.session.refresh(suggestion)
    assert suggestion.status == "pending" and suggestion.decided_by_id is None


def test_suggestions_are_rate_limited(client, people, monkeypatch):
    monkeypatch.setattr(service, "PER_HOUR", 2)
    grant(people.sione, "sm")
    sign_in(client, people.sione)
    url = f"/translations/messages/{message_key(None, SKIP)}"
    codes = [post_form(client, url, url, {"language": "sm", "wording": f"Tali {n}", "action": "suggest"}).status_code
             for n in range(3)]
    assert codes == [302, 302, 429]
    assert len(db.session.scalars(select(WordingSuggestion)).all()) == 2


# --- Deciding: in force in every process, exported, counted as reviewed ---------------------------

def test_an_accepted_wording_is_in_force_in_another_process_at_once(app, client, people, database_url, tmp_path):
    grant(people.sione, "sm")
    other = create_app(settings_for(database_url, tmp_path / "other-instance"))
    other.test_client_class = IsolatedClient
    reader = other.test_client()
    sign_in(reader, people.tavita)
    assert samoan(SKIP) in reader.get("/").get_data(as_text=True)  # the other process has its catalogue

    sign_in(client, people.sione)
    url = f"/translations/messages/{message_key(None, SKIP)}"
    assert post_form(client, url, url, {"language": "sm", "wording": "Alu saʻo i le mataupu autu",
                                        "action": "suggest"}).status_code == 302
    suggestion = db.session.scalar(select(WordingSuggestion))
    # Only the portal admin sees the queue.
    assert client.get("/admin/translations").status_code == 404
    sign_out(client)

    sign_in(client, people.admin)
    queue = client.get("/admin/translations").get_data(as_text=True)
    assert "Alu saʻo i le mataupu autu" in queue and samoan(SKIP) in queue
    response = post_form(client, "/admin/translations", f"/admin/translations/{suggestion.id}",
                         {"decision": "accept"})
    assert response.status_code == 302
    db.session.refresh(suggestion)
    assert suggestion.status == "accepted" and suggestion.decided_by_id == people.admin.id
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "wording.accept")) is not None

    page = reader.get("/").get_data(as_text=True)
    assert "Alu saʻo i le mataupu autu" in page and samoan(SKIP) not in page
    # Deciding twice is refused.
    again = post_form(client, "/admin/translations", f"/admin/translations/{suggestion.id}", {"decision": "reject"})
    assert again.status_code == 302
    db.session.refresh(suggestion)
    assert suggestion.status == "accepted"

    # Exported for the repository: the catalogue's format, with the accepted wording.
    out = tmp_path / "exported"
    result = app.test_cli_runner().invoke(args=["translations", "export", "--language", "sm", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "sm: 1 accepted wording(s)" in result.output
    exported = (out / "sm" / "LC_MESSAGES" / "messages.po").read_bytes()
    with (out / "sm" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    assert catalog.get(SKIP).string == "Alu saʻo i le mataupu autu"
    original = (TRANSLATIONS / "sm" / "LC_MESSAGES" / "messages.po").read_bytes()
    assert exported.replace("Alu saʻo i le mataupu autu".encode(), samoan(SKIP).encode()) == original
    with other.app_context():
        db.engine.dispose()


def test_confirming_and_accepting_raise_the_reviewed_share(client, people):
    grant(people.sione, "sm")
    total = len(messages())
    sign_in(client, people.sione)
    status = client.get("/translations").get_data(as_text=True)
    assert re.search(r"\b0 mai le \d", status)
    url = f"/translations/messages/{message_key(None, SKIP)}"
    assert post_form(client, url, url, {"language": "sm", "action": "confirm"}).status_code == 302
    url = f"/translations/messages/{message_key(None, 'Your profile')}"
    assert post_form(client, url, url, {"language": "sm", "action": "confirm"}).status_code == 302
    assert post_form(client, url, url, {"language": "sm", "action": "confirm"}).status_code == 302  # again: no row
    assert len(db.session.scalars(select(WordingSuggestion)).all()) == 2
    wordings().refresh(force=True)  # outside a request this process looks every CHECK_SECONDS only
    assert wordings().reviewed("sm") == (2, total)
    assert wordings().reviewed("to") == (0, total)
    status = client.get("/translations").get_data(as_text=True)
    assert re.search(r"\b2 mai le \d", status)
    confirmation = db.session.scalar(select(WordingSuggestion).where(WordingSuggestion.kind == "confirm"))
    assert confirmation.status == "confirmed" and confirmation.wording == samoan(SKIP)
    # The footer of every page says how much of the reader's language is reviewed.
    assert "/translations" in client.get("/").get_data(as_text=True)
