"""A report as goAML 5.0.2 XML (UNODC's schema, which FIUs load). Code lists — funds, transmode
and indicator codes, reporting-entity ids — come from the ``[goaml]`` configuration table.

With transactions, each becomes a ``<transaction>`` with ``t_from``/``t_to`` parties; without, the
persons, entities and accounts become the parties of an ``<activity>``. Relations the reporter
stated place the other subjects (signatories, directors, conductors, beneficiaries), and every
person, entity or account still unplaced is written by a documented default (:class:`_Placement`):
an export never loses one. Subjects goAML has no place
for (vessels, containers, flights, vehicles; phones and e-mails not tied to a person) are listed in
the ``reason`` text so nothing the submitter said is lost.

XML 1.0 cannot carry most C0 control characters (only tab, line feed and carriage return), nor
U+FFFE, U+FFFF or lone surrogates: each such character in the report's text is written as U+FFFD
(the replacement character), so a pasted control character never stops the export.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from flask import Response
from lxml import etree

from portal import reads
from portal.config import settings
from portal.submissions.models import Submission
from portal.submissions.validation import PARTY_KINDS


class NotExportable(ValueError):
    """goAML cannot carry this report (it names no person, entity or account)."""


#: What XML 1.0 cannot carry (its ``Char`` production): replaced by U+FFFD.
NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    """``value`` as text that XML 1.0 can carry."""
    return NOT_XML.sub("\ufffd", str(value))


def _name_text(value: str, limit: int = 100) -> str:
    """goAML names allow ``[a-zA-Z0-9 .'-]`` only: fold diacritics, drop the rest."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^a-zA-Z0-9 .'-]", " ", text)
    return " ".join(text.split())[:limit] or "Unknown"


def _when(day: str | dt.date | dt.datetime) -> str:
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    if isinstance(day, dt.datetime):
        return day.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{day.isoformat()}T00:00:00"


def _add(parent: etree._Element, tag: str, text: Any = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = xml_text(text)
    return element


def _fill_person(person: etree._Element, subject: dict[str, Any], placement: _Placement, note: str = "") -> None:
    """A ``t_person``'s elements (also ``t_conductor`` and ``director_id``, which extend it)."""
    placement.written.add(subject["id"])
    if subject.get("gender") in ("F", "M"):
        _add(person, "gender", subject["gender"])
    words = _name_text((subject.get("names") or ["Unknown"])[0], 200).split()
    _add(person, "first_name", " ".join(words[:-1])[:100] or words[0][:100])
    _add(person, "last_name", words[-1][:100])
    if subject.get("date_of_birth"):
        _add(person, "birthdate", _when(subject["date_of_birth"]))
    if subject.get("aliases"):
        _add(person, "alias", _name_text(", ".join(subject["aliases"]), 255))
    passport = next((d for d in subject.get("documents", []) if d["type"] == "passport" and d.get("country")), None)
    if passport:
        _add(person, "passport_number", passport["number"])
        _add(person, "passport_country", passport["country"])
    other = next((d for d in subject.get("documents", []) if d is not passport), None)
    if other:
        _add(person, "id_number", other["number"])
    if subject.get("nationality"):
        _add(person, "nationality1", subject["nationality"])
    documents = [f"{d['type']} {d['number']} ({d.get('country') or '?'})" for d in subject.get("documents", [])]
    comments = "; ".join(filter(None, [note, subject.get("notes"),
                                       ("Documents: " + ", ".join(documents)) if documents else ""]))
    if comments:
        _add(person, "comments", comments[:4000])


def _person(parent: etree._Element, tag: str, subject: dict[str, Any], placement: _Placement) -> None:
    _fill_person(_add(parent, tag), subject, placement)


def _entity(parent: etree._Element, tag: str, subject: dict[str, Any], placement: _Placement) -> None:
    placement.written.add(subject["id"])
    entity = _add(parent, tag)
    _add(entity, "name", _name_text(subject.get("name") or "Unknown", 255))
    if subject.get("registration_number"):
        _add(entity, "incorporation_number", subject["registration_number"][:50])
    if subject.get("country"):
        _add(entity, "incorporation_country_code", subject["country"])
    for person, role in placement.officers.get(subject["id"], ()):
        director = _add(entity, "director_id")
        _fill_person(director, placement.subjects[person], placement,
                     f"{role.capitalize().replace('-', ' ')} of {subject['id']} (stated by the reporter)")
        _add(director, "role", placement.role_code(role))
    if subject.get("notes"):
        _add(entity, "comments", subject["notes"][:4000])


def _account(parent: etree._Element, tag: str, subject: dict[str, Any], placement: _Placement) -> None:
    placement.written.add(subject["id"])
    account = _add(parent, tag)
    if subject.get("institution"):
        _add(account, "institution_name", subject["institution"][:255])
    if subject.get("swift"):
        _add(account, "swift", subject["swift"][:11])
    else:
        _add(account, "institution_code", (subject.get("institution") or "UNKNOWN")[:50])
    if subject.get("country"):
        _add(account, "institution_country", subject["country"])
    number = subject["number"]
    _add(account, "account", number[:50])
    holder = placement.holder_entity.get(subject["id"])
    holder_name = subject.get("holder") or (placement.subjects[holder].get("name") if holder else None)
    _add(account, "account_name", _name_text(holder_name or "Unknown", 255))
    compact = number.replace(" ", "").upper()
    if re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", compact):
        _add(account, "iban", compact)
    if holder:
        _entity(account, "t_entity", placement.subjects[holder], placement)
    primary = True
    for person, role in placement.signatories.get(subject["id"], ()):
        signatory = _add(account, "signatory")
        if role == "holder" and primary:
            _add(signatory, "is_primary", "1")
            primary = False
        if role == UNCONFIRMED:
            note = (f"Role unconfirmed: named in the report with no stated relation; placed as signatory of the "
                    f"reported account {subject['id']} by default.")
        else:
            note = f"{role.capitalize()} of account {subject['id']} (stated by the reporter)"
        _fill_person(_add(signatory, "t_person"), placement.subjects[person], placement, note)
        _add(signatory, "role", placement.role_code(role))
    if subject.get("notes"):
        _add(account, "comments", subject["notes"][:4000])


WRITERS = {"person": _person, "entity": _entity, "account": _account}
#: The role of a person placed by default (see :class:`_Placement`).
UNCONFIRMED = "unconfirmed"


class _Placement:
    """Where each person, entity and account of a report goes in goAML.

    Stated relations (``content["relations"]``, see ``validation.RELATION_ROLES``) nest subjects:
    a holder entity as the account's ``t_entity``, holder and signatory persons as its
    ``signatory``; directors, shareholders and beneficial owners as the entity's ``director_id``;
    a transaction's conductor as its ``t_conductor``; a beneficiary as the transaction's ``t_to``
    party when the report named none.

    Defaults, so that no subject is ever lost: in a report with transactions and exactly one
    account, a person with no stated relation who is no party of a transaction becomes a
    ``signatory`` of that account with the role code for "unconfirmed" and a comment saying so.
    Every person, entity or account that is still not in the document after that (any subject of a
    report without transactions; a beneficiary the transaction had no room for; a subject related
    only to something that is itself not placed) becomes a ``report_party`` of an ``<activity>``
    after the transactions, its reason saying what the reporter stated about it (or that nothing
    was stated).
    """

    def __init__(self, content: dict[str, Any], roles: dict[str, str]) -> None:
        self.subjects: dict[str, dict[str, Any]] = {s["id"]: s for s in content.get("subjects", [])}
        self.transactions: list[dict[str, Any]] = content.get("transactions", [])
        self.relations: list[dict[str, Any]] = [r for r in content.get("relations") or []
                                                if r.get("subject") in self.subjects]
        self.roles = roles
        self.written: set[str] = set()
        self.holder_entity: dict[str, str] = {}
        self.signatories: dict[str, list[tuple[str, str]]] = {}
        self.officers: dict[str, list[tuple[str, str]]] = {}
        self.conductor: dict[int, str] = {}
        self.beneficiaries: dict[int, list[str]] = {}
        for relation in self.relations:
            subject, role = relation["subject"], relation["role"]
            target = relation.get("to")
            if target is not None and target not in self.subjects:
                continue
            if role == "holder" and self.subjects[subject]["kind"] == "entity":
                self.holder_entity.setdefault(target, subject)
            elif role in ("holder", "signatory"):
                self.signatories.setdefault(target, []).append((subject, role))
            elif role in ("director", "shareholder", "beneficial-owner"):
                self.officers.setdefault(target, []).append((subject, role))
            elif role == "conductor":
                self.conductor.setdefault(relation["transaction"], subject)
            elif role == "beneficiary":
                self.beneficiaries.setdefault(relation["transaction"], []).append(subject)
        related = {r["subject"] for r in self.relations}
        in_transactions = {t.get(end) for t in self.transactions for end in ("from", "to")}
        accounts = [s for s in self.subjects.values() if s["kind"] == "account"]
        if self.transactions and len(accounts) == 1:
            for s in self.subjects.values():
                if s["kind"] == "person" and s["id"] not in related and s["id"] not in in_transactions:
                    self.signatories.setdefault(accounts[0]["id"], []).append((s["id"], UNCONFIRMED))

    def role_code(self, role: str) -> str:
        return str(self.roles.get(role, self.roles.get(UNCONFIRMED, "-")))

    def to_party(self, index: int) -> dict[str, Any] | None:
        """The transaction's receiving side: as written, else its first stated beneficiary."""
        t = self.transactions[index]
        if t.get("to") in self.subjects:
            return self.subjects[t["to"]]
        beneficiaries = self.beneficiaries.get(index)
        return self.subjects[beneficiaries[0]] if beneficiaries else None

    def stated(self, subject_id: str, reference: str) -> str:
        """What the reporter said about a subject, for a report party's reason."""
        parts = []
        for r in self.relations:
            if r["subject"] == subject_id:
                what = (f"transaction {reference}-T{r['transaction'] + 1}" if "transaction" in r
                        else f"{self.subjects[r['to']]['kind']} {r['to']}")
                parts.append(f"{r['role'].replace('-', ' ')} of {what}")
            elif r.get("to") == subject_id:
                parts.append(f"{r['subject']} is its {r['role'].replace('-', ' ')}")
        if not parts:
            return "Named in the report; the reporter stated no role for it (role unconfirmed)."
        return "Stated by the reporter: " + "; ".join(parts) + "."

    def leftovers(self) -> list[dict[str, Any]]:
        """Parties not yet in the document: accounts first, then entities, then persons, so that a
        subject nested in another is written inside it rather than twice."""
        order = {"account": 0, "entity": 1, "person": 2}
        return sorted((s for s in self.subjects.values() if s["kind"] in order and s["id"] not in self.written),
                      key=lambda s: order[s["kind"]])


def _party(parent: etree._Element, prefix: str, subject: dict[str, Any], placement: _Placement) -> None:
    WRITERS[subject["kind"]](parent, f"{prefix}_{subject['kind']}", subject, placement)


def _country(subject: dict[str, Any], fallback: str) -> str:
    return subject.get("country") or subject.get("nationality") or fallback


def _other_subjects(subjects: list[dict[str, Any]]) -> str:
    lines = []
    for s in subjects:
        if s["kind"] in PARTY_KINDS:
            continue
        value = s.get("imo") or s.get("number") or s.get("registration") or s.get("address") or ""
        lines.append(f"- {s['kind']} {s['id']}: {' '.join(filter(None, [s.get('name'), value, s.get('date')]))}")
    return ("\n\nOther subjects:\n" + "\n".join(lines)) if lines else ""


def load_for_export(reference: str) -> Submission:
    """The report ``reference`` if the reader may read it (else 404), without its typology rows and
    attachment list: an export reads neither (the typologies are in its content), so both pages and
    API save the two queries."""
    return reads.load(Submission, reference, options=reads.without(Submission.typologies, Submission.attachments))


def download(submission: Submission, xml: bytes) -> Response:
    """The export as a file to save, named after the report."""
    return Response(xml, mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{submission.reference}-goaml.xml"'})


def export(submission: Submission) -> bytes:
    """The report as goAML XML (UTF-8, with declaration). Every person, entity and account of the
    report is in it, placed as :class:`_Placement` says."""
    goaml = settings().goaml
    content = submission.content
    placement = _Placement(content, dict(goaml.get("roles", {})))
    subjects = placement.subjects
    parties = [s for s in subjects.values() if s["kind"] in PARTY_KINDS]
    transactions = placement.transactions
    if not transactions and not parties:
        raise NotExportable("goAML needs at least one person, entity or account, or a transaction.")
    local = goaml["currency_local"]
    home = submission.submitting_org.country

    report = etree.Element("report")
    rentity = dict(goaml.get("rentity_ids", {})).get(submission.submitting_org.slug, goaml["rentity_id"])
    _add(report, "rentity_id", int(rentity))
    _add(report, "submission_code", goaml["submission_code"])
    _add(report, "report_code", goaml["report_code_with_transactions"] if transactions else goaml["report_code"])
    _add(report, "entity_reference", submission.reference)
    _add(report, "submission_date", _when(submission.submitted_at))
    _add(report, "currency_code_local", local)
    _add(report, "reason", (content.get("narrative", "") + _other_subjects(list(subjects.values())))[:8000])
    if content.get("follows"):
        _add(report, "action", f"Follows report {content['follows']}.")

    for index, t in enumerate(transactions):
        element = _add(report, "transaction")
        _add(element, "transactionnumber", f"{submission.reference}-T{index + 1}")
        _add(element, "transaction_location", "")
        _add(element, "transaction_description", (t.get("description") or t["method"])[:8000])
        _add(element, "date_transaction", _when(t["date"]))
        _add(element, "transmode_code", goaml["transmode"].get(t["method"], "-"))
        _add(element, "transmode_comment", "-")
        foreign = t["currency"] != local
        _add(element, "amount_local", t.get("amount_local") or t["amount"])
        for end, tag in (("from", "t_from"), ("to", "t_to")):
            subject = subjects.get(t.get("from") or "") if end == "from" else placement.to_party(index)
            side = _add(element, tag)
            _add(side, f"{end}_funds_code", goaml["funds"].get(t["method"], "B"))
            if foreign:
                fx = _add(side, f"{end}_foreign_currency")
                _add(fx, "foreign_currency_code", t["currency"])
                _add(fx, "foreign_amount", t["amount"])
            if end == "from" and index in placement.conductor:
                _fill_person(_add(side, "t_conductor"), subjects[placement.conductor[index]], placement,
                             f"Conductor of transaction {submission.reference}-T{index + 1} (stated by the reporter)")
            if subject is None:  # one side unknown to the submitter
                _add(side, f"{end}_entity").append(_unknown_name())
                _add(side, f"{end}_country", home)
            else:
                _party(side, end, subject, placement)
                _add(side, f"{end}_country", _country(subject, home))

    if leftovers := placement.leftovers():
        activity = _add(report, "activity")
        holder = _add(activity, "report_parties")
        for subject in leftovers:
            if subject["id"] in placement.written:  # written inside an account or entity listed before it
                continue
            party = _add(holder, "report_party")
            WRITERS[subject["kind"]](party, subject["kind"], subject, placement)
            _add(party, "country", _country(subject, home))
            _add(party, "reason", " ".join(filter(None, [subject.get("notes"),
                                                         placement.stated(subject["id"], submission.reference)]))[:8000])

    indicators = _add(report, "report_indicators")
    codes: list[str] = []
    for typology in content.get("typologies", []):
        for code in goaml["indicators"].get(typology, ()):
            if code not in codes:
                codes.append(code)
    for code in codes or [goaml["default_indicator"]]:
        _add(indicators, "indicator", code)
    return etree.tostring(report, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _unknown_name() -> etree._Element:
    name = etree.Element("name")
    name.text = "Unknown"
    return name
