"""The notification engine: outbox, inbox, e-mail over real SMTP, signed webhooks, ceilings,
preferences and digests, retries and dead letters, and jobs that run once across processes."""
from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import re

import pytest
from sqlalchemy import func, select, update

from portal.bulletins.models import Bulletin, BulletinAudience
from portal.config import settings
from portal.extensions import db
from portal.jobs import run_due_jobs
from portal.notifications import delivery as engine
from portal.notifications.webhooks import verify
from portal.outbox import Delivery, NotificationPreference, OutboxMessage, WebhookEndpoint, notify
from portal.types import utcnow
from portal.vocabulary import Classification
from tests.conftest import csrf_from, sign_in
from tests.idp import free_port
from tests.mail import HttpReceiver, SmtpSink

SMTP_PORT = free_port()


@pytest.fixture
def extra_settings():
    return {"smtp_port": SMTP_PORT, "delivery_retry_seconds": 1}


@pytest.fixture
def smtp():
    sink = SmtpSink(SMTP_PORT).start()
    yield sink
    sink.stop()


@pytest.fixture
def receiver():
    server = HttpReceiver()
    yield server
    server.stop()


@pytest.fixture
def people(world):
    customs = world.org("customs", "government", "customs", name="NZ Customs")
    bank = world.org("harbour-bank", "private", "banking", name="Harbour Bank")
    other = world.org("kowhai-bank", "private", "banking", name="Kowhai Bank")
    port = world.org("port", "private", "ports", name="Port")
    return {
        "author": world.user("author@customs.example", customs, ("publisher",), clearance="RESTRICTED"),
        "ben": world.user("ben@harbour.example", bank, ("submitter",), clearance="SENSITIVE", locale="fr"),
        "olivia": world.user("olivia@harbour.example", bank, ("org-admin",), clearance="SENSITIVE"),
        "lucy": world.user("lucy@kowhai.example", other, clearance="SENSITIVE"),
        "rangi": world.user("rangi@port.example", port, clearance="SENSITIVE"),
        "bank": bank, "customs": customs,
    }


def publish(people, title="Mule accounts", summary="Watch for new accounts receiving many transfers.",
            level="IN-CONFIDENCE", tlp="GREEN", **audience):
    bulletin = Bulletin(author_org=people["customs"], title=title, summary=summary,
                        classification=Classification.parse(level), tlp=tlp, status="published",
                        published_at=utcnow())
    for kind, values in (audience or {"org": ["harbour-bank"]}).items():
        for value in values:
            bulletin.audience.append(BulletinAudience(kind=kind, value=value))
    db.session.add(bulletin)
    db.session.flush()
    notify("bulletin.published", "bulletin", bulletin.id, actor=people["author"])
    db.session.commit()
    return bulletin


def run_jobs():
    engine.dispatch()
    engine.deliver_email()
    engine.deliver_webhooks()


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_outbox_is_written_in_the_changes_transaction(app, people):
    bulletin = Bulletin(author_org=people["customs"], title="t", classification=Classification.UNCLASSIFIED,
                        tlp="GREEN", status="published")
    db.session.add(bulletin)
    db.session.flush()
    notify("bulletin.published", "bulletin", bulletin.id)
    db.session.rollback()  # the change failed: no notification either
    assert _count(OutboxMessage) == 0
    publish(people)
    assert _count(OutboxMessage) == 1


def test_email_and_inbox_reach_exactly_the_audience(app, client, smtp, people):
    publish(people, org=["harbour-bank"])
    run_jobs()
    recipients = sorted(m["To"] for m in smtp.messages)
    assert recipients == ["ben@harbour.example", "olivia@harbour.example"]
    message = smtp.to("ben@harbour.example")[0]
    delivery = db.session.scalar(select(Delivery).where(Delivery.channel == "email",
                                                        Delivery.user_id == people["ben"].id))
    assert message["Message-ID"] == f"<{delivery.id}@localhost>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Mule accounts" in text and "http://localhost/bulletins/" in text and "<a href=" in html
    sign_in(client, people["olivia"])
    page = client.get("/").get_data(as_text=True)
    assert "1 unread" in page
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "Mule accounts" in inbox
    client.post(f"/inbox/{_inbox_id(people['olivia'])}/read", data={"csrf_token": csrf_from(inbox)})
    assert "unread" not in client.get("/").get_data(as_text=True).split("</header>")[0]


def _inbox_id(user):
    return db.session.scalar(select(Delivery.id).where(Delivery.channel == "inbox", Delivery.user_id == user.id))


def test_email_is_in_the_recipients_language(app, smtp, people):
    publish(people)
    run_jobs()
    text = smtp.to("ben@harbour.example")[0].get_body(("plain",)).get_content()
    assert "Ouvrez-le dans le portail" in text and "Open it in the portal" not in text


@pytest.mark.parametrize("extra_settings", [{"smtp_port": SMTP_PORT, "delivery_retry_seconds": 600}])
def test_smtp_down_then_back_every_message_arrives_exactly_once(app, people):
    publish(people)
    publish(people, title="Second")
    run_jobs()  # nobody listens on the SMTP port yet
    pending = db.session.scalars(select(Delivery).where(Delivery.channel == "email")).all()
    assert len(pending) == 4 and all(d.status == "pending" and d.attempts == 1 for d in pending)
    assert all("SMTP server unavailable" in d.last_error for d in pending)
    # backed off by the retry delay, with jitter (a long delay: a loaded machine must not make them due)
    assert all(d.next_attempt_at > utcnow() + dt.timedelta(seconds=400) for d in pending)
    sink = SmtpSink(SMTP_PORT).start()
    try:
        run_jobs()  # not yet due: backoff
        assert sink.messages == []
        db.session.execute(update(Delivery).values(next_attempt_at=utcnow()))
        db.session.commit()
        run_jobs()
        run_jobs()
        ids = [m["Message-ID"] for m in sink.messages]
        assert len(ids) == 4 and len(set(ids)) == 4
    finally:
        sink.stop()


def test_crash_between_commit_and_send_loses_nothing(app, smtp, people):
    publish(people)
    engine.dispatch()
    claimed = engine.claim("email")  # this process claims, then dies before sending
    assert len(claimed) == 2
    db.session.rollback()
    engine.deliver_email()
    assert smtp.messages == []  # still leased to the dead process
    db.session.execute(update(Delivery).values(lease_until=utcnow() - dt.timedelta(seconds=1)))
    db.session.commit()
    engine.deliver_email()
    assert sorted(m["To"] for m in smtp.messages) == ["ben@harbour.example", "olivia@harbour.example"]


def test_crash_before_dispatch_loses_nothing(app, smtp, people):
    publish(people)  # committed with its change; the process dies before any job runs
    assert _count(Delivery) == 0
    run_jobs()  # another process, later
    assert len(smtp.messages) == 2


def test_webhook_500_then_200_delivered_once_and_signature_verifies(app, receiver, people, smtp):
    endpoint = WebhookEndpoint(organisation_id=people["bank"].id, user_id=people["olivia"].id, name="case system",
                               url=receiver.url)
    endpoint.secret = "shared-secret"
    db.session.add(endpoint)
    db.session.commit()
    receiver.statuses = [500]
    publish(people)
    run_jobs()
    delivery = db.session.scalar(select(Delivery).where(Delivery.channel == "webhook"))
    assert delivery.status == "pending" and delivery.attempts == 1
    db.session.execute(update(Delivery).values(next_attempt_at=utcnow()))
    db.session.commit()
    run_jobs()
    run_jobs()
    assert [r["status"] for r in receiver.requests] == [500, 200]
    first, second = receiver.requests
    assert first["headers"]["X-Portal-Delivery"] == second["headers"]["X-Portal-Delivery"] == delivery.id
    headers, body = second["headers"], second["body"]
    assert verify("shared-secret", headers["X-Portal-Timestamp"], body, headers["X-Portal-Signature"])
    assert not verify("wrong-secret", headers["X-Portal-Timestamp"], body, headers["X-Portal-Signature"])
    assert not verify("shared-secret", headers["X-Portal-Timestamp"], body + b" ", headers["X-Portal-Signature"])
    payload = json.loads(body)
    assert payload["event"] == "bulletin.published" and payload["object"]["title"] == "Mule accounts"
    db.session.refresh(delivery)
    assert delivery.status == "sent"


@pytest.mark.parametrize("level, tlp, shown", [
    ("IN-CONFIDENCE", "GREEN", True), ("UNCLASSIFIED", "CLEAR", True),
    ("SENSITIVE", "GREEN", False), ("UNCLASSIFIED", "AMBER", False), ("RESTRICTED", "RED", False),
])
def test_channel_ceilings_hold(app, smtp, receiver, people, level, tlp, shown):
    endpoint = WebhookEndpoint(organisation_id=people["bank"].id, user_id=people["olivia"].id, name="x",
                               url=receiver.url)
    endpoint.secret = "s"
    db.session.add(endpoint)
    db.session.commit()
    audience = {"user": ["ben@harbour.example", "olivia@harbour.example"]} if tlp == "RED" else {"org": ["harbour-bank"]}
    if level == "RESTRICTED":
        for person in ("ben", "olivia"):
            people[person].clearance = Classification.RESTRICTED
        db.session.commit()
    bulletin = publish(people, title="Secret title words", summary="Secret summary words", level=level, tlp=tlp,
                       **audience)
    run_jobs()
    mail = smtp.to("ben@harbour.example")[0]
    text = mail.get_body(("plain",)).get_content() + mail.get_body(("html",)).get_content() + mail["Subject"]
    body = receiver.requests[0]["body"].decode()
    for channel_text in (text, body):
        assert ("Secret title words" in channel_text) is shown
        assert ("Secret summary words" in channel_text) is shown
        assert f"Bulletin {bulletin.id}" in channel_text and f"/bulletins/{bulletin.id}" in channel_text


def test_recipient_who_lost_clearance_meanwhile_gets_nothing(app, smtp, people):
    publish(people, level="SENSITIVE")
    engine.dispatch()
    people["ben"].clearance = Classification.IN_CONFIDENCE
    db.session.commit()
    engine.deliver_email()
    assert [m["To"] for m in smtp.messages] == ["olivia@harbour.example"]
    withheld = db.session.scalar(select(Delivery).where(Delivery.user_id == people["ben"].id,
                                                        Delivery.channel == "email"))
    assert withheld.status == "withheld"


def test_preferences_off_and_digest(app, smtp, people):
    db.session.add(NotificationPreference(user_id=people["ben"].id, event="bulletin.published", mode="off"))
    db.session.add(NotificationPreference(user_id=people["olivia"].id, event="bulletin.published", mode="digest"))
    people["olivia"].digest_hour = 7
    people["olivia"].time_zone = "Pacific/Apia"
    db.session.commit()
    publish(people, title="First")
    publish(people, title="Second", level="SENSITIVE")
    run_jobs()
    assert smtp.messages == []
    assert _count(Delivery, Delivery.user_id == people["ben"].id) == 0
    waiting = db.session.scalars(select(Delivery).where(Delivery.status == "digest")).all()
    assert len(waiting) == 2
    due = waiting[0].next_attempt_at.astimezone(__import__("zoneinfo").ZoneInfo("Pacific/Apia"))
    assert (due.hour, due.minute) == (7, 0)
    engine.send_digests()
    assert smtp.messages == []  # not yet seven o'clock in Apia
    db.session.execute(update(Delivery).values(next_attempt_at=utcnow()))
    db.session.commit()
    engine.send_digests()
    assert len(smtp.messages) == 1
    digest = smtp.messages[0].get_body(("plain",)).get_content()
    assert "First" in digest and "Second" not in digest and "SENSITIVE" in digest  # within the ceiling
    assert all(d.status == "sent" for d in db.session.scalars(select(Delivery).where(Delivery.channel == "email")))


def test_refused_address_goes_dead_is_flagged_and_admin_retries(app, client, smtp, people, world):
    smtp.refuse.add("ben@harbour.example")
    publish(people)
    run_jobs()
    dead = db.session.scalar(select(Delivery).where(Delivery.status == "dead"))
    assert dead.user_id == people["ben"].id and "recipient refused" in dead.last_error
    db.session.refresh(people["ben"])
    assert people["ben"].email_failing_since is not None
    run_jobs()  # the failure notice reaches the organisation's admin, in the inbox only
    notice = db.session.scalar(select(OutboxMessage).where(OutboxMessage.event == "delivery.failing"))
    assert notice is not None
    assert _count(Delivery, Delivery.message_id == notice.id, Delivery.user_id == people["olivia"].id,
                  Delivery.channel == "inbox") == 1
    admin = world.user("admin@portal.example", people["customs"], ("admin",))
    sign_in(client, admin)
    page = client.get("/admin/deliveries").get_data(as_text=True)
    assert "ben@harbour.example" in page and "recipient refused" in page
    smtp.refuse.clear()
    response = client.post("/admin/deliveries/retry", data={"csrf_token": csrf_from(page), "delivery": [dead.id]})
    assert response.status_code == 302
    run_jobs()
    assert len(smtp.to("ben@harbour.example")) == 1


def test_backoff_grows_with_jitter(app):
    delays = [engine.backoff(n).total_seconds() for n in (1, 2, 3, 4)]
    for n, delay in enumerate(delays, start=1):
        assert 0.8 * 2 ** (n - 1) <= delay <= 1.2 * 2 ** (n - 1)  # retry base is 1 s in these tests


def test_gives_up_after_max_attempts(app, people):
    publish(people)
    engine.dispatch()
    for _ in range(settings(app).delivery_max_attempts):
        db.session.execute(update(Delivery).values(next_attempt_at=utcnow()))
        db.session.commit()
        engine.deliver_email()  # SMTP is down throughout
    statuses = set(db.session.scalars(select(Delivery.status).where(Delivery.channel == "email")))
    assert statuses == {"dead"}


def test_failing_webhook_is_flagged(app, receiver, people):
    endpoint = WebhookEndpoint(organisation_id=people["bank"].id, user_id=people["olivia"].id, name="x",
                               url=receiver.url)
    endpoint.secret = "s"
    db.session.add(endpoint)
    db.session.commit()
    receiver.statuses = [500] * 10
    for n in range(3):
        publish(people, title=f"B{n}")
    run_jobs()
    db.session.refresh(endpoint)
    assert endpoint.consecutive_failures == 3 and endpoint.failing_since is not None
    assert _count(OutboxMessage, OutboxMessage.event == "delivery.failing") == 1


def test_org_admin_registers_a_webhook(app, client, people):
    sign_in(client, people["olivia"])
    page = client.get("/admin/webhooks/new").get_data(as_text=True)
    bad = client.post("/admin/webhooks/new", data={"csrf_token": csrf_from(page), "name": "x", "url": "ftp://x"})
    assert bad.status_code == 400 and _count(WebhookEndpoint) == 0
    good = client.post("/admin/webhooks/new", data={"csrf_token": csrf_from(page), "name": "Case system",
                                                    "url": "https://hooks.harbour.example/portal",
                                                    "events": ["bulletin.published"]})
    assert good.status_code == 302
    listing = client.get("/admin/webhooks").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([^<]+)</code>', listing).group(1)
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    assert endpoint.secret == secret and secret not in endpoint.secret_sealed
    assert secret not in client.get("/admin/webhooks").get_data(as_text=True)  # shown once


def test_preferences_page(app, client, people):
    sign_in(client, people["ben"])
    page = client.get("/profile/notifications").get_data(as_text=True)
    response = client.post("/profile/notifications", data={"csrf_token": csrf_from(page), "digest_hour": "18",
                                                           "mode-bulletin.published": "digest"})
    assert response.status_code == 302
    db.session.refresh(people["ben"])
    assert people["ben"].digest_hour == 18
    assert db.session.get(NotificationPreference, (people["ben"].id, "bulletin.published")).mode == "digest"
    bad = client.post("/profile/notifications", data={"csrf_token": csrf_from(page), "digest_hour": "25"})
    assert bad.status_code == 400


def test_pending_account_emails_the_organisations_admins(app, smtp, people, world):
    newcomer = world.user("new@harbour.example", people["bank"], (), pending=True)
    notify("account.pending", "user", newcomer.id, actor=newcomer)
    db.session.commit()
    run_jobs()
    assert [m["To"] for m in smtp.messages] == ["olivia@harbour.example"]
    assert "new@harbour.example" in smtp.messages[0]["Subject"]


# --- Jobs across processes ---------------------------------------------------------------------

def _contend(database_url: str, instance: str, barrier, results) -> None:
    import time

    from app import create_app
    from portal import jobs
    from portal.settings_store import RunTimeSetting, write
    from tests.conftest import settings_for

    application = create_app(settings_for(database_url, __import__("pathlib").Path(instance)))

    @jobs.register("test.once", every=dt.timedelta(hours=1))
    def once() -> None:
        write(RunTimeSetting(f"ran-{__import__('os').getpid()}", bool, False), True)
        db.session.commit()
        time.sleep(0.5)

    with application.app_context():
        barrier.wait()
        results.put(jobs.run_due_jobs())


def test_a_job_runs_once_with_two_processes(app, database_url, tmp_path):
    from portal.settings_store import PortalSetting

    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_contend, args=(database_url, str(tmp_path / f"i{n}"), barrier, results))
               for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    ran = [results.get(timeout=5) for _ in workers]
    assert sorted("test.once" in r for r in ran) == [False, True]
    assert _count(PortalSetting, PortalSetting.key.like("ran-%")) == 1


def test_jobs_run_once_command_delivers(app, smtp, people):
    publish(people)
    result = app.test_cli_runner().invoke(args=["jobs", "run-once"])
    assert result.exit_code == 0 and "outbox.email" in result.output
    assert len(smtp.messages) == 2
    again = app.test_cli_runner().invoke(args=["jobs", "run-once"])
    assert again.exit_code == 0 and len(smtp.messages) == 2


def test_run_due_jobs_respects_intervals(app):
    assert "outbox.digests" in run_due_jobs()
    assert "outbox.digests" not in run_due_jobs()  # every minute


def test_xss_in_a_title_is_inert_in_emails_and_webhooks(app, smtp, receiver, people):
    endpoint = WebhookEndpoint(organisation_id=people["bank"].id, user_id=people["olivia"].id, name="x",
                               url=receiver.url)
    endpoint.secret = "s"
    db.session.add(endpoint)
    db.session.commit()
    publish(people, title="<script>alert('XSS')</script><img src=x onerror=alert(1)>",
            summary="<a href=\"javascript:alert(1)\">click</a>")
    run_jobs()
    html = smtp.to("ben@harbour.example")[0].get_body(("html",)).get_content()
    assert "<script>" not in html and "<img" not in html and "<a href=\"javascript" not in html
    assert "&lt;script&gt;" in html
    body = json.loads(receiver.requests[0]["body"])
    assert body["object"]["title"].startswith("<script>")  # JSON carries text; receivers must escape it


def test_inbox_costs_the_same_queries_for_few_and_many_items(app, client, people):
    from tests.test_bulletin_pages import counting_queries

    sign_in(client, people["ben"])

    def inbox_queries():
        client.get("/inbox")
        with counting_queries() as counter:
            assert client.get("/inbox").status_code == 200
        return counter["n"]

    publish(people, title="One")
    engine.dispatch()
    one = inbox_queries()
    for n in range(12):
        publish(people, title=f"Bulletin {n}")
    engine.dispatch()
    assert inbox_queries() == one
    assert "Bulletin 11" in client.get("/inbox").get_data(as_text=True)


# --- The forms are checked by their declarations (portal/notifications/schemas.py) ------------------

def _refusal(model, data):
    from portal.payloads import check
    from portal.problems import Invalid

    with pytest.raises(Invalid) as refused:
        check(model, data)
    return refused.value.fields


@pytest.mark.parametrize("hour", ["24", "-1", "noon"])
def test_preferences_page_refuses_a_bad_hour_in_the_declarations_words_and_changes_nothing(client, people, hour):
    from markupsafe import escape

    from portal.notifications.schemas import PreferencesInput

    words = _refusal(PreferencesInput, {"digest_hour": hour})["digest_hour"]
    sign_in(client, people["olivia"])
    before = people["olivia"].digest_hour
    page = client.get("/profile/notifications").get_data(as_text=True)
    bad = client.post("/profile/notifications", data={"csrf_token": csrf_from(page), "digest_hour": hour,
                                                      "mode-bulletin.published": "digest"})
    assert bad.status_code == 400 and all(str(escape(w)) in bad.get_data(as_text=True) for w in words)
    db.session.refresh(people["olivia"])
    assert people["olivia"].digest_hour == before
    assert db.session.get(NotificationPreference, (people["olivia"].id, "bulletin.published")) is None
    unknown = client.post("/profile/notifications", data={"csrf_token": csrf_from(page), "digest_hour": "7",
                                                          "mode-bulletin.published": "hourly"})
    assert unknown.status_code == 400 and db.session.get(NotificationPreference,
                                                         (people["olivia"].id, "bulletin.published")) is None
    assert client.post("/profile/notifications", data={"digest_hour": "7"}).status_code == 400  # no CSRF token


@pytest.mark.parametrize("form, key", [
    ({"name": "", "url": "https://hooks.harbour.example/p"}, "name"),
    ({"name": "N" * 101, "url": "https://hooks.harbour.example/p"}, "name"),
    ({"name": "Case system", "url": "https://hooks.harbour.example/" + "p" * 1000}, "url"),
    ({"name": "Case system", "url": "https://hooks.harbour.example/p", "events": ["no.such-event"]}, "events"),
])
def test_webhook_form_refuses_a_bad_value_in_the_declarations_words_and_stores_nothing(client, people, form, key):
    from markupsafe import escape

    from portal.notifications.schemas import WebhookInput

    words = _refusal(WebhookInput, {k: v for k, v in form.items() if v != ""})[key]
    sign_in(client, people["olivia"])
    page = client.get("/admin/webhooks/new").get_data(as_text=True)
    bad = client.post("/admin/webhooks/new", data={"csrf_token": csrf_from(page), **form})
    assert bad.status_code == 400 and all(str(escape(w)) in bad.get_data(as_text=True) for w in words)
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0
