"""Issuing, routing, receiving and retiring deportee notifications.

Every change is audited (never with personal data: the audit trail names the reference only) and
notifies through the outbox in the same transaction (messages carry the id only; e-mails show the
reference, the arrival and a link).
"""
from __future__ import annotations

import base64
import binascii
import calendar
import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select

from portal import activity, keyring, permissions
from portal.accounts.models import User
from portal.audit import trail
from portal.config import settings
from portal.crypto import needs_resealing
from portal.dates import parse_day, parse_instant
from portal.deportees.models import (
    DeporteeIdentifier,
    DeporteeNotification,
    DeporteeNotificationRecipient,
    DeporteeRoute,
    DeporteeUpdate,
)
from portal.extensions import db
from portal.federation.models import IdentityProvider
from portal.i18n import country_name, format_number, gettext as _
from portal.organisations.models import Organisation
from portal.outbox import WebhookEndpoint, notify
from portal.deportees.schemas import NotificationInput, RouteInput, UpdateInput
from portal.payloads import check
from portal.problems import Conflict, Invalid, NotAllowed, classification_for
from portal.references import next_reference
from portal.submissions.linking import fold_name
from portal.submissions.validation import DOCUMENT_TYPES, countries
from portal.types import utcnow
from portal.vocabulary import COUNTRY_TIME_ZONES, OrganisationKind

MAX_TEXT, MAX_NAMES = 20_000, 10


def photo_limit_mib() -> str:
    """The photo's limit (``Settings.deportee_photo_max_bytes``) in MiB, in the reader's number format."""
    return format_number(round(settings().deportee_photo_max_bytes / 2**20, 2))


PHOTO_KINDS = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
SEXES = ("F", "M", "X")
RISK_LEVELS = ("low", "medium", "high")




# --- Routing ---------------------------------------------------------------------------------

def receivers_for(country: str) -> list[Organisation]:
    """The designated receiving organisations of a destination country: those in the configuration
    plus those an administrator added (active agencies of that country, or regional centres, only).

    A country nobody has designated receivers for goes to its own Pacific agencies (every active
    ``pacific`` organisation of that country): never to another country's.
    """
    slugs = set(settings().deportee_routes.get(country, ()))
    ids = set(db.session.scalars(select(DeporteeRoute.organisation_id).where(DeporteeRoute.country == country)))
    if not slugs and not ids:
        return list(db.session.scalars(select(Organisation).where(
            Organisation.country == country, Organisation.kind == OrganisationKind.PACIFIC.value,
            Organisation.active.is_(True)).order_by(Organisation.name)))
    orgs = db.session.scalars(select(Organisation).where(
        or_(Organisation.slug.in_(slugs or {""}), Organisation.id.in_(ids or {0})),
        Organisation.active.is_(True)).order_by(Organisation.name)).all()
    return [o for o in orgs if routable(o, country)]


def routable(org: Organisation, country: str) -> bool:
    return org.country == country or org.sector == "regional-centre"


def add_route(user: User, country: Any, organisation: Any) -> DeporteeRoute:
    """An administrator designates ``organisation`` (a slug) a receiver for ``country``, checked
    through :class:`RouteInput` and then against the database and the configuration (the caller
    has checked the administrator's right, and commits)."""
    given = check(RouteInput, {"country": country, "organisation": organisation})
    country = given.country.upper()
    org = db.session.scalar(select(Organisation).where(Organisation.slug == given.organisation))
    if country not in settings().countries or country == "NZ" or org is None:
        raise Invalid({"country": [_("Choose a destination country and an organisation.")]})
    if not routable(org, country) or org.kind == OrganisationKind.PRIVATE.value:
        raise Conflict(_("%(org)s is not an agency of %(cc)s or a regional centre: it cannot receive notifications for "
                         "%(cc)s.", org=org.name, cc=country_name(country)))
    if db.session.scalar(select(DeporteeRoute).where(DeporteeRoute.country == country,
                                                     DeporteeRoute.organisation_id == org.id)):
        raise Conflict(_("%(org)s already receives notifications for %(cc)s.", org=org.name, cc=country_name(country)))
    route = DeporteeRoute(country=country, organisation_id=org.id, organisation=org)
    db.session.add(route)
    trail.record("deportee_route.add", "organisation", org.slug, org.slug, actor=user, country=country)
    return route


may_issue = permissions.may_issue_deportee_notification


# --- Validation ------------------------------------------------------------------------------

# Types, lengths and required fields are NotificationInput's (``schemas.py``), checked first; these
# only put what passed into canonical form.

def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _list(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [" ".join(v.split()) for v in value if isinstance(v, str) and v.strip()]


def parse_arrival(value: Any) -> dt.datetime | None:
    """ISO 8601 date and time with an offset (or Z); None when it is not one."""
    try:
        return parse_instant(value, require_time=True, require_offset=True)
    except ValueError:
        return None


def validate(data: dict[str, Any], issuer: User) -> dict[str, Any]:
    """Check a notification; raise Invalid naming each bad field. Returns clear and personal parts."""
    errors: dict[str, list[str]] = {}
    try:
        check(NotificationInput, data)
    except Invalid as invalid:
        errors.update(invalid.fields)
    known = countries()
    country = data.get("destination_country")
    country = country.strip().upper() if isinstance(country, str) else ""
    recipients: list[Organisation] = []
    if country not in known:
        errors["destination_country"] = [_("%(value)s is not a country code: use ISO 3166-1 alpha-2, e.g. WS, TO.",
                                           value=str(data.get("destination_country"))[:20])]
    elif country == "NZ":
        errors["destination_country"] = [_("A deportee is notified to the country they are sent to, not NZ.")]
    else:
        recipients = receivers_for(country)
        if not recipients:
            errors["destination_country"] = [_("No receiving organisation is designated for %(cc)s: ask an "
                                               "administrator to add one.", cc=country)]
    classification = classification_for(data.get("classification"), issuer.clearance, errors, default="SENSITIVE")

    person_in = data.get("person")
    person: dict[str, Any] = {}
    if not isinstance(person_in, dict):
        errors["person"] = [_("Describe the person: at least a name.")]
    else:
        person["names"] = _list(person_in.get("names") or person_in.get("name"))
        if not person["names"] and "person.names" not in errors:
            errors["person.names"] = [_("Give at least one name for the person.")]
        person["aliases"] = _list(person_in.get("aliases"))
        born = person_in.get("date_of_birth")
        person["date_of_birth"] = None
        if born not in (None, ""):
            try:
                day = parse_day(born)
            except ValueError:
                day = None
            if day is None or day.year < 1900 or day > dt.date.today():
                errors["person.date_of_birth"] = [_("Give the date of birth as YYYY-MM-DD.")]
            else:
                person["date_of_birth"] = day.isoformat()
        sex = person_in.get("sex")
        if sex not in (None, "") and sex not in SEXES:
            errors["person.sex"] = [_("Sex is F, M or X.")]
        person["sex"] = sex or None
        nationality = person_in.get("nationality")
        if nationality not in (None, "") and (not isinstance(nationality, str) or nationality.upper() not in known):
            errors["person.nationality"] = [_("Give the nationality as a country code, e.g. WS.")]
        person["nationality"] = nationality.upper() if isinstance(nationality, str) and nationality else None
        person["documents"] = []
        documents = person_in.get("documents") or []
        if not isinstance(documents, list) or len(documents) > MAX_NAMES:
            errors["person.documents"] = [_("Give a list of at most %(n)s identity documents.", n=MAX_NAMES)]
            documents = []
        for index, doc in enumerate(documents):
            where = f"person.documents[{index}]"
            number = doc.get("number") if isinstance(doc, dict) else None
            compact = re.sub(r"[\s-]", "", number).upper() if isinstance(number, str) else ""
            if not isinstance(doc, dict) or doc.get("type") not in DOCUMENT_TYPES or \
                    not re.fullmatch(r"[A-Z0-9]{4,30}", compact):
                errors[where] = [_("Each document has a type (%(types)s) and a number of 4 to 30 letters and "
                                   "digits.", types=", ".join(DOCUMENT_TYPES))]
                continue
            doc_country = doc.get("country")
            if doc_country not in (None, "") and (not isinstance(doc_country, str) or doc_country.upper() not in known):
                errors[f"{where}.country"] = [_("Give the issuing country as a code, e.g. WS.")]
                continue
            person["documents"].append({"type": doc["type"], "number": compact,
                                        "country": doc_country.upper() if doc_country else None})
        photo = person_in.get("photo_base64")
        if photo not in (None, ""):
            try:
                raw = base64.b64decode(photo, validate=True)
            except (binascii.Error, ValueError, TypeError):
                raw = b""
            kind = next((t for magic, t in PHOTO_KINDS.items() if raw.startswith(magic)), None)
            if len(raw) > settings().deportee_photo_max_bytes:
                errors["person.photo_base64"] = [_("The photo is larger than %(size)s MiB.", size=photo_limit_mib())]
            elif kind is None:
                errors["person.photo_base64"] = [_("The photo must be a JPEG or PNG image, in base64.")]
            else:
                person["_photo"] = (raw, kind)

    removal = data.get("removal") if isinstance(data.get("removal"), dict) else {}
    arrival = parse_arrival(removal.get("arrival_at"))
    if arrival is None:
        errors["removal.arrival_at"] = [_("Give the arrival as an ISO 8601 date and time with its offset, e.g. "
                                          "2026-12-20T06:30:00Z.")]
    flight = removal.get("flight") or ""
    if flight and (not isinstance(flight, str) or not re.fullmatch(r"[A-Z0-9]{2,3}\s?\d{1,4}[A-Z]?", flight.upper())):
        errors["removal.flight"] = [_("Give the flight number, e.g. NZ990.")]
    airport = removal.get("arrival_airport") or ""
    if airport and (not isinstance(airport, str) or not re.fullmatch(r"[A-Z]{3}", airport.upper())):
        errors["removal.arrival_airport"] = [_("Give the airport's three-letter IATA code, e.g. APW.")]
    legal_basis = _text(data.get("legal_basis"))

    details = {
        "offending_summary": _text(data.get("offending_summary")),
        "offences": _list(data.get("offences")),
        "sentences": _list(data.get("sentences")),
        "gang_affiliation": _text(data.get("gang_affiliation")),
        "risk_level": data.get("risk_level") or None,
        "risk_notes": _text(data.get("risk_notes")),
        "reintegration_needs": _text(data.get("reintegration_needs")),
        "health": _text(data.get("health")),
        "housing": _text(data.get("housing")),
        "family_contact": _text(data.get("family_contact")),
        "support_services": _text(data.get("support_services")),
    }
    if details["risk_level"] not in (None, *RISK_LEVELS):
        errors["risk_level"] = [_("The risk level is low, medium or high.")]
    if errors:
        raise Invalid(errors)
    return {"country": country, "recipients": recipients, "classification": classification, "arrival": arrival,
            "flight": flight.upper().replace(" ", ""), "airport": airport.upper(), "legal_basis": legal_basis,
            "person": person, "details": details}


# --- Personal data ---------------------------------------------------------------------------

def identifiers_for(person: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, blind-index digest) for each document and each name with the birth date."""
    out = [("document", keyring.blind_index("document", d["number"])) for d in person.get("documents", [])]
    if person.get("date_of_birth"):
        for name in person.get("names", []) + person.get("aliases", []):
            out.append(("person", keyring.blind_index("person", f"{person['date_of_birth']}|{fold_name(name)}")))
    return sorted(set(out))


def personal_data(notification: DeporteeNotification) -> dict[str, Any] | None:
    if notification.personal is None or notification.key_id is None:
        return None
    return keyring.decrypt_json(notification.key_id, notification.personal, notification.context)


def photo_of(notification: DeporteeNotification) -> tuple[bytes, str] | None:
    if notification.photo is None or notification.key_id is None:
        return None
    return keyring.decrypt(notification.key_id, notification.photo, notification.context + ":photo"), \
        notification.photo_type or "application/octet-stream"


def _seal(notification: DeporteeNotification, personal: dict[str, Any], photo: tuple[bytes, str] | None) -> None:
    key_id, notification.personal = keyring.encrypt_json(personal, notification.context)
    notification.key_id = key_id
    if photo is not None:
        _photo_key, notification.photo = keyring.encrypt(photo[0], notification.context + ":photo")
        notification.photo_type = photo[1]


def issue(data: dict[str, Any], user: User) -> DeporteeNotification:
    if not may_issue(user):
        raise NotAllowed(_("Only publishers of a New Zealand agency issue deportee notifications."))
    checked = validate(data, user)
    person = checked["person"]
    photo = person.pop("_photo", None)
    notification = DeporteeNotification(
        reference=next_reference("DN"), issuing_org_id=user.organisation_id, issued_by_id=user.id,
        destination_country=checked["country"], classification=checked["classification"], status="sent",
        arrival_at=checked["arrival"], flight=checked["flight"], arrival_airport=checked["airport"],
        legal_basis=checked["legal_basis"])
    _seal(notification, {"person": person, **checked["details"]}, photo)
    for org in checked["recipients"]:
        notification.recipients.append(DeporteeNotificationRecipient(organisation_id=org.id))
    db.session.add(notification)
    db.session.flush()
    for kind, digest in identifiers_for(person):
        db.session.add(DeporteeIdentifier(notification_id=notification.id, kind=kind, digest=digest))
    activity.record(user.organisation_id, "share")
    trail.record("deportee_notification.create", "deportee_notification", notification.id,
                 user.organisation.slug, actor=user, reference=notification.reference,
                 destination=notification.destination_country,
                 recipients=[o.slug for o in checked["recipients"]])
    notify("deportee.notified", "deportee_notification", notification.id, actor=user)
    return notification


# --- Receiving -------------------------------------------------------------------------------

def _recipient_row(notification: DeporteeNotification, user: User) -> DeporteeNotificationRecipient:
    row = next((r for r in notification.recipients if r.organisation_id == user.organisation_id), None)
    if row is None or not permissions.may_receive_deportee_notification(user, notification):
        raise NotAllowed(_("Only a receiving organisation acknowledges or updates a notification."))
    return row


def acknowledge(notification: DeporteeNotification, user: User) -> DeporteeNotificationRecipient:
    row = _recipient_row(notification, user)
    if notification.purged_at is not None:
        raise Conflict(_("This notification has been purged."))
    if row.acknowledged_at is None:
        row.acknowledged_at, row.acknowledged_by_id = utcnow(), user.id
        activity.record(user.organisation_id, "response", activity.hours_since(notification.created_at))
        if notification.status == "sent":
            notification.status = "acknowledged"
        trail.record("deportee_notification.acknowledge", "deportee_notification", notification.id,
                     notification.issuing_org.slug, actor=user)
        notify("deportee.updated", "deportee_notification", notification.id, actor=user, to="issuer",
               kind="acknowledged")
    return row


def add_update(notification: DeporteeNotification, user: User, kind: Any, note: Any) -> DeporteeUpdate:
    _recipient_row(notification, user)
    if notification.purged_at is not None:
        raise Conflict(_("This notification has been purged."))
    text = (check(UpdateInput, {"kind": kind, "note": note}).note or "").strip()
    update = DeporteeUpdate(notification_id=notification.id, organisation_id=user.organisation_id,
                            author_id=user.id, kind=kind)
    db.session.add(update)
    db.session.flush()
    if text:
        update.key_id, update.note = keyring.encrypt(text.encode(), update.context)
    trail.record("deportee_notification.update", "deportee_notification", notification.id,
                 notification.issuing_org.slug, actor=user, kind=kind)
    notify("deportee.updated", "deportee_notification", notification.id, actor=user, to="issuer", kind=kind)
    return update


def updates_for(notification: DeporteeNotification) -> list[tuple[DeporteeUpdate, str]]:
    rows = db.session.scalars(select(DeporteeUpdate).where(DeporteeUpdate.notification_id == notification.id)
                              .order_by(DeporteeUpdate.id)).all()
    return [(u, keyring.decrypt(u.key_id, u.note, u.context).decode() if u.note and u.key_id else "") for u in rows]


def find_by_document(statement, number: str):
    """Narrow a statement over notifications to those naming this document number (blind index)."""
    compact = re.sub(r"[\s-]", "", number).upper()
    digest = keyring.blind_index("document", compact)
    return statement.where(DeporteeNotification.id.in_(
        select(DeporteeIdentifier.notification_id).where(DeporteeIdentifier.kind == "document",
                                                         DeporteeIdentifier.digest == digest)))


def local_zone(country: str) -> ZoneInfo | None:
    name = COUNTRY_TIME_ZONES.get(country)
    return ZoneInfo(name) if name else None


# --- Scheduled: reminders, escalation, purge ---------------------------------------------------

def remind_and_escalate(now: dt.datetime | None = None) -> int:
    """Remind receivers who have not acknowledged within ``deportee_reminder_hours`` of arrival;
    escalate to the issuer and the receiver's admins after ``deportee_escalate_hours``. Each once."""
    now = now or utcnow()
    conf = settings()
    done = 0
    soon = now + dt.timedelta(hours=conf.deportee_reminder_hours)
    due = db.session.execute(select(DeporteeNotificationRecipient, DeporteeNotification).join(
        DeporteeNotification, DeporteeNotification.id == DeporteeNotificationRecipient.notification_id).where(
        DeporteeNotificationRecipient.acknowledged_at.is_(None), DeporteeNotification.purged_at.is_(None),
        DeporteeNotificationRecipient.reminded_at.is_(None), DeporteeNotification.arrival_at <= soon,
        DeporteeNotification.arrival_at > now)).all()
    for row, notification in due:
        row.reminded_at = now
        notify("deportee.reminder", "deportee_notification", notification.id, orgs=[row.organisation_id])
        trail.record("deportee_notification.remind", "deportee_notification", notification.id,
                     notification.issuing_org.slug, receiver=row.organisation.slug)
        done += 1
    late = now - dt.timedelta(hours=conf.deportee_escalate_hours)
    overdue = db.session.execute(select(DeporteeNotificationRecipient, DeporteeNotification).join(
        DeporteeNotification, DeporteeNotification.id == DeporteeNotificationRecipient.notification_id).where(
        DeporteeNotificationRecipient.acknowledged_at.is_(None), DeporteeNotification.purged_at.is_(None),
        DeporteeNotificationRecipient.escalated_at.is_(None), DeporteeNotification.created_at <= late)).all()
    for row, notification in overdue:
        row.escalated_at = now
        notify("deportee.escalated", "deportee_notification", notification.id, to="issuer",
               receiver=row.organisation.slug)
        notify("deportee.escalated", "deportee_notification", notification.id, to="admins",
               orgs=[row.organisation_id])
        trail.record("deportee_notification.escalate", "deportee_notification", notification.id,
                     notification.issuing_org.slug, receiver=row.organisation.slug)
        done += 1
    return done


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def purge_due(now: dt.datetime | None = None, batch: int = 200) -> int:
    """Purge the personal data of notifications whose arrival is older than the retention period.
    The record stays, as a statistic: country, dates, classification, organisations, acknowledgements."""
    now = now or utcnow()
    cutoff = months_before(now, settings().deportee_retention_months)
    rows = db.session.scalars(select(DeporteeNotification).where(
        DeporteeNotification.purged_at.is_(None), DeporteeNotification.arrival_at < cutoff)
        .limit(batch)).all()
    for notification in rows:
        notification.personal = notification.photo = notification.photo_type = notification.key_id = None
        notification.purged_at, notification.status = now, "purged"
        db.session.execute(delete(DeporteeIdentifier).where(DeporteeIdentifier.notification_id == notification.id))
        for update in db.session.scalars(select(DeporteeUpdate).where(
                DeporteeUpdate.notification_id == notification.id)):
            update.note = update.key_id = None
        trail.record("deportee_notification.purge", "deportee_notification", notification.id,
                     notification.issuing_org.slug, reason="retention period ended",
                     arrival=notification.arrival_at.isoformat() if notification.arrival_at else None)
    return len(rows)


def reseal_secrets() -> int:
    """Re-seal provider, webhook and TOTP secrets held under another key (or the legacy v1 form)."""
    count = 0
    for user in db.session.scalars(select(User).where(User.totp_secret_sealed.is_not(None))):
        if needs_resealing(user.totp_secret_sealed):
            user.totp_secret = user.totp_secret
            count += 1
    for provider in db.session.scalars(select(IdentityProvider)):
        if needs_resealing(provider.client_secret_sealed):
            provider.client_secret = provider.client_secret
            count += 1
    for endpoint in db.session.scalars(select(WebhookEndpoint)):
        if needs_resealing(endpoint.secret_sealed):
            endpoint.secret = endpoint.secret
            count += 1
    if count:
        trail.record("keys.rotate", "portal", None, None, resealed_secrets=count, key=keyring.current_key_id())
    db.session.commit()
    return count


def rotate(batch: int = 200) -> tuple[int, int]:
    """Re-encrypt, under the current key, every record encrypted under another. Commits per batch,
    so the portal keeps serving (each record decrypts under whichever listed key it names)."""
    current = keyring.current_key_id()
    notifications = updates = 0
    while True:
        rows = db.session.scalars(select(DeporteeNotification).where(
            DeporteeNotification.key_id.is_not(None), DeporteeNotification.key_id != current).limit(batch)).all()
        for row in rows:
            personal = personal_data(row)
            photo = photo_of(row)
            _seal(row, personal or {}, photo)
        notes = db.session.scalars(select(DeporteeUpdate).where(
            DeporteeUpdate.key_id.is_not(None), DeporteeUpdate.key_id != current).limit(batch)).all()
        for note in notes:
            text = keyring.decrypt(note.key_id, note.note, note.context)
            note.key_id, note.note = keyring.encrypt(text, note.context)
        if not rows and not notes:
            break
        notifications, updates = notifications + len(rows), updates + len(notes)
        trail.record("keys.rotate", "deportee_notification", None, None, reencrypted=len(rows) + len(notes),
                     key=current)
        db.session.commit()
    return notifications, updates
