"""Bulletin pages: the feed, reading, writing, reviewing, and answering. Works without JavaScript."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import raiseload

from portal import attachments, downloads, permissions, policy, reads
from portal.accounts.session_auth import recent_auth_required
from portal.dates import from_form, parse_instant, time_zone_for_country
from portal.bulletins import filters, service
from portal.bulletins.indicators import TYPES
from portal.bulletins.models import (
    FEEDBACK_RATINGS,
    Bulletin,
    BulletinAcknowledgement,
    BulletinAttachment,
    BulletinAudience,
    BulletinFeedback,
    BulletinQuestion,
    BulletinRead,
    BulletinVersion,
    needs_second_publisher,
)
from portal.config import settings
from portal.extensions import db
from portal.i18n import country_name, zone, gettext as _
from portal.labels import label
from portal.notifications.topics import BulletinTopic
from portal.organisations import choices
from portal.organisations.models import Organisation
from portal.outbox import OutboxMessage
from portal.pages import ActionForm, confirmation, flash_fields
from portal.types import utcnow
from portal.vocabulary import TLP, Classification

bp = Blueprint("bulletins", __name__, url_prefix="/bulletins")
PAGE_SIZE = 50
#: The feed's organisation filter offers the authors of the reader's newest this many readable
#: bulletins: a few index steps per page (``policy.newest_readable_bulletin_ids``), where every
#: readable bulletin's author took a scan of all of them (seconds at a million bulletins).
SENDER_WINDOW = 500



def feed_statement(user, args) -> Any:
    """The feed: what the reader may read, filtered, with an unread flag — one query per page."""
    unread = ~exists().where(BulletinRead.bulletin_id == Bulletin.id, BulletinRead.user_id == user.id)
    statement = select(Bulletin, unread.label("unread")).where(policy.bulletin_readable(user))
    now = utcnow()
    if args.get("archive") == "1":
        statement = statement.where(Bulletin.expires_at <= now)
    else:
        statement = statement.where(or_(Bulletin.expires_at.is_(None), Bulletin.expires_at > now))
    statement, _problems = filters.apply(statement, args)  # the page leaves out what it cannot use
    if before := args.get("before", type=int):
        statement = statement.where(Bulletin.id < before)
    # The feed shows none of these: never load them (raiseload makes a template that starts to
    # use them fail loudly, rather than quietly issue a query per row).
    return statement.order_by(Bulletin.id.desc()).options(
        raiseload(Bulletin.audience), raiseload(Bulletin.indicators), raiseload(Bulletin.typologies),
        raiseload(Bulletin.attachments))


@bp.get("")
def index():
    user = policy.reader()
    rows = db.session.execute(feed_statement(user, request.args).limit(PAGE_SIZE + 1)).all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    filters = {k: v for k, v in request.args.items() if k not in ("before", "author_org") and v}
    authors = [v for v in request.args.getlist("author_org") if v]
    conf = settings()
    # The organisation filter offers only the organisations whose bulletins the reader already
    # receives (a list of every member would tell a partner who else is on the portal): the
    # authors of its newest SENDER_WINDOW readable bulletins.
    senders = recent_senders(user)
    with reads.listed(Bulletin, len(rows), searched=bool(filters.get("q")), filters={
            **{k: v for k, v in filters.items() if k != "q"}, **({"author_org": authors} if authors else {})}):
        return render_template("bulletins/index.html", rows=rows, filters=filters, authors=authors,
                               author_groups=choices.organisation_groups(senders),
                               next_before=rows[-1][0].id if more else None, typologies=conf.typologies,
                               classifications=Classification.labels(), tlps=[t.value for t in TLP])


def recent_senders(user) -> list[Organisation]:
    """The organisations that wrote any of the newest ``SENDER_WINDOW`` bulletins ``user`` may read,
    by name (bounded work: the newest readable bulletins come from the access rule's five indexed
    ways, ``policy.newest_readable_bulletin_ids``)."""
    newest = policy.newest_readable_bulletin_ids().subquery("newest")
    authors = select(Bulletin.author_org_id).join(newest, newest.c.id == Bulletin.id)
    return list(db.session.scalars(
        select(Organisation).where(Organisation.id.in_(authors)).order_by(Organisation.name),
        {**policy.bulletin_rule_facts(user), "page_rows": SENDER_WINDOW}))


@bp.get("/<int:bulletin_id>")
def show(bulletin_id: int):
    user = policy.reader()
    bulletin = reads.load(Bulletin, bulletin_id)
    if db.session.get(BulletinRead, (user.id, bulletin.id)) is None:
        db.session.add(BulletinRead(user_id=user.id, bulletin_id=bulletin.id))
    own = user.organisation_id == bulletin.author_org_id
    context: dict[str, Any] = {
        "bulletin": bulletin, "own": own, "form": ActionForm(), "ratings": FEEDBACK_RATINGS,
        "questions": service.questions_for(user, bulletin), "sightings": service.sightings_for(user, bulletin),
        "show_audience": policy.sees_bulletin_audience(user, bulletin),
        "is_publisher": permissions.may_change_bulletin(user, bulletin),
        "audience_words": audience_words(bulletin) if policy.sees_bulletin_audience(user, bulletin) else [],
        # The review date was typed as a day where its author is: the same day for every reader.
        "author_zone": time_zone_for_country(bulletin.author_org.country, "UTC"),
        "versions": db.session.scalars(select(BulletinVersion).where(BulletinVersion.bulletin_id == bulletin.id,
                                                                     BulletinVersion.version > 1)
                                       .order_by(BulletinVersion.version.desc())).all(),
    }
    if own:
        context.update(_review_context(user, bulletin))
        context["acknowledgements"] = db.session.scalars(select(BulletinAcknowledgement).where(
            BulletinAcknowledgement.bulletin_id == bulletin.id)).all()
        context["feedback"] = db.session.scalars(select(BulletinFeedback).where(
            BulletinFeedback.bulletin_id == bulletin.id)).all()
    else:
        context["acknowledged"] = db.session.get(BulletinAcknowledgement, (bulletin.id, user.organisation_id))
        context["my_feedback"] = db.session.get(BulletinFeedback, (bulletin.id, user.organisation_id))
    with reads.recorded(bulletin):
        return render_template("bulletins/show.html", **context)


def audience_words(bulletin: Bulletin) -> list[tuple[str, list[str]]]:
    """The audience as its author reads it: organisations by name, sectors and countries in words,
    named people by address — grouped under a heading per kind."""
    values: dict[str, list[str]] = {}
    for entry in bulletin.audience:
        values.setdefault(entry.kind, []).append(entry.value)
    names = dict(db.session.execute(select(Organisation.slug, Organisation.name)
                                    .where(Organisation.slug.in_(values.get("org") or [""]))).all())
    headings = (("org", _("Organisations")), ("sector", _("Sectors")), ("country", _("Countries")),
                ("user", _("Named people")))
    words = {"org": lambda slug: names.get(slug, slug), "sector": lambda code: label(code, "sector"),
             "country": country_name, "user": str}
    return [(heading, sorted(words[kind](v) for v in values[kind])) for kind, heading in headings if kind in values]


def _review_context(user, bulletin: Bulletin) -> dict[str, Any]:
    """For the author organisation: the change waiting for review, and whether this reader may
    approve it or send it back (permissions.may_approve_bulletin)."""
    proposal = bulletin.proposed_change if bulletin.status == "published" else None
    waiting = service.awaits_review(bulletin)
    level = Classification.parse(proposal["input"]["classification"]) if proposal else None
    return {
        "proposal": proposal, "proposed_classification": level,
        "may_approve": waiting and permissions.may_approve_bulletin(user, bulletin, service.editors_of(bulletin), level),
    }


@bp.get("/review")
def review():
    """Bulletins of the reader's organisation waiting for a second publisher: never published
    yet, or a published bulletin's change (recipients read the approved version meanwhile)."""
    user = policy.reader()
    if not permissions.may_write_bulletins(user):
        abort(404)
    candidates = db.session.scalars(policy.readable_bulletins(user).where(
        Bulletin.author_org_id == user.organisation_id,
        or_(Bulletin.status == "pending-review",
            (Bulletin.status == "published") & Bulletin.pending_change.is_not(None)))
        .order_by(Bulletin.id.desc())).all()
    pending = [b for b in candidates if service.awaits_review(b)]
    with reads.listed(Bulletin, len(pending), view="review"):
        return render_template("bulletins/review.html", bulletins=pending)


# --- Writing ---------------------------------------------------------------------------------

def _split(text: str) -> list[str]:
    return [v.strip() for v in text.replace("\n", ",").split(",") if v.strip()]


def _values(form, name: str) -> list[str]:
    return [value for raw in form.getlist(name) for value in _split(raw)]


def form_data(form) -> dict[str, Any]:
    """The compose form, as the same dictionary the API takes."""
    indicators = []
    for line in form.get("indicators", "").splitlines():
        if line.strip():
            kind, _sep, value = line.partition(":")
            indicators.append({"type": kind.strip(), "value": value.strip()})
    return {
        "title": form.get("title", ""), "summary": form.get("summary", ""), "body_html": form.get("body", ""),
        "classification": form.get("classification", ""), "tlp": form.get("tlp", ""),
        # Ticked boxes (one value each); a value with commas still reads as a list of slugs.
        "audience": {"orgs": _values(form, "orgs"), "sectors": _values(form, "sectors"),
                     "countries": _values(form, "countries"), "users": _split(form.get("users", ""))},
        "indicators": indicators, "typologies": form.getlist("typologies"),
        # A day typed in the form is that day where the author is (portal/dates.py).
        "expires_at": from_form(form.get("expires_at"), policy.reader().time_zone) if form.get("expires_at") else None,
        "change_note": form.get("change_note", ""),
        "publish": form.get("action") == "publish",
    }


def audience_preview(data: dict[str, Any], author) -> dict[str, Any]:
    """Who and how many would receive it, computed as the notification engine will — counting only
    people the author may address (permissions.may_address: the rule that refuses the rest), and
    named people as written: resolving them would tell the author which addresses have an account."""
    audience = data.get("audience") or {}
    org = author.organisation
    probe = Bulletin(tlp=str(data.get("tlp") or "").upper())
    probe.audience = [BulletinAudience(kind=k, value=str(v).lower() if k != "country" else str(v).upper())
                      for k, key in (("org", "orgs"), ("sector", "sectors"), ("country", "countries"))
                      for v in audience.get(key, [])
                      if (k != "sector" or permissions.may_address_sector(org, str(v).lower()))
                      and (k != "country" or permissions.may_address_countries(org))]
    named = len({str(v).strip().lower() for v in audience.get("users", []) if str(v).strip()})
    with db.session.no_autoflush:
        statement = BulletinTopic().addressed_to(probe, OutboxMessage(payload="{}")).subquery()
        rows = db.session.execute(select(Organisation.name, func.count()).join(
            statement, statement.c.organisation_id == Organisation.id)
            .where(permissions.addressable_organisations(org)).group_by(Organisation.name)
            .order_by(Organisation.name)).all()
    if probe in db.session:
        db.session.expunge(probe)
    return {"people": sum(n for _, n in rows), "organisations": len(rows), "by_organisation": rows, "named": named}


def _compose_context(user, values: dict[str, Any], errors: dict[str, list[str]], bulletin=None) -> dict[str, Any]:
    conf = settings()
    return {"values": values, "errors": errors, "bulletin": bulletin, "form": ActionForm(),
            "classifications": [c.label for c in Classification if c <= user.clearance],
            "tlps": [t.value for t in TLP],
            "org_groups": choices.with_selected(choices.addressable_organisation_groups(user), _values(values, "orgs"),
                                                _("Already chosen")),
            "sector_groups": choices.with_selected(choices.addressable_sector_groups(user), _values(values, "sectors"),
                                                   _("Already chosen")),
            "country_groups": choices.with_selected(choices.addressable_country_groups(user),
                                                    _values(values, "countries"), _("Already chosen")),
            "typologies": conf.typologies, "indicator_types": list(TYPES),
            "preview": audience_preview(form_data(values), user) if values else None,
            "review": review_notice(values, user, bulletin)}


def review_notice(values: Any, author, bulletin=None) -> dict[str, Any]:
    """What the composer says before publishing: which levels need a second publisher, whether the
    one chosen does, and who in the author's own organisation could approve it."""
    chosen: Classification | None = None
    try:
        chosen = Classification.parse(values.get("classification")) if values and values.get("classification") \
            else (bulletin.classification if bulletin is not None else None)
    except ValueError:
        chosen = None
    tlp = str((values.get("tlp") if values else None) or (bulletin.tlp if bulletin is not None else "") or "").upper()
    needed = chosen is not None and needs_second_publisher(chosen, tlp)
    probe = bulletin if bulletin is not None else Bulletin(author_org_id=author.organisation_id,
                                                           created_by_id=author.id,
                                                           classification=chosen or Classification.SENSITIVE)
    with db.session.no_autoflush:
        reviewers = service.eligible_reviewers(probe, chosen or Classification.SENSITIVE)
    if probe in db.session:
        db.session.expunge(probe)
    return {"needed": needed, "level": chosen.label if chosen is not None else "", "tlp": tlp,
            "reviewers": [person.display_name or person.email for person in reviewers if person.id != author.id]}


@bp.route("/new", methods=["GET", "POST"])
@recent_auth_required
def new():
    user = policy.reader()
    if not permissions.may_write_bulletins(user):
        abort(404)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        data = form_data(request.form)
        if request.form.get("action") in ("draft", "publish"):
            try:
                bulletin = service.create(data, user)
                db.session.commit()
                flash(_("Bulletin saved.") if bulletin.status == "draft" else
                      _("Bulletin sent for review by a second publisher.") if bulletin.status == "pending-review"
                      else _("Bulletin published."), "info")
                return redirect(url_for("bulletins.show", bulletin_id=bulletin.id))
            except service.Invalid as invalid:
                db.session.rollback()
                errors = invalid.fields
        return render_template("bulletins/compose.html", **_compose_context(user, request.form, errors)), \
            400 if errors else 200
    return render_template("bulletins/compose.html", **_compose_context(user, _Values(), errors))


@bp.route("/<int:bulletin_id>/edit", methods=["GET", "POST"])
@recent_auth_required
def edit(bulletin_id: int):
    user = policy.reader()
    bulletin = reads.load(Bulletin, bulletin_id)
    if not permissions.may_change_bulletin(user, bulletin):
        abort(404)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        if request.form.get("action") in ("draft", "publish"):
            try:
                service.amend(bulletin, form_data(request.form), user)
                db.session.commit()
                if service.awaits_review(bulletin) and bulletin.status == "published":
                    flash(_("Your change waits for a second publisher; recipients keep reading the approved "
                            "version until then."), "info")
                else:
                    flash(_("Bulletin amended (version %(n)s).", n=bulletin.version), "info")
                return redirect(url_for("bulletins.show", bulletin_id=bulletin.id))
            except (service.Invalid, service.Conflict) as problem:
                db.session.rollback()
                errors = getattr(problem, "fields", {"status": [str(problem)]})
        return render_template("bulletins/compose.html", **_compose_context(user, request.form, errors, bulletin)), \
            400 if errors else 200
    proposal = bulletin.proposed_change if bulletin.status == "published" else None
    values = _form_values(proposal["input"] if proposal else service._as_input(bulletin))
    # The form shows the bulletin's content (or the change waiting for review): a read, recorded.
    with reads.recorded(bulletin, view="edit"):
        return render_template("bulletins/compose.html", **_compose_context(user, values, errors, bulletin))


def _day_typed(value: str | None, time_zone: str) -> str:
    """The ``YYYY-MM-DD`` an author typed for a stored instant (midnight where they are), for the
    form's date field: the instant's date in their zone, not in UTC (a day early east of it)."""
    if not value:
        return ""
    try:
        return parse_instant(value).astimezone(zone(time_zone)).date().isoformat()
    except ValueError:
        return str(value)[:10]


class _Values(dict):
    """A dict that answers getlist() like a submitted form."""

    def getlist(self, key: str) -> list[str]:
        value = self.get(key, [])
        return value if isinstance(value, list) else [value]


def _form_values(data: dict[str, Any]) -> _Values:
    """The compose form's fields from a bulletin as input (``service._as_input``, or a pending change)."""
    audience = data.get("audience") or {}
    return _Values({
        "title": data["title"], "summary": data["summary"], "body": data["body_html"],
        "classification": data["classification"], "tlp": data["tlp"],
        "orgs": audience.get("orgs", []), "sectors": audience.get("sectors", []),
        "countries": audience.get("countries", []), "users": ", ".join(audience.get("users", [])),
        "indicators": "\n".join(f"{i['type']}: {i['value']}" for i in data.get("indicators", [])),
        "typologies": data.get("typologies", []),
        "expires_at": _day_typed(data.get("expires_at"), policy.reader().time_zone),
    })


# --- Actions on one bulletin -----------------------------------------------------------------

def _action(bulletin_id: int, act, done=None, confirm=None) -> Any:
    """Run ``act(bulletin, user)`` on a readable bulletin and come back to it, saying what happened
    (``done(bulletin, user)``); ``confirm(bulletin, user)`` → (question, button) asks first."""
    user = policy.reader()
    bulletin = reads.load(Bulletin, bulletin_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    back = url_for("bulletins.show", bulletin_id=bulletin_id)
    if confirm is not None and (page := confirmation(*confirm(bulletin, user), cancel=back)) is not None:
        return page
    try:
        act(bulletin, user)
        db.session.commit()
        if done is not None:
            flash(done(bulletin, user), "success")
    except LookupError:
        abort(404)
    except service.Invalid as invalid:
        db.session.rollback()
        flash_fields(invalid.fields)
    except (service.NotAllowed, service.Conflict) as problem:
        db.session.rollback()
        flash(str(problem), "error")
    return redirect(url_for("bulletins.show", bulletin_id=bulletin_id))


@bp.post("/<int:bulletin_id>/approve")
@recent_auth_required
def approve(bulletin_id: int):
    return _action(bulletin_id, service.approve,
                   done=lambda b, u: _("Approved: the bulletin is published to its audience."))


@bp.post("/<int:bulletin_id>/send-back")
@recent_auth_required
def send_back(bulletin_id: int):
    return _action(bulletin_id, lambda b, u: service.send_back(b, u, request.form.get("comment")),
                   done=lambda b, u: _("Sent back to the author with your comment."))


@bp.post("/<int:bulletin_id>/attachments")
@recent_auth_required
def upload(bulletin_id: int):
    def act(bulletin, user):
        try:
            service.attach(bulletin, user, request.files.get("file"))
        except attachments.Refused as refused:
            raise service.Invalid({"file": [str(refused)]}) from None
    return _action(bulletin_id, act, done=lambda b, u: _("The file is attached."))


@bp.get("/<int:bulletin_id>/attachments/<int:attachment_id>")
def download(bulletin_id: int, attachment_id: int):
    return send_attachment(bulletin_id, attachment_id)


def send_attachment(bulletin_id: int, attachment_id: int):
    """Serve a file only after the access policy allowed its bulletin; always as a download."""
    return downloads.download(Bulletin, bulletin_id, BulletinAttachment, attachment_id)


@bp.post("/<int:bulletin_id>/withdraw")
@recent_auth_required
def withdraw(bulletin_id: int):
    return _action(bulletin_id, lambda b, u: service.withdraw(b, u, request.form.get("reason")),
                   done=lambda b, u: _("Withdrawn. Recipients see that it was withdrawn, and why."),
                   confirm=lambda b, u: (_("Withdraw this bulletin from every recipient? This cannot be undone."),
                                         _("Withdraw the bulletin")))


@bp.post("/<int:bulletin_id>/acknowledge")
def acknowledge(bulletin_id: int):
    return _action(bulletin_id, service.acknowledge,
                   done=lambda b, u: _("Acknowledged for %(org)s.", org=u.organisation.name),
                   confirm=lambda b, u: (_("Acknowledge this bulletin for %(org)s? The author is told, and an "
                                           "acknowledgement cannot be taken back.", org=u.organisation.name),
                                         _("Acknowledge")))


@bp.post("/<int:bulletin_id>/feedback")
def feedback(bulletin_id: int):
    return _action(bulletin_id, lambda b, u: service.give_feedback(b, u, request.form.get("rating"),
                                                                    request.form.get("comment")),
                   done=lambda b, u: _("Rated for %(org)s. The author is told.", org=u.organisation.name),
                   confirm=lambda b, u: (_("Send this rating for %(org)s? The author is told, and it counts in "
                                           "their scorecard.", org=u.organisation.name), _("Send the rating")))


@bp.post("/<int:bulletin_id>/questions")
def ask(bulletin_id: int):
    return _action(bulletin_id, lambda b, u: service.ask(b, u, request.form.get("body")),
                   done=lambda b, u: _("Your question is sent to %(org)s.", org=b.author_org.name))


@bp.post("/<int:bulletin_id>/questions/<int:question_id>")
def reply(bulletin_id: int, question_id: int):
    def act(bulletin, user):
        question = db.session.get(BulletinQuestion, question_id)
        if question is None:
            raise LookupError
        service.answer(question, bulletin, user, request.form.get("body"))
    return _action(bulletin_id, act, done=lambda b, u: _("Your reply is sent."))


@bp.post("/<int:bulletin_id>/sightings")
def sighting(bulletin_id: int):
    # Typed as wall-clock time where the reader is (portal/dates.py).
    data = {"seen_at": from_form(request.form.get("seen_at", ""), policy.reader().time_zone),
            "context": request.form.get("context", ""), "indicator": request.form.get("indicator") or None}
    return _action(bulletin_id, lambda b, u: service.report_sighting(b, u, data),
                   done=lambda b, u: _("Sighting reported to %(org)s.", org=b.author_org.name))


