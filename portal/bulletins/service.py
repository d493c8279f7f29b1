"""Writing bulletins: validation (every problem at once), the two-person rule, and the answers
recipients give. Each change is audited and notifies through the outbox in the same transaction."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select

from portal import activity, permissions, policy
from portal.accounts.models import User, UserRole
from portal.audit import trail
from portal.bulletins.indicators import IndicatorError, normalise
from portal.bulletins.models import (
    Bulletin,
    BulletinAcknowledgement,
    BulletinAttachment,
    BulletinAudience,
    BulletinEditor,
    BulletinFeedback,
    BulletinIndicator,
    BulletinMessage,
    BulletinQuestion,
    BulletinSighting,
    BulletinTypology,
    BulletinVersion,
    needs_second_publisher,
)
from portal.config import settings
from portal.dates import parse_instant
from portal.extensions import db
from portal.bulletins.schemas import (
    BulletinChange,
    BulletinInput,
    FeedbackInput,
    MessageInput,
    SendBackInput,
    SightingInput,
    WithdrawInput,
)
from portal.payloads import check
from portal.problems import Conflict, Invalid, NotAllowed
from portal.i18n import gettext as _
from portal.organisations.models import Organisation
from portal.outbox import notify
from portal.sanitise import clean_html
from portal.types import utcnow
from portal.vocabulary import TLP, Classification, Role

#: A rating's value in the author's relevance score.
RATING_VALUES = {"useful": 1.0, "actioned": 1.0, "not-relevant": 0.0}
MAX_TITLE, MAX_SUMMARY, MAX_BODY, MAX_INDICATORS = 300, 2000, 200_000, 200


@dataclass
class Draft:
    values: dict[str, Any]
    audience: list[tuple[str, str]]
    indicators: list[tuple[str, str, str]]
    typologies: list[str]


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise TypeError


def validate(data: dict[str, Any], author: User) -> Draft:
    """Check everything a publisher sends; raise :class:`Invalid` naming each bad field."""
    conf = settings()
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    title = data.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        errors["title"] = [_("Give a title of at most %(n)s characters.", n=MAX_TITLE)]
    else:
        values["title"] = " ".join(title.split())
    summary = data.get("summary", "")
    if not isinstance(summary, str) or len(summary) > MAX_SUMMARY:
        errors["summary"] = [_("The summary is plain text of at most %(n)s characters.", n=MAX_SUMMARY)]
    else:
        values["summary"] = summary.strip()
    body = data.get("body_html", data.get("body_markdown", data.get("body", "")))
    if not isinstance(body, str) or len(body) > MAX_BODY:
        errors["body_html"] = [_("The body is text or HTML of at most %(n)s characters.", n=MAX_BODY)]
    else:
        values["body_html"] = clean_html(body)

    try:
        classification = Classification.parse(data.get("classification"))
        if classification > author.clearance:
            errors["classification"] = [_("%(level)s is above your clearance (%(own)s): you cannot publish it.",
                                          level=classification.label, own=author.clearance.label)]
        values["classification"] = classification
    except ValueError as exc:
        errors["classification"] = [str(exc)]
    try:
        values["tlp"] = TLP.parse(data.get("tlp")).value
    except ValueError as exc:
        errors["tlp"] = [str(exc)]

    audience = _audience(data.get("audience"), author, values.get("tlp"), errors)
    indicators: list[tuple[str, str, str]] = []
    raw_indicators = data.get("indicators") or []
    if not isinstance(raw_indicators, list) or len(raw_indicators) > MAX_INDICATORS:
        errors["indicators"] = [_("Give a list of at most %(n)s indicators.", n=MAX_INDICATORS)]
    else:
        for index, item in enumerate(raw_indicators):
            kind = item.get("type") if isinstance(item, dict) else None
            value = item.get("value") if isinstance(item, dict) else None
            try:
                if not isinstance(kind, str) or not isinstance(value, str):
                    raise IndicatorError("each indicator is an object with a type and a value")
                indicators.append((kind, value.strip(), normalise(kind, value)))
            except IndicatorError as exc:
                errors.setdefault("indicators", []).append(
                    _("Indicator %(n)s (%(value)s): %(why)s.", n=index + 1, value=str(value)[:60], why=str(exc)))
    try:
        typologies = sorted(set(_strings(data.get("typologies"))))
        known = {code for code, _label in conf.typologies}
        unknown = [t for t in typologies if t not in known]
        if unknown:
            errors["typologies"] = [_("Unknown typologies: %(codes)s. See /api/v1/typologies.",
                                      codes=", ".join(unknown))]
    except TypeError:
        typologies = []
        errors["typologies"] = [_("Give a list of typology codes.")]
    expires = data.get("expires_at")
    if expires not in (None, ""):
        try:
            moment = parse_instant(expires)
            if moment <= utcnow():
                errors["expires_at"] = [_("The review or expiry date must be in the future.")]
            values["expires_at"] = moment
        except ValueError:
            errors["expires_at"] = [_("Give the expiry as an ISO 8601 date or time, e.g. 2027-03-31.")]
    if errors:
        raise Invalid(errors)
    return Draft(values, audience, indicators, typologies)


def _audience(raw: Any, author: User, tlp: str | None, errors: dict[str, list[str]]) -> list[tuple[str, str]]:
    conf = settings()
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors["audience"] = [_("The audience is an object with orgs, sectors, countries and users.")]
        return []
    try:
        orgs = sorted({v.strip().lower() for v in _strings(raw.get("orgs"))})
        sectors = sorted({v.strip().lower() for v in _strings(raw.get("sectors"))})
        countries = sorted({v.strip().upper() for v in _strings(raw.get("countries"))})
        users = sorted({v.strip().lower() for v in _strings(raw.get("users"))})
    except TypeError:
        errors["audience"] = [_("Each part of the audience is a list of text values.")]
        return []
    found = {o.slug: o for o in db.session.scalars(select(Organisation).where(Organisation.slug.in_(orgs or [""]),
                                                                              Organisation.active.is_(True)))}
    if unknown := [slug for slug in orgs if slug not in found]:
        errors["audience.orgs"] = [_("Unknown organisations: %(slugs)s.", slugs=", ".join(unknown))]
    if unknown := [s for s in sectors if s not in conf.all_sectors()]:
        errors["audience.sectors"] = [_("Unknown sectors: %(names)s.", names=", ".join(unknown))]
    if unknown := [c for c in countries if c not in conf.countries]:
        errors["audience.countries"] = [_("Unknown countries: %(codes)s.", codes=", ".join(unknown))]
    org = author.organisation
    # Named people are checked as e-mail addresses first: for an author who may address anyone, that
    # is all, so no answer tells which addresses have an account (one without reaches nobody).
    users, malformed = _email_addresses(users)
    if malformed:
        errors["audience.users"] = [_("These are not e-mail addresses: %(values)s.", values=", ".join(malformed))]
    elif not permissions.may_address_countries(org):
        # Partners share with government agencies and, if they choose, with peers of their own sector:
        # one rule (permissions.may_address) for organisations, sectors, countries and named people.
        # The same answer whether the person is unknown or out of reach: no one outside it is confirmed.
        known_users = set(db.session.scalars(
            select(User.email).join(Organisation, User.organisation_id == Organisation.id)
            .where(User.email.in_(users or [""]), User.active.is_(True), permissions.addressable_organisations(org))))
        if unknown := [u for u in users if u not in known_users]:
            errors["audience.users"] = [_("No one your organisation may address (government agencies and your own "
                                          "sector) has these addresses: %(emails)s.", emails=", ".join(unknown))]
    if tlp == TLP.RED.value and not users:
        errors["audience.users"] = [_("TLP:RED reaches named people only: name at least one in audience.users.")]
    if wrong := [slug for slug, o in found.items() if not permissions.may_address(org, o)]:
        errors["audience.orgs"] = [_("Your organisation may share with government agencies and with peers in "
                                     "its own sector only, not with: %(slugs)s.", slugs=", ".join(wrong))]
    if [s for s in sectors if not permissions.may_address_sector(org, s)]:
        errors["audience.sectors"] = [_("Your organisation may address only its own sector (%(sector)s).",
                                        sector=org.sector)]
    if countries and not permissions.may_address_countries(org):
        errors["audience.countries"] = [_("Your organisation cannot address whole countries.")]
    return ([("org", v) for v in orgs] + [("sector", v) for v in sectors] + [("country", v) for v in countries]
            + [("user", v) for v in users])


def _email_addresses(values: list[str]) -> tuple[list[str], list[str]]:
    """(normalised addresses, values that are not e-mail addresses)."""
    good: set[str] = set()
    bad: list[str] = []
    for value in values:
        try:
            good.add(validate_email(value, check_deliverability=False).normalized.lower())
        except EmailNotValidError:
            bad.append(value[:100])
    return sorted(good), bad


def _apply(bulletin: Bulletin, draft: Draft) -> None:
    for key, value in draft.values.items():
        setattr(bulletin, key, value)
    bulletin.audience = [BulletinAudience(kind=k, value=v) for k, v in draft.audience]
    bulletin.indicators = [BulletinIndicator(type=k, value=v, normalised=n, position=i)
                           for i, (k, v, n) in enumerate(draft.indicators)]
    bulletin.typologies = [BulletinTypology(code=c) for c in draft.typologies]


def _require_publisher(user: User) -> None:
    if not permissions.may_write_bulletins(user):
        raise NotAllowed(_("Only a publisher may write bulletins."))


# --- The two-person rule: who changed the version waiting for review -------------------------

def editors_of(bulletin: Bulletin) -> set[int]:
    """Everyone who wrote or changed the version of ``bulletin`` that waits for review."""
    return set(db.session.scalars(select(BulletinEditor.user_id).where(BulletinEditor.bulletin_id == bulletin.id)))


def _edited_by(bulletin: Bulletin, user: User) -> None:
    if db.session.get(BulletinEditor, (bulletin.id, user.id)) is None:
        db.session.add(BulletinEditor(bulletin_id=bulletin.id, user_id=user.id))


def _reviewed(bulletin: Bulletin) -> None:
    """A version was approved or published: nobody has changed the next one yet."""
    db.session.execute(delete(BulletinEditor).where(BulletinEditor.bulletin_id == bulletin.id))
    bulletin.pending_change = None


def awaits_review(bulletin: Bulletin) -> bool:
    """Pending review: never published yet, or a published bulletin's change (not sent back)."""
    if bulletin.status == "pending-review":
        return True
    proposal = bulletin.proposed_change if bulletin.status == "published" else None
    return bool(proposal and not proposal.get("sent_back"))


def eligible_reviewers(bulletin: Bulletin, classification: Classification | None = None) -> list[User]:
    """Who may approve what waits for review: active publishers of the author organisation,
    cleared for it, who changed nothing in it (permissions.may_approve_bulletin, asked of each)."""
    editors = editors_of(bulletin) if bulletin.id is not None else set()
    candidates = db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(User.organisation_id == bulletin.author_org_id, UserRole.role == Role.PUBLISHER.value,
               User.active.is_(True), User.pending.is_(False))
        .order_by(User.display_name, User.email)).unique().all()
    return [user for user in candidates
            if permissions.may_approve_bulletin(user, bulletin, editors, classification)]


def _ask_for_review(bulletin: Bulletin, author: User, classification: Classification | None = None) -> None:
    """Tell the publishers who may approve it — and only them — that it waits for them."""
    reviewers = [user.id for user in eligible_reviewers(bulletin, classification)]
    if reviewers:
        notify("bulletin.review_requested", "bulletin", bulletin.id, actor=author, author_org=True,
               recipient_ids=reviewers)


def create(data: dict[str, Any], author: User) -> Bulletin:
    """A new bulletin: a draft, or — with ``publish`` — published, or pending review when the
    two-person rule applies (SENSITIVE and above, or TLP:RED)."""
    _require_publisher(author)
    # Shapes, types and lengths first, by the declaration the API checks too (so the composer's
    # field errors read as the API's); then what needs the database or the writer.
    check(BulletinInput, data)
    draft = validate(data, author)
    bulletin = Bulletin(author_org_id=author.organisation_id, created_by_id=author.id, status="draft", version=1)
    _apply(bulletin, draft)
    db.session.add(bulletin)
    db.session.flush()
    _edited_by(bulletin, author)
    db.session.add(BulletinVersion(bulletin_id=bulletin.id, version=1, title=bulletin.title,
                                   summary=bulletin.summary, body_html=bulletin.body_html,
                                   change_note="", created_by_id=author.id))
    trail.record("bulletin.create", "bulletin", bulletin.id, author.organisation.slug, actor=author,
                 classification=bulletin.classification.label, tlp=bulletin.tlp)
    if data.get("publish") is True:
        _submit(bulletin, author)
    return bulletin


def _submit(bulletin: Bulletin, author: User) -> None:
    if bulletin.audience == []:
        raise Invalid({"audience": [_("Choose who receives it before publishing.")]})
    if bulletin.needs_second_publisher:
        bulletin.status = "pending-review"
        trail.record("bulletin.submit_for_review", "bulletin", bulletin.id, author.organisation.slug, actor=author)
        db.session.flush()
        _ask_for_review(bulletin, author)
    else:
        _publish(bulletin, author)


def _publish(bulletin: Bulletin, actor: User) -> None:
    _reviewed(bulletin)
    bulletin.status, bulletin.published_at = "published", utcnow()
    trail.record("bulletin.publish", "bulletin", bulletin.id, bulletin.author_org.slug, actor=actor)
    activity.record(bulletin.author_org_id, "share")
    notify("bulletin.published", "bulletin", bulletin.id, actor=actor)


def approve(bulletin: Bulletin, reviewer: User) -> None:
    """A second publisher of the author organisation approves what waits for review: a bulletin
    never published, or a published bulletin's change. The approver must be cleared for it and
    must have changed nothing in it (permissions.may_approve_bulletin)."""
    if not policy.can_read_bulletin(reviewer, bulletin):
        raise LookupError
    if not permissions.may_review_bulletin(reviewer, bulletin):
        raise NotAllowed(_("Only a publisher of the author organisation may approve it."))
    if not awaits_review(bulletin):
        raise Conflict(_("This bulletin is not waiting for review."))
    proposal = bulletin.proposed_change if bulletin.status == "published" else None
    editors = editors_of(bulletin)
    if reviewer.id in editors or (bulletin.approved_by_id is None and reviewer.id == bulletin.created_by_id):
        raise NotAllowed(_("A second publisher must approve it: you wrote or changed this version."))
    proposed_level = Classification.parse(proposal["input"]["classification"]) if proposal else None
    if not permissions.may_approve_bulletin(reviewer, bulletin, editors, proposed_level):
        raise NotAllowed(_("This version is above your clearance: a publisher cleared for it must approve it."))
    bulletin.approved_by_id = reviewer.id
    if proposal is None:
        trail.record("bulletin.approve", "bulletin", bulletin.id, bulletin.author_org.slug, actor=reviewer)
        _publish(bulletin, reviewer)
        return
    # Checked again as it stands now (a named person may have left since it was proposed).
    draft = validate(proposal["input"], reviewer)
    _new_version(bulletin, draft, proposal["change_note"], proposal.get("editor_id"))
    _reviewed(bulletin)
    trail.record("bulletin.approve", "bulletin", bulletin.id, bulletin.author_org.slug, actor=reviewer,
                 version=bulletin.version)
    notify("bulletin.amended", "bulletin", bulletin.id, actor=reviewer, version=bulletin.version)


def attach(bulletin: Bulletin, user: User, upload: Any) -> Any:
    """Store an uploaded file with the bulletin (author organisation's publishers only)."""
    _author_check(bulletin, user)
    if bulletin.status == "withdrawn":
        raise Conflict(_("A withdrawn bulletin cannot take attachments."))
    if bulletin.status == "published" and bulletin.needs_second_publisher:
        # Recipients would read the file at once, without the second publisher seeing it.
        raise Conflict(_("A bulletin under the two-person rule takes files only before it is approved: attach "
                         "them to a new bulletin, or withdraw this one and publish it again."))
    if upload is None or not getattr(upload, "filename", ""):
        raise Invalid({"file": [_("Choose a file to attach.")]})
    row = BulletinAttachment.keep(upload, bulletin_id=bulletin.id, created_by_id=user.id)  # or attachments.Refused
    db.session.add(row)
    db.session.flush()
    if bulletin.status != "published":
        _edited_by(bulletin, user)  # a file is part of the version a second publisher approves
    trail.record("attachment.upload", "attachment", row.id, bulletin.author_org.slug, actor=user,
                 bulletin=bulletin.id, size=row.size, sha256=row.sha256)
    return row


def send_back(bulletin: Bulletin, reviewer: User, comment: Any) -> None:
    """A second publisher returns a bulletin pending review to its author, saying why."""
    if not policy.can_read_bulletin(reviewer, bulletin):
        raise LookupError
    if not permissions.may_review_bulletin(reviewer, bulletin):
        raise NotAllowed(_("Only a publisher of the author organisation may review it."))
    if not awaits_review(bulletin):
        raise Conflict(_("This bulletin is not waiting for review."))
    comment = check(SendBackInput, {"comment": comment}).comment
    told = bulletin.created_by_id
    if bulletin.status == "published":
        # The approved version stays published; the change goes back to whoever proposed it.
        proposal = bulletin.proposed_change
        bulletin.pending_change = json.dumps({**proposal, "sent_back": True})
        bulletin.review_comment = comment.strip()
        told = proposal.get("editor_id") or told
    else:
        bulletin.status, bulletin.review_comment = "draft", comment.strip()
    trail.record("bulletin.send_back", "bulletin", bulletin.id, bulletin.author_org.slug, actor=reviewer)
    if told:
        notify("bulletin.answered", "bulletin", bulletin.id, actor=reviewer, author_org=True,
               recipient_ids=[told])


def _recipient_check(bulletin: Bulletin, user: User) -> None:
    if not policy.can_read_bulletin(user, bulletin):
        raise LookupError
    if bulletin.status != "published":
        raise Conflict(_("Only a published bulletin can be acknowledged or rated."))
    if not permissions.may_respond_to_bulletin(user, bulletin):
        raise NotAllowed(_("Your own organisation wrote this bulletin."))


def acknowledge(bulletin: Bulletin, user: User) -> BulletinAcknowledgement:
    """The caller's organisation has read it. The first acknowledgement of an organisation stands."""
    _recipient_check(bulletin, user)
    existing = db.session.get(BulletinAcknowledgement, (bulletin.id, user.organisation_id))
    if existing is not None:
        return existing
    ack = BulletinAcknowledgement(bulletin_id=bulletin.id, organisation_id=user.organisation_id, user_id=user.id)
    db.session.add(ack)
    if (hours := activity.hours_since(bulletin.published_at)) is not None:
        activity.record(user.organisation_id, "response", hours)
    trail.record("bulletin.acknowledge", "bulletin", bulletin.id, bulletin.author_org.slug, actor=user)
    return ack


def give_feedback(bulletin: Bulletin, user: User, rating: Any, comment: Any) -> BulletinFeedback:
    check(FeedbackInput, {"rating": rating, "comment": comment})
    _recipient_check(bulletin, user)
    row = db.session.get(BulletinFeedback, (bulletin.id, user.organisation_id))
    if row is None:
        row = BulletinFeedback(bulletin_id=bulletin.id, organisation_id=user.organisation_id)
        db.session.add(row)
    elif row.rating:  # a changed rating replaces the old one in the author's relevance score
        activity.record(bulletin.author_org_id, "rating", RATING_VALUES[row.rating], weight=-1)
    activity.record(bulletin.author_org_id, "rating", RATING_VALUES[rating])
    row.user_id, row.rating, row.comment, row.created_at = user.id, rating, (comment or "").strip(), utcnow()
    trail.record("bulletin.feedback", "bulletin", bulletin.id, bulletin.author_org.slug, actor=user, rating=rating)
    return row


# --- Lifecycle -------------------------------------------------------------------------------

def _author_check(bulletin: Bulletin, user: User) -> None:
    if not policy.can_read_bulletin(user, bulletin):
        raise LookupError
    if not permissions.may_change_bulletin(user, bulletin):
        raise NotAllowed(_("Only a publisher of the author organisation may change it."))


def amend(bulletin: Bulletin, data: dict[str, Any], editor: User) -> Bulletin:
    """A new version with a change note; recipients are told what changed.

    The two-person rule holds for changes too: when the bulletin needed a second publisher before
    the change or needs one after it (so lowering its classification does not escape review), a
    published bulletin's change waits for review in ``pending_change`` while recipients go on
    reading the approved version. Whoever changes a version waiting for review may not approve it."""
    _author_check(bulletin, editor)
    if bulletin.status == "withdrawn":
        raise Conflict(_("A withdrawn bulletin cannot be amended."))
    check(BulletinChange, data)  # as the API's PATCH: the same declaration, the same words
    note = data.get("change_note")
    proposal = bulletin.proposed_change if bulletin.status == "published" else None
    base = proposal["input"] if proposal else _as_input(bulletin)
    merged = {**base, **{k: v for k, v in data.items() if k not in ("change_note", "publish")}}
    errors: dict[str, list[str]] = {}
    try:
        draft = validate(merged, editor)
    except Invalid as invalid:
        errors.update(invalid.fields)
    if not isinstance(note, str) or not note.strip() or len(note) > 2000:
        errors["change_note"] = [_("Say briefly what changed and why (at most 2000 characters).")]
    if errors:
        raise Invalid(errors)
    if bulletin.status == "published":
        if (proposal is not None or bulletin.needs_second_publisher
                or needs_second_publisher(draft.values["classification"], draft.values["tlp"])):
            # Recipients keep the approved version; the change waits for a second publisher.
            bulletin.pending_change = json.dumps({"input": _draft_input(draft), "change_note": note.strip(),
                                                  "editor_id": editor.id})
            bulletin.review_comment = ""
            _edited_by(bulletin, editor)
            trail.record("bulletin.amend", "bulletin", bulletin.id, bulletin.author_org.slug, actor=editor,
                         version=bulletin.version, pending_review=True)
            trail.record("bulletin.submit_for_review", "bulletin", bulletin.id, bulletin.author_org.slug,
                         actor=editor)
            db.session.flush()
            _ask_for_review(bulletin, editor, draft.values["classification"])
            return bulletin
        _new_version(bulletin, draft, note.strip(), editor.id)
        trail.record("bulletin.amend", "bulletin", bulletin.id, bulletin.author_org.slug, actor=editor,
                     version=bulletin.version)
        notify("bulletin.amended", "bulletin", bulletin.id, actor=editor, version=bulletin.version)
        return bulletin
    _new_version(bulletin, draft, note.strip(), editor.id)
    _edited_by(bulletin, editor)
    trail.record("bulletin.amend", "bulletin", bulletin.id, bulletin.author_org.slug, actor=editor,
                 version=bulletin.version)
    if data.get("publish") is True and bulletin.status == "draft":
        _submit(bulletin, editor)
    return bulletin


def _new_version(bulletin: Bulletin, draft: Draft, note: str, editor_id: int | None) -> None:
    _apply(bulletin, draft)
    bulletin.version += 1
    bulletin.updated_at = utcnow()
    db.session.add(BulletinVersion(bulletin_id=bulletin.id, version=bulletin.version, title=bulletin.title,
                                   summary=bulletin.summary, body_html=bulletin.body_html,
                                   change_note=note, created_by_id=editor_id))


_AUDIENCE_KEYS = {"org": "orgs", "sector": "sectors", "country": "countries", "user": "users"}


def _draft_input(draft: Draft) -> dict[str, Any]:
    """A validated draft as the input that produces it again (what a pending change stores)."""
    values = draft.values
    return {
        "title": values["title"], "summary": values["summary"], "body_html": values["body_html"],
        "classification": values["classification"].label, "tlp": values["tlp"],
        "audience": {plural: sorted(v for k, v in draft.audience if k == kind) for kind, plural in _AUDIENCE_KEYS.items()},
        "indicators": [{"type": k, "value": v} for k, v, _n in draft.indicators],
        "typologies": list(draft.typologies),
        "expires_at": values["expires_at"].isoformat() if values.get("expires_at") else None,
    }


def _as_input(bulletin: Bulletin) -> dict[str, Any]:
    keys = _AUDIENCE_KEYS
    return {
        "title": bulletin.title, "summary": bulletin.summary, "body_html": bulletin.body_html,
        "classification": bulletin.classification.label, "tlp": bulletin.tlp,
        "audience": {keys[k]: bulletin.audience_values(k) for k in keys},
        "indicators": [{"type": i.type, "value": i.value} for i in bulletin.indicators],
        "typologies": bulletin.typology_codes,
        "expires_at": bulletin.expires_at.isoformat() if bulletin.expires_at and bulletin.expires_at > utcnow() else None,
    }


def withdraw(bulletin: Bulletin, user: User, reason: Any) -> Bulletin:
    _author_check(bulletin, user)
    reason = check(WithdrawInput, {"reason": reason}).reason
    if bulletin.status == "withdrawn":
        raise Conflict(_("This bulletin is already withdrawn."))
    was_published = bulletin.status == "published"
    bulletin.status, bulletin.withdrawn_reason, bulletin.updated_at = "withdrawn", reason.strip(), utcnow()
    bulletin.pending_change = None
    trail.record("bulletin.withdraw", "bulletin", bulletin.id, bulletin.author_org.slug, actor=user)
    if was_published:
        # Recipients can no longer read it, so the notice names only the reference (see topics).
        notify("bulletin.withdrawn", "bulletin", bulletin.id, actor=user)
    return bulletin


# --- Two-way: questions and sightings --------------------------------------------------------

def _text(body: Any) -> str:
    return check(MessageInput, {"body": body}).body.strip()


def ask(bulletin: Bulletin, user: User, body: Any) -> BulletinQuestion:
    """A recipient organisation asks the author privately; only the two organisations see it."""
    text = _text(body)
    _recipient_check(bulletin, user)
    question = db.session.scalar(select(BulletinQuestion).where(BulletinQuestion.bulletin_id == bulletin.id,
                                                                BulletinQuestion.asking_org_id == user.organisation_id))
    if question is None:
        question = BulletinQuestion(bulletin_id=bulletin.id, asking_org_id=user.organisation_id)
        db.session.add(question)
        db.session.flush()
    db.session.add(BulletinMessage(question_id=question.id, author_id=user.id, author_org_id=user.organisation_id,
                                   body=text))
    trail.record("bulletin.question", "bulletin", bulletin.id, bulletin.author_org.slug, actor=user,
                 question=question.id)
    notify("bulletin.answered", "bulletin", bulletin.id, actor=user, author_org=True)
    return question


def answer(question: BulletinQuestion, bulletin: Bulletin, user: User, body: Any) -> BulletinMessage:
    text = _text(body)
    if not can_see_question(user, bulletin, question):
        raise LookupError
    first_answer = user.organisation_id == bulletin.author_org_id and not any(
        m.author_org_id == bulletin.author_org_id for m in question.messages)
    message = BulletinMessage(question_id=question.id, author_id=user.id, author_org_id=user.organisation_id,
                              body=text)
    db.session.add(message)
    if first_answer and (hours := activity.hours_since(question.created_at)) is not None:
        activity.record(user.organisation_id, "response", hours)
    trail.record("bulletin.answer", "bulletin", bulletin.id, bulletin.author_org.slug, actor=user,
                 question=question.id)
    if user.organisation_id == bulletin.author_org_id:
        askers = list(db.session.scalars(select(User.id).where(User.organisation_id == question.asking_org_id)))
        notify("bulletin.answered", "bulletin", bulletin.id, actor=user, recipient_ids=askers)
    else:
        notify("bulletin.answered", "bulletin", bulletin.id, actor=user, author_org=True)
    return message


def can_see_question(user: User, bulletin: Bulletin, question: BulletinQuestion) -> bool:
    """A thread is seen only by the asking and the authoring organisations (and only while the
    bulletin itself is readable)."""
    return (policy.can_read_bulletin(user, bulletin) and question.bulletin_id == bulletin.id
            and user.organisation_id in (question.asking_org_id, bulletin.author_org_id))


def questions_for(user: User, bulletin: Bulletin) -> list[BulletinQuestion]:
    statement = select(BulletinQuestion).where(BulletinQuestion.bulletin_id == bulletin.id)
    if user.organisation_id != bulletin.author_org_id:
        statement = statement.where(BulletinQuestion.asking_org_id == user.organisation_id)
    return list(db.session.scalars(statement.order_by(BulletinQuestion.id)))


def report_sighting(bulletin: Bulletin, user: User, data: dict[str, Any]) -> BulletinSighting:
    """'We saw this': when, optional indicator, short context. Only the author organisation sees it."""
    errors: dict[str, list[str]] = {}
    seen_at = None
    try:
        seen_at = parse_instant(data.get("seen_at"))
        if seen_at > utcnow() + dt.timedelta(minutes=5):
            errors["seen_at"] = [_("A sighting cannot be in the future.")]
    except ValueError:
        errors["seen_at"] = [_("Give when it was seen as an ISO 8601 date or time.")]
    context = data.get("context", "")
    indicator_id = None
    try:
        indicator_id = check(SightingInput, {"seen_at": "", "context": context,
                                             "indicator": data.get("indicator")}).indicator
    except Invalid as invalid:
        errors.update(invalid.fields)
    if indicator_id is not None and indicator_id not in {i.id for i in bulletin.indicators}:
        errors["indicator"] = [_("That indicator is not part of this bulletin.")]
    if errors:
        raise Invalid(errors)
    _recipient_check(bulletin, user)
    sighting = BulletinSighting(bulletin_id=bulletin.id, organisation_id=user.organisation_id, user_id=user.id,
                                indicator_id=indicator_id, seen_at=seen_at, context=context.strip())
    db.session.add(sighting)
    activity.record(user.organisation_id, "share")
    trail.record("bulletin.sighting", "bulletin", bulletin.id, bulletin.author_org.slug, actor=user)
    notify("bulletin.answered", "bulletin", bulletin.id, actor=user, author_org=True)
    return sighting


def sightings_for(user: User, bulletin: Bulletin) -> list[BulletinSighting]:
    statement = select(BulletinSighting).where(BulletinSighting.bulletin_id == bulletin.id)
    if user.organisation_id != bulletin.author_org_id:
        statement = statement.where(BulletinSighting.organisation_id == user.organisation_id)
    return list(db.session.scalars(statement.order_by(BulletinSighting.seen_at.desc())))
