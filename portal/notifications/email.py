"""E-mail: plain text and HTML, in the recipient's language, within the channel's ceiling.

The Message-ID is derived from the delivery id, so a retried message carries the same id and the
receiving side can drop a duplicate.
"""
from __future__ import annotations

import smtplib
import ssl
from types import SimpleNamespace
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import Any
from urllib.parse import urlparse

from flask import render_template
from markupsafe import escape

from portal.accounts.models import User
from portal.config import settings
from portal.i18n import N_
from portal.i18n import gettext as _
from portal.outbox import Ceiling, Delivery, Subject




def _domain() -> str:
    return urlparse(settings().base_url).hostname or "portal.invalid"


def message_id_for(key: str) -> str:
    return f"<{key}@{_domain()}>"


def _clean(text: str) -> str:
    """Header values: one line, bounded."""
    return " ".join(str(text).split())[:200]


def view(subject: Subject, ceiling: Ceiling) -> dict[str, Any]:
    """What this channel may show of a subject: all of it within the ceiling, else reference + link."""
    allowed = ceiling.allows(subject)
    return {
        "allowed": allowed,
        "reference": subject.reference,
        "title": subject.title if allowed else "",
        "summary": subject.summary if allowed else "",
        "classification": subject.classification.label,
        "tlp": subject.tlp,
        "org": subject.org,
        "url": settings().base_url + subject.path,
        "facts": subject.facts,
    }


EVENT_SUBJECTS = {
    "bulletin.published": N_("New bulletin"),
    "bulletin.amended": N_("Bulletin amended"),
    "bulletin.withdrawn": N_("Bulletin withdrawn"),
    "bulletin.answered": N_("New message on a bulletin"),
    "bulletin.review_requested": N_("A bulletin waits for your approval"),
    "submission.received": N_("New suspicious-activity report"),
    "submission.feedback": N_("Feedback on your report"),
    "submission.receipt": N_("Receipt for your report"),
    "deportee.notified": N_("Deportee notification"),
    "deportee.updated": N_("Deportee notification update"),
    "deportee.reminder": N_("Reminder: a deportee arrives soon, not yet acknowledged"),
    "deportee.escalated": N_("Escalation: a deportee notification is not acknowledged"),
    "rfi.received": N_("Request for information"),
    "rfi.replied": N_("Reply to a request for information"),
    "rating.reassess": N_("Resilience rating: reassessment due"),
    "account.pending": N_("Waiting for your approval"),
    "delivery.failing": N_("Deliveries are failing"),
    "account.changed": N_("Your account"),
    "account.password_reset": N_("Reset your password"),
    "scorecard.below-target": N_("Sharing scorecard below target"),
    "scorecard.report": N_("Quarterly accountability report"),
}


def event_title(event: str) -> str:
    return _(EVENT_SUBJECTS.get(event, N_("Notification")))


#: Where each recipient's own greeting goes in a body rendered once for everyone of a language.
GREETING_SLOT = "\x1egreeting\x1e"


def _mime(user: Any, subject_line: str, message_id: str, text: str, html: str) -> MIMEMultipart:
    """A multipart/alternative message. Built with email.mime: a fraction of EmailMessage's cost."""
    message = MIMEMultipart("alternative")
    message["Subject"] = Header(_clean(subject_line), "utf-8").encode()
    message["From"] = settings().mail_from
    message["To"] = user.email
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = user.locale
    message.attach(MIMEText(text, "plain", "utf-8"))
    message.attach(MIMEText(html, "html", "utf-8"))
    return message


def _greet(user: User, text: str, html: str) -> tuple[str, str]:
    greeting = _("Kia ora %(name)s,", name=user.display_name or user.email)
    return text.replace(GREETING_SLOT, greeting), html.replace(GREETING_SLOT, str(escape(greeting)))


def compose_one(delivery: Delivery, user: User, subject: Subject, ceiling: Ceiling,
                cache: dict[Any, tuple[str, str, str]] | None = None) -> MIMEMultipart:
    """One notification. Bodies are rendered once per message, language and time zone (``cache``)."""
    key = (delivery.message_id, user.locale, user.time_zone)
    rendered = cache.get(key) if cache is not None else None
    if rendered is None:
        item = view(subject, ceiling)
        context = {"greeting": GREETING_SLOT, "event": event_title(delivery.message.event), "item": item,
                   "occurred_at": delivery.message.created_at,
                   "profile_url": settings().base_url + "/profile/notifications"}
        rendered = (f"{context['event']}: {item['title'] or item['reference']}",
                    render_template("email/notification.txt", **context),
                    render_template("email/notification.html", **context))
        if cache is not None:
            cache[key] = rendered
    line, text, html = rendered
    text, html = _greet(user, text, html)
    return _mime(user, line, message_id_for(delivery.id), text, html)


def compose_digest(user: User, items: list[tuple[Delivery, Subject]], ceiling: Ceiling) -> MIMEMultipart:
    entries = [{"event": event_title(d.message.event), "occurred_at": d.message.created_at, **view(s, ceiling)}
               for d, s in items]
    context = {"greeting": GREETING_SLOT, "entries": entries,
               "profile_url": settings().base_url + "/profile/notifications"}
    key = "digest-" + "-".join(sorted(d.id[:8] for d, _ in items))[:120]
    text, html = _greet(user, render_template("email/digest.txt", **context),
                        render_template("email/digest.html", **context))
    return _mime(user, _("Your daily digest: %(n)s items", n=len(entries)), message_id_for(key), text, html)


def compose_external(delivery: Delivery, address: str, facts: dict[str, Any]) -> MIMEMultipart:
    """An e-mail to an address outside the portal (an accountable executive who is no user): the
    scores, in the portal's default language, and nothing else — no titles, no links."""
    context = {"event": event_title(delivery.message.event), **facts}
    recipient = SimpleNamespace(email=address, locale=settings().default_language)
    return _mime(recipient, context["event"] + f": {facts['organisation']} {facts['period']}",
                 message_id_for(delivery.id), render_template("email/scores_only.txt", **context),
                 render_template("email/scores_only.html", **context))


def connect() -> smtplib.SMTP:
    s = settings()
    if s.smtp_security == "tls":
        connection: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds,
                                                    context=ssl.create_default_context())
    else:
        connection = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
        if s.smtp_security == "starttls":
            connection.starttls(context=ssl.create_default_context())
    if s.smtp_username:
        connection.login(s.smtp_username, s.smtp_password.get_secret_value())
    return connection


