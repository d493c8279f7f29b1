"""The browser tier: Playwright drives Debian's Chromium against a live portal on loopback."""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
from werkzeug.serving import make_server

from portal.extensions import db
from tests.conftest import BROWSER_PORT, PASSWORD, next_code, register_idp

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def base_url() -> str:
    return f"http://127.0.0.1:{BROWSER_PORT}"


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    # A fixed port: the test OpenID provider knows the redirect URIs under it.
    server = make_server("127.0.0.1", BROWSER_PORT, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def java_script() -> bool:
    """Whether the browser runs scripts; a test of the page without them parametrizes this to False."""
    return True


@pytest.fixture
def page(java_script: bool) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make test` installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="en-NZ", timezone_id="Pacific/Auckland",
                                      java_script_enabled=java_script)
        # Nothing leaves the machine: refuse at once anything not on loopback (the test provider's
        # pages import a web font, which would otherwise hang until a timeout).
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/]|localhost[:/])"), lambda route: route.abort())
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.console_errors = errors  # type: ignore[attr-defined]
        yield page
        context.close()
        browser.close()


def test_sign_in_with_password_and_totp_reaches_home(live_server, page, world):
    org = world.org("nz-customs", "government", "customs", name="New Zealand Customs Service")
    user = world.user("aroha@customs.example", org, ("publisher",), clearance="SENSITIVE", display_name="Aroha Ngata")
    page.goto(live_server + "/")
    assert page.url.startswith(live_server + "/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/login/code")
    db.session.refresh(user)
    page.get_by_label("Six-digit code from your authenticator app").fill(next_code(user))
    page.keyboard.press("Enter")  # the form works from the keyboard alone
    page.wait_for_url(live_server + "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Kia ora, Aroha Ngata"
    header = page.locator("header").inner_text()
    assert "New Zealand Customs Service" in header and "SENSITIVE" in header
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)
    # Keyboard users: the first Tab reaches the skip link, which moves focus to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # No CSP violation or other script error on the way.
    assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]


def test_federated_sign_in_and_rp_initiated_logout(live_server, page, world, oidc_provider):
    harbour = world.org("harbour-bank", name="Harbour Bank")
    world.user("ben@harbourbank.example", harbour, ("submitter",), display_name="Ben Carter")
    register_idp(oidc_provider, "harbour-bank")
    page.goto(live_server + "/login")
    page.get_by_role("link", name="Sign in with Harbour Bank").click()
    page.wait_for_url(oidc_provider.issuer + "/interaction/**")
    page.fill("input[name=login]", "ben")
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Authorize")
    page.click("button[type=submit]")  # consent
    page.wait_for_url(live_server + "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Kia ora, Ben Carter"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(oidc_provider.issuer + "/session/end**")
    page.click("button[autofocus]")  # the provider asks: sign out there too? Yes.
    page.wait_for_url(live_server + "/login**")
    page.goto(live_server + "/")
    assert page.url.startswith(live_server + "/login")


def test_report_composer_saves_as_you_type_and_submits(live_server, page, world):
    from sqlalchemy import select

    from portal.submissions.models import Submission, SubmissionDraft

    world.org("nz-fiu", "government", "fiu", name="Financial Intelligence Unit")
    bank = world.org("harbour-bank", name="Harbour Bank")
    user = world.user("ben@harbour.example", bank, ("submitter",))
    page.goto(live_server + "/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server + "/")
    page.goto(live_server + "/submissions/new")
    page.get_by_role("button", name="Start the report").click()
    page.wait_for_url("**/submissions/drafts/*")
    page.get_by_label("Narrative").fill("Eleven cash deposits just under the threshold in five days.")
    # the background save (every few seconds) keeps it without any button pressed
    page.locator("#autosave-status").filter(has_text="Draft saved at").wait_for(timeout=15000)
    db.session.expire_all()
    draft = db.session.scalar(select(SubmissionDraft))
    assert draft.data["narrative"].startswith("Eleven cash deposits")
    page.get_by_role("button", name="Add: Person").click()
    # The keyboard focus lands on the new subject's first field, not at the top of the page.
    page.wait_for_url("**/submissions/drafts/*?focus=subject-0")
    page.locator("#subjects-0-id").wait_for()
    assert page.evaluate("document.activeElement.id") == "subjects-0-id"
    page.get_by_label("Names (one per line)").fill("Sione Taufa")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "composer.png"), full_page=True)
    page.get_by_label("Agency that receives the report").select_option("nz-fiu")
    page.get_by_label("Money laundering", exact=True).check()
    page.get_by_role("button", name="Submit the report").click()
    # (a redirect keeps the page's #fragment, as browsers do)
    page.wait_for_url(re.compile(r".*/submissions/SAR-\d{4}-\d{6}/receipt(#.*)?$"))
    assert "Your report has been received" in page.locator("main").inner_text()
    db.session.expire_all()
    assert db.session.scalar(select(Submission)).content["subjects"][0]["names"] == ["Sione Taufa"]
    assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]


@pytest.mark.parametrize("java_script", [False], ids=["scripts-off"])
def test_system_health_charts_render_without_script_and_within_the_csp(live_server, page, world):
    # Scripts really are off in this browser: a page's own script does not run.
    page.set_content("<title>before</title><script>document.title = 'ran'</script>")
    assert page.title() == "before"
    customs = world.org("nz-customs", "government", "customs", name="New Zealand Customs Service")
    world.org("harbour-bank", name="Harbour Bank")
    user = world.user("mere@customs.example", customs, ("analyst",), clearance="SENSITIVE")
    page.goto(live_server + "/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/login/code")
    db.session.refresh(user)
    page.get_by_label("Six-digit code from your authenticator app").fill(next_code(user))
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/")
    page.goto(live_server + "/system-health")
    charts = page.locator("svg.chart")
    assert charts.count() == 4 and charts.first.is_visible()
    assert page.locator("table").count() == 4  # each chart's figures, as a table
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "system-health.png"), full_page=True)
    assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]


def _sign_in_with_code(page, live_server, user):
    page.goto(live_server + "/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/login/code")
    db.session.refresh(user)
    page.get_by_label("Six-digit code from your authenticator app").fill(next_code(user))
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/")


def test_audience_filter_box_narrows_the_list_and_the_boxes_work_without_script(live_server, page, world):
    """Issue 16 item 4: a filter box (static/choice-filter.js, within the CSP) narrows the grouped
    checkboxes as one types; with JavaScript off there is no box and the plain checkboxes publish."""
    from sqlalchemy import select

    from portal.bulletins.models import Bulletin

    customs = world.org("nz-customs", "government", "customs", name="New Zealand Customs Service")
    world.org("harbour-bank", name="Harbour Bank")
    world.org("kowhai-bank", name="Kowhai Bank")
    world.org("port-tamaki", sector="ports", name="Port Tamaki")
    world.org("ws-police", "pacific", "police", "WS", name="Samoa Police Service")
    aroha = world.user("aroha@customs.example", customs, ("publisher",), clearance="SENSITIVE")
    wiremu = world.user("wiremu@customs.example", customs, ("publisher",), clearance="SENSITIVE")

    _sign_in_with_code(page, live_server, aroha)
    page.goto(live_server + "/bulletins/new")
    orgs = page.locator("#orgs-choices")
    boxes = orgs.locator("input[type=checkbox]")
    assert boxes.count() == 4
    visible = orgs.locator("li:visible")
    assert visible.count() == 4
    orgs.get_by_label("Filter this list by name").fill("harb")
    assert visible.count() == 1 and visible.first.inner_text().strip().startswith("Harbour Bank")
    assert orgs.locator("fieldset.choice-group:visible legend").all_inner_texts()[0] == "Private-sector partners"
    assert "1 of 4 shown" in orgs.locator("[role=status]").inner_text()
    orgs.get_by_label("Filter this list by name").fill("samoa")  # a country's name finds its organisations
    assert visible.count() == 1 and "Samoa Police Service" in visible.first.inner_text()
    orgs.get_by_label("Samoa Police Service").check()
    orgs.get_by_label("Filter this list by name").fill("bank")
    assert visible.count() == 3  # the two banks, and the chosen box stays in view
    orgs.get_by_label("Kowhai Bank").check()
    orgs.get_by_label("Filter this list by name").press("Enter")  # does not submit the form
    assert page.url.endswith("/bulletins/new")
    page.get_by_label("Title").fill("Courier route through Apia")
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(re.compile(r".*/bulletins/\d+$"))
    ARTIFACTS.mkdir(exist_ok=True)
    assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]
    db.session.expire_all()
    bulletin = db.session.scalar(select(Bulletin).where(Bulletin.title == "Courier route through Apia"))
    assert sorted(a.value for a in bulletin.audience) == ["kowhai-bank", "ws-police"]

    # Without JavaScript: no filter box, every box listed, and ticking them publishes.
    browser = page.context.browser
    context = browser.new_context(locale="en-NZ", timezone_id="Pacific/Auckland", java_script_enabled=False)
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/]|localhost[:/])"), lambda route: route.abort())
    plain = context.new_page()
    try:
        _sign_in_with_code(plain, live_server, wiremu)
        plain.goto(live_server + "/bulletins/new")
        assert plain.locator("#orgs-choices input[type=search]").count() == 0
        assert plain.locator("#orgs-choices li:visible").count() == 4
        plain.screenshot(path=str(ARTIFACTS / "audience-without-script.png"), full_page=True)
        plain.get_by_label("Harbour Bank").check()
        plain.get_by_label("Title").fill("Without script")
        plain.get_by_role("button", name="Publish").click()
        plain.wait_for_url(re.compile(r".*/bulletins/\d+$"))
    finally:
        context.close()
    db.session.expire_all()
    bulletin = db.session.scalar(select(Bulletin).where(Bulletin.title == "Without script"))
    assert [(a.kind, a.value) for a in bulletin.audience] == [("org", "harbour-bank")]
