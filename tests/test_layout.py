"""Small screens and paper (issue 16, item 6), in Debian's Chromium.

- At 390 px (a phone), no page scrolls sideways: every page a demonstration person reaches from the
  main menu, and the first item each list links to, as a bank's risk officer, a Customs publisher, a
  Samoan police officer and the portal admin.
- Printed, a bulletin, a report and a deportee notification carry their classification marking at
  the top and at the bottom of every page, as NZ protective-marking practice requires.

Screenshots and PDFs are kept in ``test-artifacts/`` for a person to look at.
"""
from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import pyotp
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from portal.accounts.models import User
from portal.bulletins.models import Bulletin
from portal.demo.world import DEMO_PASSWORD, load_demo
from portal.deportees.models import DeporteeNotification
from portal.extensions import db
from portal.submissions.models import Submission
from tests.conftest import sign_in
from tests.test_browser import ARTIFACTS, base_url, java_script, live_server, page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
PEOPLE = ("ben.risk@harbourbank.example", "aroha.publisher@customs.example", "sefo.officer@police.ws.example",
          "admin@portal.example")
DETAIL = re.compile(r"^/(bulletins|submissions|deportee-notifications|rfis|ratings|scorecards)/[^/?#]+$")


def _demo_user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user.requires_totp and not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        db.session.commit()
    return user


def _signed_in(app: Any, tab: Any, live: str, user: User) -> None:
    """Sign in through the real forms with a test client, then hand its session cookie to Chromium."""
    client = app.test_client()
    sign_in(client, user, DEMO_PASSWORD)
    name = app.config["SESSION_COOKIE_NAME"]
    value = client.get_cookie(name).value
    tab.context.clear_cookies()
    tab.context.add_cookies([{"name": name, "value": value, "url": live, "httpOnly": True, "secure": True}])


def _overflow(tab: Any) -> int:
    return tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def _walk(app: Any, tab: Any, live: str, email: str) -> list[str]:
    """Sign ``email`` in and list the pages they reach: home, profile, each main-menu entry, and the
    first item each of those pages lists (a bulletin, a report, a notification …)."""
    user = _demo_user(email)
    _signed_in(app, tab, live, user)
    tab.goto(live + "/")
    assert urlsplit(tab.url).path == "/", f"{email} is not signed in: {tab.url}"
    paths = ["/", "/profile"] + [urlsplit(href).path for href in
                                  tab.locator("nav.main-nav a").evaluate_all("as => as.map(a => a.href)")]
    seen: list[str] = []
    for path in paths:
        if path in seen:
            continue
        seen.append(path)
        tab.goto(live + path)
        for href in tab.locator("main a").evaluate_all("as => as.map(a => a.getAttribute('href'))"):
            target = urlsplit(urljoin(live + path, href or "")).path
            if DETAIL.match(target) and target not in paths:
                paths.append(target)
                break
    return seen


def _reached_what_matters(visited: dict[str, list[str]]) -> None:
    assert any(p.startswith("/bulletins/") for p in visited["ben.risk@harbourbank.example"]), visited
    assert any(p.startswith("/submissions/") for p in visited["ben.risk@harbourbank.example"]), visited
    assert "/deportee-notifications" in visited["aroha.publisher@customs.example"], visited
    assert any(p.startswith("/deportee-notifications/") for p in visited["sefo.officer@police.ws.example"]), visited
    assert any(p.startswith("/admin") for p in visited["admin@portal.example"]), visited
    # Menus offer only what a role can use: a bank's risk officer is never sent a deportee notification.
    assert "/deportee-notifications" not in visited["ben.risk@harbourbank.example"], visited
    assert sum(len(v) for v in visited.values()) >= 30, visited


def test_no_page_scrolls_sideways_at_390_px(app, live_server, page):  # noqa: F811
    load_demo()
    page.set_viewport_size(PHONE)
    shots = ARTIFACTS / "390px"
    shots.mkdir(parents=True, exist_ok=True)
    visited: dict[str, list[str]] = {}
    too_wide: list[tuple[str, str, int]] = []
    for email in PEOPLE:
        visited[email] = _walk(app, page, live_server, email)
        for path in visited[email]:
            response = page.goto(live_server + path)
            assert response is not None and response.status == 200, (email, path, response and response.status)
            excess = _overflow(page)
            if excess > 0:
                too_wide.append((email, path, excess))
            slug = re.sub(r"[^a-z0-9]+", "-", f"{email.split('@')[0]}{path}".lower()).strip("-")
            page.screenshot(path=str(shots / f"{slug}.png"), full_page=True)
    _reached_what_matters(visited)
    assert too_wide == [], f"pages wider than 390 px (person, page, excess px): {too_wide}"


#: axe-core's rules for WCAG 2.0, 2.1 and 2.2 at levels A and AA, and its best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]


def test_axe_finds_no_accessibility_violation_on_any_main_page_in_english_or_samoan(app, live_server, page):  # noqa: F811
    """Every page of the walk above, for three English readers and a Samoan one (Sefo reads the
    portal in Gagana Sāmoa), at desktop and phone widths: zero violations."""
    from axe_playwright_python.sync_playwright import Axe

    load_demo()
    axe = Axe()
    visited: dict[str, list[str]] = {}
    violations: list[str] = []
    for email in PEOPLE:
        visited[email] = _walk(app, page, live_server, email)
        for size in ({"width": 1280, "height": 900}, PHONE):
            page.set_viewport_size(size)
            for path in visited[email]:
                page.goto(live_server + path)
                result = axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                                "resultTypes": ["violations"]})
                for violation in result.response["violations"]:
                    targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]][:3]
                    violations.append(f"{email} {size['width']}px {path}: {violation['id']} "
                                      f"({violation['impact']}) {violation['help']} at {targets}")
    assert page.evaluate("document.documentElement.lang") in ("en", "sm")
    _reached_what_matters(visited)
    assert violations == [], "\n".join(violations)


def _pdf_pages(tab: Any, url: str, name: str) -> list[str]:
    tab.goto(url)
    pdf = tab.pdf(format="A4")
    (ARTIFACTS / "print").mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "print" / f"{name}.pdf").write_bytes(pdf)
    return [(p.extract_text() or "").strip() for p in PdfReader(io.BytesIO(pdf)).pages]


def test_printed_pages_repeat_the_classification_marking_at_top_and_bottom(app, live_server, page):  # noqa: F811
    load_demo()
    author = _demo_user("aroha.publisher@customs.example")
    bulletin = db.session.scalar(select(Bulletin).where(Bulletin.author_org_id == author.organisation_id,
                                                        Bulletin.status == "published").order_by(Bulletin.id))
    # Long enough for several sheets of paper.
    bulletin.body_html = "".join(f"<p>Paragraph {n}: containers relabelled at transhipment; seals checked "
                                 f"against the manifest; weights compared with the declared goods.</p>"
                                 for n in range(160))
    db.session.commit()
    marking = f"{bulletin.classification.label} · TLP:{bulletin.tlp}"
    _signed_in(app, page, live_server, author)
    sheets = _pdf_pages(page, f"{live_server}/bulletins/{bulletin.id}", "bulletin")
    assert len(sheets) >= 3, len(sheets)
    for number, text in enumerate(sheets, 1):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        assert lines[0] == marking, (number, lines[:2])
        assert lines[-1] == marking, (number, lines[-2:])
    # The menus, the header and the forms are not printed.
    assert "Sign out" not in " ".join(sheets) and "Partner Sharing Portal" not in sheets[0].splitlines()[0]

    analyst = _demo_user("nadia.analyst@fiu.example")
    report = db.session.scalar(select(Submission).where(Submission.recipient_org_id == analyst.organisation_id,
                                                        Submission.status != "draft").order_by(Submission.id))
    _signed_in(app, page, live_server, analyst)
    for text in _pdf_pages(page, f"{live_server}/submissions/{report.reference}", "report"):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        assert lines[0] == lines[-1] == report.classification.label, lines

    officer = _demo_user("sefo.officer@police.ws.example")
    notification = db.session.scalar(select(DeporteeNotification).where(
        DeporteeNotification.destination_country == "WS").order_by(DeporteeNotification.id))
    _signed_in(app, page, live_server, officer)
    for text in _pdf_pages(page, f"{live_server}/deportee-notifications/{notification.id}", "notification"):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        assert lines[0] == lines[-1] == notification.classification.label, lines


def test_after_an_error_the_focus_is_on_the_error_summary(app, live_server, page):  # noqa: F811
    """A keyboard or screen-reader user meets the problems first: after a refused form the focus is
    on the error summary (autofocus, no script needed), whose links lead to each field."""
    load_demo()
    _signed_in(app, page, live_server, _demo_user("aroha.publisher@customs.example"))
    page.goto(live_server + "/bulletins/new")
    page.get_by_label("Title").fill("")
    page.locator("button[value=publish]").first.click()
    page.locator(".error-summary").wait_for()
    assert page.evaluate("document.activeElement.className") == "error-summary"
    first = page.locator(".error-summary a").first.get_attribute("href")
    assert first and first.startswith("#") and page.locator(first).count() == 1
