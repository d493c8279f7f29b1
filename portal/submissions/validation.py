"""Checking a suspicious-activity report: every problem at once, in plain words, keyed by field
(``subjects[0].date_of_birth``). What passes comes back in canonical form, ready to store and hash."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale
from babel.numbers import list_currencies
from sqlalchemy import select

from portal.bulletins.indicators import IndicatorError, normalise
from portal.config import settings
from portal.dates import parse_day
from portal.extensions import db
from portal import payloads, policy
from portal.problems import Invalid, classification_for
from portal.submissions.schemas import (  # noqa: F401  (DOCUMENT_TYPES and SUBJECT_KINDS: used by the pages)
    DOCUMENT_TYPES, MAX_NAMES, MAX_SUBJECTS, MAX_TEXT, MAX_TRANSACTIONS, SUBJECT_KINDS, SubmissionInput,
)
from portal.i18n import gettext as _
from portal.organisations.models import Organisation
from portal.submissions.models import Submission
from portal.vocabulary import Classification, OrganisationKind

#: Subjects that can send or receive money in a transaction (and be goAML parties).
PARTY_KINDS = ("person", "entity", "account")
MAX_RELATIONS = 500
#: How a subject relates to another subject or to a transaction: role -> (kinds the subject may be,
#: what it relates to: subject kinds, or "transaction"). The goAML export places each accordingly.
RELATION_ROLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "holder": (("person", "entity"), ("account",)),
    "signatory": (("person",), ("account",)),
    "director": (("person",), ("entity",)),
    "shareholder": (("person",), ("entity",)),
    "beneficial-owner": (("person",), ("entity",)),
    "conductor": (("person",), ("transaction",)),
    "beneficiary": (PARTY_KINDS, ("transaction",)),
}
#: Common ways of writing a method, to the configured names.
METHOD_ALIASES = {"wire": "wire-transfer", "swift": "wire-transfer", "telegraphic transfer": "wire-transfer",
                  "eft": "electronic-transfer", "transfer": "electronic-transfer", "bank transfer": "electronic-transfer",
                  "online transfer": "electronic-transfer", "cheque": "cheque", "check": "cheque",
                  "debit card": "card", "credit card": "card", "money transfer": "remittance",
                  "cryptocurrency": "crypto"}
#: CLDR territory codes that are not ISO 3166-1 countries (unknown region, EU, UN, pseudo-regions).
NOT_ISO_3166 = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB", "XK"})
SUBJECT_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass
class Report:
    """A report that passed every check, in canonical form."""

    recipient: Organisation
    classification: Classification
    typologies: list[str]
    narrative: str
    subjects: list[dict[str, Any]]
    transactions: list[dict[str, Any]]
    follows: Any = None
    relations: list[dict[str, Any]] = field(default_factory=list)
    identifiers: list[tuple[str, str, str]] = field(default_factory=list)  # (subject, kind, value)


def countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (from CLDR, via Babel)."""
    return frozenset(code for code in Locale("en").territories
                     if len(code) == 2 and code.isalpha() and code not in NOT_ISO_3166)


def currencies() -> frozenset[str]:
    """ISO 4217 codes (from CLDR, via Babel)."""
    return frozenset(list_currencies())


def methods() -> tuple[str, ...]:
    return tuple(settings().goaml["funds"].keys())


def recipient_agencies():
    """The organisations that receive reports: active government agencies of the configured sectors."""
    sectors = settings().submission_recipient_sectors
    return select(Organisation).where(Organisation.kind == OrganisationKind.GOVERNMENT.value,
                                      Organisation.sector.in_(sectors), Organisation.active.is_(True))


class _Checker:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.countries = countries()

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def text(self, name: str, value: Any, *, required: bool = False, limit: int = MAX_TEXT) -> str:
        if value is None or value == "":
            if required:
                self.fail(name, _("This is required."))
            return ""
        if not isinstance(value, str) or len(value) > limit:
            self.fail(name, _("Give text of at most %(n)s characters.", n=limit))
            return ""
        return " ".join(value.split())

    def country(self, name: str, value: Any) -> str | None:
        if value in (None, ""):
            return None
        code = value.strip().upper() if isinstance(value, str) else ""
        if code not in self.countries:
            self.fail(name, _("%(value)s is not a country code: use ISO 3166-1 alpha-2, e.g. NZ, WS, TO.",
                              value=str(value)[:20]))
            return None
        return code

    def date(self, name: str, value: Any, *, required: bool = False) -> str | None:
        if value in (None, ""):
            if required:
                self.fail(name, _("This is required."))
            return None
        try:
            day = parse_day(value)
        except ValueError:
            day = None
        if day is None:
            self.fail(name, _("%(value)s is not a date: write it as YYYY-MM-DD, e.g. 2026-10-01.",
                              value=str(value)[:20]))
            return None
        if day > dt.date.today() + dt.timedelta(days=1) or day.year < 1900:
            self.fail(name, _("%(value)s is not a plausible date: it must be after 1900 and not in the future.",
                              value=value))
            return None
        return day.isoformat()

    def identifier(self, name: str, kind: str, value: Any, *, required: bool = True) -> tuple[str, str] | None:
        """(as written, normalised), using the bulletin indicators' checks (IMO check digit, IBAN, …)."""
        if value in (None, ""):
            if required:
                self.fail(name, _("This is required."))
            return None
        if not isinstance(value, str):
            self.fail(name, _("Give text of at most %(n)s characters.", n=MAX_TEXT))
            return None
        try:
            return " ".join(value.split()), normalise(kind, value)
        except IndicatorError as exc:
            self.fail(name, str(exc).capitalize() + ".")
            return None

    def strings(self, name: str, value: Any, *, limit: int = MAX_NAMES) -> list[str]:
        if value in (None, ""):
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or len(value) > limit or not all(isinstance(v, str) for v in value):
            self.fail(name, _("Give a list of at most %(n)s names.", n=limit))
            return []
        cleaned = [" ".join(v.split()) for v in value if v.strip()]
        if any(len(v) > MAX_TEXT for v in cleaned):
            self.fail(name, _("Give text of at most %(n)s characters.", n=MAX_TEXT))
            return []
        return cleaned


def _subject(check: _Checker, index: int, raw: Any, identifiers: list[tuple[str, str, str]]) -> dict[str, Any] | None:
    at = f"subjects[{index}]"
    if not isinstance(raw, dict):
        check.fail(at, _("Each subject is an object with a kind."))
        return None
    kind = raw.get("kind")
    if kind not in SUBJECT_KINDS:
        check.fail(f"{at}.kind", _("Choose the kind of subject: %(kinds)s.", kinds=", ".join(SUBJECT_KINDS)))
        return None
    sid = raw.get("id") or f"s{index + 1}"
    if not isinstance(sid, str) or not SUBJECT_ID.match(sid):
        check.fail(f"{at}.id", _("A subject's id is 1 to 40 letters, digits, - or _."))
        return None
    out: dict[str, Any] = {"id": sid, "kind": kind}

    def ident(name: str, indicator: str, key: str, value: Any, required: bool = True) -> None:
        found = check.identifier(f"{at}.{name}", indicator, value, required=required)
        if found:
            out[name] = found[0]
            identifiers.append((sid, key, found[1]))

    if kind == "person":
        names = check.strings(f"{at}.names", raw.get("names") or raw.get("name"))
        if not names:
            check.fail(f"{at}.names", _("Give at least one name for the person."))
        out["names"] = names
        out["aliases"] = check.strings(f"{at}.aliases", raw.get("aliases"))
        out["date_of_birth"] = check.date(f"{at}.date_of_birth", raw.get("date_of_birth"))
        out["nationality"] = check.country(f"{at}.nationality", raw.get("nationality"))
        out["gender"] = raw.get("gender") if raw.get("gender") in ("F", "M") else None
        documents = raw.get("documents") or []
        out["documents"] = []
        if not isinstance(documents, list) or len(documents) > MAX_NAMES:
            check.fail(f"{at}.documents", _("Give a list of at most %(n)s identity documents.", n=MAX_NAMES))
            documents = []
        for d, doc in enumerate(documents):
            where = f"{at}.documents[{d}]"
            if not isinstance(doc, dict):
                check.fail(where, _("Each document has a type, a number and a country."))
                continue
            if doc.get("type") not in DOCUMENT_TYPES:
                check.fail(f"{where}.type", _("Choose the document type: %(types)s.", types=", ".join(DOCUMENT_TYPES)))
            number = doc.get("number")
            compact = re.sub(r"[\s-]", "", number).upper() if isinstance(number, str) else ""
            if not re.fullmatch(r"[A-Z0-9]{4,30}", compact):
                check.fail(f"{where}.number", _("A document number is 4 to 30 letters and digits."))
            country = check.country(f"{where}.country", doc.get("country"))
            if compact and doc.get("type") in DOCUMENT_TYPES:
                out["documents"].append({"type": doc["type"], "number": compact, "country": country})
                identifiers.append((sid, doc["type"], compact))
    elif kind == "entity":
        out["name"] = check.text(f"{at}.name", raw.get("name"), required=True)
        out["registration_number"] = check.text(f"{at}.registration_number", raw.get("registration_number"))
        out["country"] = check.country(f"{at}.country", raw.get("country"))
        if out["registration_number"]:
            compact = re.sub(r"[\s-]", "", out["registration_number"]).upper()
            identifiers.append((sid, "registration", f"{out['country'] or '-'}:{compact}"))
    elif kind == "account":
        ident("number", "bank-account", "account", raw.get("number"))
        out["institution"] = check.text(f"{at}.institution", raw.get("institution"))
        out["holder"] = check.text(f"{at}.holder", raw.get("holder") or raw.get("name"))
        out["swift"] = check.text(f"{at}.swift", raw.get("swift"), limit=11)
        out["country"] = check.country(f"{at}.country", raw.get("country"))
    elif kind == "vessel":
        out["name"] = check.text(f"{at}.name", raw.get("name"))
        ident("imo", "vessel-imo", "imo", raw.get("imo"), required=not out["name"])
    elif kind == "container":
        ident("number", "container", "container", raw.get("number"))
    elif kind == "flight":
        ident("number", "flight", "flight", raw.get("number"))
        out["date"] = check.date(f"{at}.date", raw.get("date"))
    elif kind == "vehicle":
        ident("registration", "vehicle", "vehicle", raw.get("registration") or raw.get("number"))
        out["description"] = check.text(f"{at}.description", raw.get("description"))
    elif kind == "phone":
        ident("number", "phone", "phone", raw.get("number") or raw.get("value"))
    elif kind == "email":
        ident("address", "email", "email", raw.get("address") or raw.get("value") or raw.get("email"))
    out["notes"] = check.text(f"{at}.notes", raw.get("notes"), limit=2000)
    return out


def _amount(check: _Checker, name: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        check.fail(name, _("Give the amount as a number, e.g. 9500.00."))
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        check.fail(name, _("%(value)s is not an amount: give a number, e.g. 9500.00.", value=str(value)[:30]))
        return None
    if not amount.is_finite() or amount <= 0:
        check.fail(name, _("The amount must be more than zero."))
        return None
    if amount >= Decimal("1e15") or -amount.as_tuple().exponent > 4:  # type: ignore[operator]
        check.fail(name, _("The amount is out of range (at most 15 digits and 4 decimal places)."))
        return None
    return format(amount.quantize(Decimal("0.01")) if -amount.as_tuple().exponent <= 2 else amount, "f")


def _transaction(check: _Checker, index: int, raw: Any, kinds: dict[str, str]) -> dict[str, Any] | None:
    at = f"transactions[{index}]"
    if not isinstance(raw, dict):
        check.fail(at, _("Each transaction is an object with a date, amount, currency, from and to."))
        return None
    out: dict[str, Any] = {"date": check.date(f"{at}.date", raw.get("date"), required=True),
                           "amount": _amount(check, f"{at}.amount", raw.get("amount"))}
    currency = raw.get("currency")
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if code not in currencies():
        check.fail(f"{at}.currency", _("%(value)s is not an ISO 4217 currency code, e.g. NZD, AUD, WST, TOP, FJD.",
                                       value=str(currency)[:10]))
    out["currency"] = code
    for end in ("from", "to"):
        ref = raw.get(end)
        if ref in (None, ""):
            out[end] = None
            continue
        if not isinstance(ref, str) or ref not in kinds:  # a list or object is no subject id (and unhashable)
            check.fail(f"{at}.{end}", _("%(ref)s is not one of this report's subjects.", ref=str(ref)[:40]))
        elif kinds[ref] not in PARTY_KINDS:
            check.fail(f"{at}.{end}", _("Money moves from or to a person, an entity or an account, not a %(kind)s.",
                                        kind=kinds[ref]))
        out[end] = ref
    if not out["from"] and not out["to"]:
        check.fail(f"{at}.from", _("Name the subject the money came from, went to, or both."))
    method = raw.get("method") or "other"
    if not isinstance(method, str) or len(method) > 40:
        check.fail(f"{at}.method", _("Give the method in a few words, e.g. %(methods)s.", methods=", ".join(methods())))
        method = "other"
    method = " ".join(method.lower().replace("_", "-").split())
    out["method"] = METHOD_ALIASES.get(method, method)  # a method goAML has no code for exports as "other"
    out["description"] = check.text(f"{at}.description", raw.get("description"), limit=2000)
    if raw.get("amount_local") not in (None, ""):
        out["amount_local"] = _amount(check, f"{at}.amount_local", raw.get("amount_local"))
    return out


def _subject_ref(check: _Checker, name: str, value: Any, subjects: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A subject named by its id (or by its 0-based position in ``subjects``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < len(subjects):
            return subjects[value]
    elif isinstance(value, str):
        found = next((s for s in subjects if s["id"] == value), None)
        if found is not None:
            return found
    if value in (None, ""):
        check.fail(name, _("Name the subject by its id."))
    else:
        check.fail(name, _("%(ref)s is not one of this report's subjects.", ref=str(value)[:40]))
    return None


def _relations(check: _Checker, raw_relations: Any, subjects: list[dict[str, Any]],
               transactions: int) -> list[dict[str, Any]]:
    """``[{"subject", "role", "to"}]`` (another subject) or ``[{"subject", "role", "transaction"}]``
    (a 0-based transaction index), checked against :data:`RELATION_ROLES`; duplicates dropped."""
    if raw_relations in (None, ""):
        return []
    if not isinstance(raw_relations, list) or len(raw_relations) > MAX_RELATIONS:
        check.fail("relations", _("Give a list of at most %(n)s relations.", n=MAX_RELATIONS))
        return []
    out: list[dict[str, Any]] = []
    conductors: dict[int, str] = {}
    entity_holders: dict[str, str] = {}
    for index, raw in enumerate(raw_relations):
        at = f"relations[{index}]"
        if not isinstance(raw, dict):
            check.fail(at, _("Each relation is an object with a subject, a role and what it relates to."))
            continue
        role = raw.get("role")
        if not isinstance(role, str) or role not in RELATION_ROLES:
            check.fail(f"{at}.role", _("Choose the role: %(roles)s.", roles=", ".join(RELATION_ROLES)))
            continue
        kinds, targets = RELATION_ROLES[role]
        subject = _subject_ref(check, f"{at}.subject", raw.get("subject"), subjects)
        if subject is not None and subject["kind"] not in kinds:
            check.fail(f"{at}.subject", _("%(id)s is a %(kind)s; a %(role)s is one of: %(kinds)s.", id=subject["id"],
                                          kind=subject["kind"], role=role, kinds=", ".join(kinds)))
            subject = None
        relation: dict[str, Any] = {"subject": subject["id"] if subject else None, "role": role}
        if targets == ("transaction",):
            if raw.get("to") not in (None, ""):
                check.fail(f"{at}.to", _("A %(role)s relates to a transaction: give its position in "
                                         "\"transactions\" (0 for the first), not a subject.", role=role))
                continue
            number = raw.get("transaction")
            if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < transactions:
                check.fail(f"{at}.transaction", _("Give the position of a transaction of this report (0 to %(n)s).",
                                                  n=max(transactions - 1, 0)) if transactions else
                           _("This report has no transactions to relate to."))
                continue
            relation["transaction"] = number
        else:
            if raw.get("transaction") not in (None, ""):
                check.fail(f"{at}.transaction", _("A %(role)s relates to a %(kinds)s, not to a transaction.",
                                                  role=role, kinds=", ".join(targets)))
                continue
            target = _subject_ref(check, f"{at}.to", raw.get("to"), subjects)
            if target is None:
                continue
            if subject is not None and target["id"] == subject["id"]:
                check.fail(f"{at}.to", _("A subject cannot be related to itself."))
                continue
            if target["kind"] not in targets:
                check.fail(f"{at}.to", _("%(id)s is a %(kind)s; a %(role)s relates to one of: %(kinds)s.",
                                         id=target["id"], kind=target["kind"], role=role, kinds=", ".join(targets)))
                continue
            relation["to"] = target["id"]
        if subject is None:
            continue
        if role == "conductor":
            other = conductors.setdefault(relation["transaction"], subject["id"])
            if other != subject["id"]:
                check.fail(f"{at}.subject", _("Transaction %(n)s already has a conductor (%(id)s): goAML records "
                                              "one.", n=relation["transaction"], id=other))
                continue
        if role == "holder" and subject["kind"] == "entity":
            other = entity_holders.setdefault(relation["to"], subject["id"])
            if other != subject["id"]:
                check.fail(f"{at}.subject", _("Account %(account)s already has an entity as holder (%(id)s): goAML "
                                              "records one; relate the others as director or shareholder of it.",
                                              account=relation["to"], id=other))
                continue
        if relation not in out:
            out.append(relation)
    return out


def validate(data: dict[str, Any], submitter: Any) -> Report:
    """Check everything a submitter sends; raise :class:`Invalid` naming each bad field."""
    conf = settings()
    check = _Checker()
    # The report's shape is SubmissionInput's (schemas.py), for the composer as for the API; where
    # this module also speaks of a field, its words (which know the report) are the ones kept.
    shape: dict[str, list[str]] = {}
    try:
        payloads.check(SubmissionInput, data)
    except Invalid as invalid:
        shape = invalid.fields

    follows = None
    if data.get("follows") not in (None, ""):
        follows = db.session.scalar(policy.readable_submissions(submitter).where(
            Submission.reference == str(data["follows"]).strip().upper(),
            Submission.submitting_org_id == submitter.organisation_id))
        if follows is None:
            check.fail("follows", _("%(ref)s is not a report of your organisation.", ref=str(data["follows"])[:40]))

    recipient = None
    slug = data.get("recipient_org") or (follows.recipient_org.slug if follows else None)
    if not isinstance(slug, str) or not slug:
        check.fail("recipient_org", _("Choose the agency that receives the report."))
    else:
        recipient = db.session.scalar(recipient_agencies().where(Organisation.slug == slug))
        if recipient is None:
            check.fail("recipient_org", _("%(slug)s is not an agency that receives reports (%(sectors)s).",
                                          slug=slug[:60], sectors=", ".join(conf.submission_recipient_sectors)))
        elif recipient.id == submitter.organisation_id:
            check.fail("recipient_org", _("An agency does not report to itself."))
            recipient = None
        elif follows is not None and follows.recipient_org_id != recipient.id:
            check.fail("recipient_org", _("A follow-up goes to the agency that received the first report."))

    classification = classification_for(data.get("classification"), submitter.clearance, check.errors)

    typologies: list[str] = []
    raw_typologies = data.get("typologies")
    if isinstance(raw_typologies, str):
        raw_typologies = [raw_typologies]
    if not isinstance(raw_typologies, list) or not all(isinstance(t, str) for t in raw_typologies):
        check.fail("typologies", _("Give a list of typology codes."))
    else:
        typologies = sorted(set(raw_typologies))
        known = {code for code, _label in conf.typologies}
        unknown = [t for t in typologies if t not in known]
        if unknown:
            check.fail("typologies", _("Unknown typologies: %(codes)s. See /api/v1/typologies.",
                                       codes=", ".join(u[:40] for u in unknown)))
        elif not typologies:
            check.fail("typologies", _("Choose at least one typology: goAML needs one."))

    narrative = data.get("narrative")
    limit = conf.submission_max_narrative
    if not isinstance(narrative, str) or not narrative.strip():
        check.fail("narrative", _("Say what was seen and why it is suspicious."))
        narrative = ""
    elif len(narrative) > limit:
        check.fail("narrative", _("The narrative is %(size)s characters; at most %(n)s are allowed.",
                                  size=len(narrative), n=limit))
    narrative = narrative.strip().replace("\r\n", "\n")

    subjects: list[dict[str, Any]] = []
    identifiers: list[tuple[str, str, str]] = []
    raw_subjects = data.get("subjects") or []
    if not isinstance(raw_subjects, list) or len(raw_subjects) > MAX_SUBJECTS:
        check.fail("subjects", _("Give a list of at most %(n)s subjects.", n=MAX_SUBJECTS))
        raw_subjects = []
    for index, raw in enumerate(raw_subjects):
        subject = _subject(check, index, raw, identifiers)
        if subject is None:
            continue
        if any(s["id"] == subject["id"] for s in subjects):
            check.fail(f"subjects[{index}].id", _("Two subjects have the id %(id)s.", id=subject["id"]))
        subjects.append(subject)

    transactions: list[dict[str, Any]] = []
    raw_transactions = data.get("transactions") or []
    if not isinstance(raw_transactions, list) or len(raw_transactions) > MAX_TRANSACTIONS:
        check.fail("transactions", _("Give a list of at most %(n)s transactions.", n=MAX_TRANSACTIONS))
        raw_transactions = []
    kinds = {s["id"]: s["kind"] for s in subjects}
    for index, raw in enumerate(raw_transactions):
        transaction = _transaction(check, index, raw, kinds)
        if transaction is not None:
            transactions.append(transaction)

    relations = _relations(check, data.get("relations"), subjects, len(raw_transactions))

    if shape or check.errors:
        raise Invalid({**shape, **check.errors})
    assert recipient is not None
    return Report(recipient=recipient, classification=classification, typologies=typologies, narrative=narrative,
                  subjects=subjects, transactions=transactions, follows=follows, relations=relations,
                  identifiers=sorted(set(identifiers)))
