"""Suggestion mode in Chromium: the static script marks each message in place, within the CSP, without
widening a phone-sized page; a mark leads to the message's form, which for a plural message has a field
for each plural form of the language."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.wording.messages import message_key
from portal.wording.models import TranslatorLanguage, WordingSuggestion
from tests.conftest import PASSWORD
from tests.test_browser import ARTIFACTS, base_url, java_script, live_server, page  # noqa: F401  (fixtures)
from tests.test_layout import AXE_TAGS

pytestmark = pytest.mark.browser
PLURAL = message_key(None, "bulletin you can read")  # the home page's first card (ngettext)


def test_suggestion_mode_marks_messages_in_place(live_server, page, world):  # noqa: F811
    police = world.org("ws-police", "pacific", "police", "WS", name="Samoa Police Service")
    sione = world.user("sione@police.ws.example", police, ("viewer",), locale="sm", time_zone="Pacific/Apia")
    db.session.add(TranslatorLanguage(user_id=sione.id, language="sm"))
    db.session.commit()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + "/login")
    page.locator("#email").fill(sione.email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server + "/")

    page.locator("footer button[name=on][value='1']").click()
    page.goto(live_server + "/profile")
    heading = page.get_by_role("heading", level=1)
    page.locator("h1 + .wording-mark, h1 .wording-mark, .wording-mark").first.wait_for()
    # Samoan words "Profile" and "Your profile" alike: the heading carries both messages, each with a mark.
    assert message_key(None, "Your profile") in heading.get_attribute("data-msgid").split()
    assert page.locator(".wording-mark").count() >= 5
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "wording-suggestion-mode-390.png"), full_page=True)

    # The marked page and every translation page: no accessibility violation (axe-core, WCAG 2.2 AA).
    from axe_playwright_python.sync_playwright import Axe

    violations = []
    for path in ("/profile", "/translations/page", f"/translations/messages/{message_key(None, 'Your profile')}",
                 f"/translations/messages/{PLURAL}", "/translations"):
        if path != "/profile":
            page.goto(live_server + path)
        else:
            page.locator(".wording-mark").first.wait_for()
        result = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                          "resultTypes": ["violations"]})
        violations += [f"{path}: {v['id']} {v['help']} at {[n['target'] for n in v['nodes']][:4]}"
                       for v in result.response["violations"]]
    assert violations == [], "\n".join(violations)
    page.goto(live_server + "/profile")
    page.locator(f"h1 .wording-mark[href*='{message_key(None, 'Your profile')}']").click()
    page.wait_for_url("**/translations/messages/**")
    page.locator("#wording").fill("Lau talaaga")
    page.locator("button[name=action][value=suggest]").click()
    page.wait_for_url("**/translations/page**")
    suggestion = db.session.scalar(select(WordingSuggestion))
    assert (suggestion.msgid, suggestion.wording) == ("Your profile", "Lau talaaga")

    # A plural message is marked too, and its form asks for each Samoan plural form.
    page.goto(live_server + "/")
    page.locator(f".card .wording-mark[href*='{PLURAL}'], .wording-mark[href*='{PLURAL}']").first.click()
    page.wait_for_url(f"**/translations/messages/{PLURAL}**")
    assert page.locator("textarea[name^=wording]").count() == 2
    page.locator("#wording-0").fill("le faʻasalalauga e mafai ona e faitau")
    page.locator("#wording-1").fill("nā faʻasalalauga e mafai ona e faitau")
    page.locator("button[name=action][value=suggest]").click()
    page.wait_for_url("**/translations/page**")
    plural = db.session.scalar(select(WordingSuggestion).where(WordingSuggestion.msgid == "bulletin you can read"))
    assert plural.plural_wordings == ["le faʻasalalauga e mafai ona e faitau", "nā faʻasalalauga e mafai ona e faitau"]
    assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]
