"""Pages: the inbox, notification preferences, webhook endpoints, and dead letters."""
from __future__ import annotations

import secrets
import time
from datetime import timedelta

from flask import Blueprint, abort, flash, g, has_request_context, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select, update
from wtforms import StringField

from portal import jobs, permissions, policy, reads
from portal.accounts.models import User
from portal.accounts.session_auth import recent_auth_required
from portal.admin.forms import CheckboxList
from portal.audit import trail
from portal.extensions import db
from portal.payloads import check, from_form
from portal.problems import Invalid
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.notifications import delivery as engine
from portal.notifications import topics
from portal.notifications.delivery import retry_dead
from portal.notifications.schemas import PreferencesInput, WebhookInput
from portal.notifications.webhooks import address_problem
from portal.outbox import EVENTS, PERSONAL_EVENTS, TOPICS, Delivery, NotificationPreference, OutboxMessage, WebhookEndpoint
from portal.types import utcnow

bp = Blueprint("notifications", __name__)
PAGE_SIZE = 50


class PostForm(FlaskForm):
    """A form with only its CSRF token, for buttons."""


#: The badge counts at most this many unread items (each checked against the policy).
UNREAD_CAP = 500


def _objects(pairs) -> dict[tuple[str, str], object]:
    """The objects messages are about, one query per kind: ``{(object_type, object_id): object}``."""
    wanted: dict[str, set[str]] = {}
    for kind, object_id in pairs:
        wanted.setdefault(kind, set()).add(object_id)
    return {(kind, object_id): obj for kind, ids in wanted.items() if kind in TOPICS
            for object_id, obj in TOPICS[kind].load_many(sorted(ids)).items()}


def unread_count(user: User) -> int:
    """Unread inbox items the reader may still read: the read policy holds for counts too, so an
    item about something the reader lost access to (withdrawn clearance, a report moved on) is
    not counted, exactly as the inbox shows it without its subject."""
    pairs = db.session.execute(
        select(OutboxMessage.object_type, OutboxMessage.object_id).join(Delivery, Delivery.message_id == OutboxMessage.id)
        .where(Delivery.user_id == user.id, Delivery.channel == "inbox", Delivery.status == "sent",
               Delivery.read_at.is_(None)).order_by(Delivery.created_at.desc()).limit(UNREAD_CAP)).all()
    if not pairs:
        return 0
    objects = _objects(pairs)
    return sum(1 for kind, object_id in pairs
               if (obj := objects.get((kind, object_id))) is not None and TOPICS[kind].readable(user, obj))


@bp.get("/inbox")
def inbox():
    user = policy.reader()
    rows = db.session.scalars(select(Delivery).where(Delivery.user_id == user.id, Delivery.channel == "inbox",
                                                     Delivery.status == "sent")
                              .order_by(Delivery.created_at.desc()).limit(PAGE_SIZE)).all()
    # One query per kind of object on the page, not one per item.
    objects = _objects((d.message.object_type, d.message.object_id) for d in rows)
    items = []
    for delivery in rows:
        message = delivery.message
        topic = TOPICS.get(message.object_type)
        obj = objects.get((message.object_type, message.object_id))
        # Checked again now: what the reader may no longer read shows only that it is gone.
        subject = topic.describe(obj) if obj is not None and topic.readable(user, obj) else None
        label = EVENTS.get(message.event) or PERSONAL_EVENTS.get(message.event, (message.event,))[0]
        items.append({"delivery": delivery, "event": label, "subject": subject})
    with reads.audit("inbox.list", "delivery", count=len(items)):
        return render_template("notifications/inbox.html", items=items, form=PostForm())


@bp.post("/inbox/<delivery_id>/read")
def mark_read(delivery_id: str):
    user = policy.reader()
    if not PostForm().validate_on_submit():
        abort(400)
    delivery = db.session.scalar(select(Delivery).where(Delivery.id == delivery_id, Delivery.user_id == user.id,
                                                        Delivery.channel == "inbox"))
    if delivery is None:
        abort(404)
    delivery.read_at = delivery.read_at or utcnow()
    db.session.commit()
    topic = TOPICS.get(delivery.message.object_type)
    obj = topic.load(delivery.message.object_id) if topic else None
    if request.form.get("open") and obj is not None and topic.readable(user, obj):
        return redirect(topic.describe(obj).path)
    return redirect(url_for("notifications.inbox"))


@bp.post("/inbox/read-all")
def mark_all_read():
    user = policy.reader()
    if not PostForm().validate_on_submit():
        abort(400)
    db.session.execute(update(Delivery).where(Delivery.user_id == user.id, Delivery.channel == "inbox",
                                              Delivery.read_at.is_(None)).values(read_at=utcnow()))
    db.session.commit()
    return redirect(url_for("notifications.inbox"))


# --- Preferences -----------------------------------------------------------------------------

@bp.route("/profile/notifications", methods=["GET", "POST"])
def preferences():
    user = policy.reader()
    current = {p.event: p.mode for p in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    errors: list[str] = []
    if request.method == "POST":
        if not PostForm().validate_on_submit():
            abort(400)
        hour = request.form.get("digest_hour") or None
        try:
            chosen = check(PreferencesInput, {
                "digest_hour": hour, "modes": {event: request.form.get(f"mode-{event}", "immediate") for event in EVENTS},
            })
        except Invalid as invalid:
            errors = [message for messages in invalid.fields.values() for message in messages]
        if not errors:
            user.digest_hour = chosen.digest_hour
            for event, mode in chosen.modes.items():
                row = db.session.get(NotificationPreference, (user.id, event))
                if row is None:
                    db.session.add(NotificationPreference(user_id=user.id, event=event, mode=mode))
                else:
                    row.mode = mode
            trail.record("user.notification_preferences.update", "user", user.id, user.organisation.slug,
                         digest_hour=user.digest_hour, modes=chosen.modes)
            db.session.commit()
            flash(_("Your notification settings are saved."), "info")
            return redirect(url_for("notifications.preferences"))
    return render_template("notifications/preferences.html", events=EVENTS, current=current, form=PostForm(),
                           errors=errors, user=user), 400 if errors else 200


# --- Webhook endpoints (org-admins) ------------------------------------------------------------

class EndpointForm(FlaskForm):
    """The fields as the page shows them (and its CSRF token); what they may hold is WebhookInput's."""

    name = StringField(_l("Name"))
    url = StringField(_l("Address (URL)"), description=_l("An https address of your organisation's system."))
    events = CheckboxList(_l("Events"), description=_l("Choose none to receive every event."), validate_choice=False)


def _org_admin() -> User:
    user = policy.reader()
    if not permissions.may_manage_webhooks(user):
        abort(404)
    return user


@bp.get("/admin/webhooks")
def webhooks():
    user = _org_admin()
    endpoints = db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.organisation_id == user.organisation_id).order_by(WebhookEndpoint.created_at)).all()
    return render_template("notifications/webhooks.html", endpoints=endpoints, form=PostForm(),
                           created=session.pop("new_webhook_secret", None))


@bp.route("/admin/webhooks/new", methods=["GET", "POST"])
@recent_auth_required
def new_webhook():
    user = _org_admin()
    form = EndpointForm()
    form.events.choices = [(event, str(label)) for event, label in EVENTS.items()]
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        try:
            given = from_form(WebhookInput, request.form)
        except Invalid as invalid:
            errors = invalid.fields
            given = None
        problem = address_problem(given.url.strip()) if given is not None else None
        if problem:
            errors["url"] = [_("This address cannot be used: %(why)s.", why=problem)]
        elif given is not None:
            secret = secrets.token_urlsafe(32)
            endpoint = WebhookEndpoint(organisation_id=user.organisation_id, user_id=user.id,
                                       name=given.name.strip(), url=given.url.strip(),
                                       events=",".join(given.events))
            endpoint.secret = secret
            db.session.add(endpoint)
            db.session.flush()
            trail.record("webhook.create", "webhook_endpoint", endpoint.id, user.organisation.slug,
                         url=endpoint.url, events=endpoint.events)
            db.session.commit()
            session["new_webhook_secret"] = {"name": endpoint.name, "secret": secret}
            return redirect(url_for("notifications.webhooks"))
    return render_template("notifications/webhook_form.html", form=form, errors=errors), \
        400 if form.is_submitted() else 200


@bp.post("/admin/webhooks/<int:endpoint_id>/deactivate")
def deactivate_webhook(endpoint_id: int):
    user = _org_admin()
    endpoint = db.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id,
                                                               WebhookEndpoint.organisation_id == user.organisation_id))
    if endpoint is None or not PostForm().validate_on_submit():
        abort(404)
    endpoint.active = False
    trail.record("webhook.deactivate", "webhook_endpoint", endpoint.id, user.organisation.slug)
    db.session.commit()
    return redirect(url_for("notifications.webhooks"))


# --- Dead letters (admins) ---------------------------------------------------------------------

@bp.get("/admin/deliveries")
def dead_letters():
    user = policy.reader()
    if not permissions.may_manage_dead_letters(user):
        abort(404)
    rows = db.session.execute(
        select(Delivery, OutboxMessage.event, User.email, WebhookEndpoint.url)
        .join(OutboxMessage, Delivery.message_id == OutboxMessage.id)
        .outerjoin(User, Delivery.user_id == User.id)
        .outerjoin(WebhookEndpoint, Delivery.endpoint_id == WebhookEndpoint.id)
        .where(Delivery.status == "dead").order_by(Delivery.created_at.desc()).limit(500)).all()
    return render_template("notifications/dead_letters.html", rows=rows, form=PostForm())


@bp.post("/admin/deliveries/retry")
def retry_dead_letters():
    user = policy.reader()
    if not permissions.may_manage_dead_letters(user) or not PostForm().validate_on_submit():
        abort(404)
    ids = request.form.getlist("delivery")
    count = retry_dead(ids)
    trail.record("delivery.retry", "delivery", count=count, ids=ids[:50])
    db.session.commit()
    flash(_("%(n)s deliveries will be tried again.", n=count), "info")
    return redirect(url_for("notifications.dead_letters"))


def init_app(app) -> None:
    topics.register_all()

    def drain(step, seconds: float = 50.0):
        def run() -> None:
            deadline = time.monotonic() + seconds
            while step() and time.monotonic() < deadline:
                pass
        return run

    jobs.register("outbox.dispatch", lease=timedelta(minutes=2))(drain(engine.dispatch))
    jobs.register("outbox.email", lease=timedelta(minutes=2))(drain(engine.deliver_email))
    jobs.register("outbox.webhooks", lease=timedelta(minutes=2))(drain(engine.deliver_webhooks))
    jobs.register("outbox.digests", every=timedelta(minutes=1), lease=timedelta(minutes=5))(
        drain(engine.send_digests))

    @app.context_processor
    def inbox_context():
        if not has_request_context():
            return {}
        user = g.get("portal_user")
        if user is None or getattr(user, "pending", False) or request.path.startswith("/api/"):
            return {"unread_count": 0}
        return {"unread_count": unread_count(user)}

