"""The suspicious-activity report payload (JSON API and the composer), declared once: see
``portal/payloads.py``. ``validation.py`` adds what needs the database or other parts of the report
(the recipient exists, known typologies, check digits, transactions naming the report's subjects).

A new part of a report (e.g. relations between subjects) is one more field on :class:`SubmissionInput`
with its own model; a new kind of subject is one more model in :data:`Subject`."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from portal.i18n import gettext as _
from portal.payloads import CLASSIFICATIONS, UNION_TAGS, Page, Paging, Payload, one_of, text, worded

SUBJECT_KINDS = ("person", "entity", "account", "vessel", "container", "flight", "vehicle", "phone", "email")
DOCUMENT_TYPES = ("passport", "national-id", "driver-licence", "other")
STATUSES = ("received", "triaged", "referred", "linked", "closed")
MAX_SUBJECTS, MAX_TRANSACTIONS, MAX_NAMES, MAX_TEXT, MAX_NOTE = 100, 500, 10, 300, 10_000
UNION_TAGS.update(SUBJECT_KINDS)

SubjectId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="Unique in the report; "
                                 "transactions name subjects by it.")]
Country = Annotated[str, Field(max_length=20, description="ISO 3166-1 alpha-2, e.g. NZ, WS, TO.")]
Day = Annotated[str, Field(max_length=20, json_schema_extra={"format": "date"},
                           description="YYYY-MM-DD, after 1900 and not in the future.")]
Names = Annotated[Annotated[list[text(MAX_TEXT)], Field(max_length=MAX_NAMES)] | text(MAX_TEXT), Field(description=f"At most {MAX_NAMES} names.")]


class SubjectBase(Payload):
    id: SubjectId | None = None
    notes: text(2000) | None = None


class Document(Payload):
    type: one_of(DOCUMENT_TYPES)
    number: text(60) = Field(description="4 to 30 letters and digits (spaces and hyphens are ignored).")
    country: Country | None = None


class Person(SubjectBase):
    kind: Literal["person"]
    names: Names | None = None
    name: text(MAX_TEXT) | None = Field(None, description="One name, instead of names.")
    aliases: Names | None = None
    date_of_birth: Day | None = None
    nationality: Country | None = None
    gender: str | None = None
    documents: list[Document] | None = Field(None, max_length=MAX_NAMES)


class Entity(SubjectBase):
    kind: Literal["entity"]
    name: text(MAX_TEXT)
    registration_number: text(MAX_TEXT) | None = None
    country: Country | None = None


class Account(SubjectBase):
    kind: Literal["account"]
    number: text(MAX_TEXT) = Field(description="Account number or IBAN (checked).")
    institution: text(MAX_TEXT) | None = None
    holder: text(MAX_TEXT) | None = None
    name: text(MAX_TEXT) | None = Field(None, description="The holder, instead of holder.")
    swift: text(11) | None = None
    country: Country | None = None


class Vessel(SubjectBase):
    kind: Literal["vessel"]
    name: text(MAX_TEXT) | None = None
    imo: text(MAX_TEXT) | None = Field(None, description="IMO number (check digit verified); required without name.")


class Container(SubjectBase):
    kind: Literal["container"]
    number: text(MAX_TEXT) = Field(description="ISO 6346 (check digit verified).")


class Flight(SubjectBase):
    kind: Literal["flight"]
    number: text(MAX_TEXT)
    date: Day | None = None


class Vehicle(SubjectBase):
    kind: Literal["vehicle"]
    registration: text(MAX_TEXT) | None = None
    number: text(MAX_TEXT) | None = Field(None, description="The registration, instead of registration.")
    description: text(MAX_TEXT) | None = None


class Phone(SubjectBase):
    kind: Literal["phone"]
    number: text(MAX_TEXT) | None = None
    value: text(MAX_TEXT) | None = None


class Email(SubjectBase):
    kind: Literal["email"]
    address: text(MAX_TEXT) | None = None
    value: text(MAX_TEXT) | None = None
    email: text(MAX_TEXT) | None = None


Subject = Annotated[
    Annotated[Person, Tag("person")] | Annotated[Entity, Tag("entity")] | Annotated[Account, Tag("account")]
    | Annotated[Vessel, Tag("vessel")] | Annotated[Container, Tag("container")] | Annotated[Flight, Tag("flight")]
    | Annotated[Vehicle, Tag("vehicle")] | Annotated[Phone, Tag("phone")] | Annotated[Email, Tag("email")],
    Discriminator("kind")]
Amount = Annotated[str | float, Field(description="More than zero, at most 15 digits and 4 decimal places, "
                                      "e.g. \"9500.00\".")]


class Transaction(Payload):
    date: Day
    amount: Amount
    currency: text(10) = Field(description="ISO 4217, e.g. NZD.")
    from_: SubjectId | None = Field(None, alias="from", description="The id of a person, entity or account subject.")
    to: SubjectId | None = Field(None, description="The id of a person, entity or account subject.")
    method: text(40) | None = None
    description: text(2000) | None = None
    amount_local: Amount | None = None


class AttachmentInput(Payload):
    filename: text(255)
    content_base64: str


RELATION_ROLE_NAMES = ("holder", "signatory", "director", "shareholder", "beneficial-owner", "conductor", "beneficiary")


class Relation(Payload):
    """How a subject relates to another subject (``to``: its id) or to a transaction (``transaction``: its
    0-based position). holder: person or entity of an account; signatory: person of an account; director,
    shareholder, beneficial-owner: person of an entity; conductor: person of a transaction; beneficiary:
    person, entity or account of a transaction. The goAML export places subjects by these."""

    subject: str | int = Field(description="A subject's id (or 0-based position).")
    role: one_of(RELATION_ROLE_NAMES)
    to: str | int | None = None
    transaction: int | None = Field(None, ge=0)


class SubmissionInput(Payload):
    """A report as a submitter sends it (docs/contract.md)."""

    recipient_org: text(100) | None = Field(None, description="An agency of a receiving sector; a follow-up "
                                                               "defaults to the first report's.")
    classification: one_of(CLASSIFICATIONS)
    typologies: list[text(100)] | text(100) = Field(description="Codes of GET /typologies; at least one.")
    narrative: text(1_000_000) = Field(description="What was seen and why it is suspicious.")
    follows: text(40) | None = Field(None, description="Reference of an earlier report of your organisation.")
    subjects: list[Subject] = Field(default_factory=list, max_length=MAX_SUBJECTS)
    transactions: list[Transaction] = Field(default_factory=list, max_length=MAX_TRANSACTIONS)
    attachments: list[AttachmentInput] = Field(default_factory=list, max_length=20)
    relations: list[Relation] = Field(default_factory=list, max_length=500)


class NoteInput(Payload):
    """An analyst's note on a report (its triage page)."""

    body: Annotated[text(MAX_NOTE, required=True),
                    worded(lambda: _("Write a note of at most %(n)s characters.", n=MAX_NOTE))]


class FeedbackInput(Payload):
    """What the receiving agency tells the submitter of a report: an outcome (one of the configured
    codes, which the service checks) and, if it likes, a few words."""

    outcome: text(100) | None = None
    words: Annotated[text(MAX_NOTE), worded(lambda: _("Write at most %(n)s characters.", n=MAX_NOTE))] = Field(
        "", alias="text")  # (named "text" in the form and its errors; ``text`` is the declaring function here)


class AssignInput(Payload):
    """Who triages a report: an analyst's id (the service checks it is one of the agency's analysts
    cleared for the report), or nobody (left empty, or 0)."""

    assignee: Annotated[int, Field(ge=0, le=2**63 - 1),
                        worded(lambda: _("Choose an analyst of your agency cleared for this report."))] | None = None


class StatusInput(Payload):
    """A report's next status (the service checks it may follow the current one) and, to close it,
    its outcome (one of the configured codes, which the service checks)."""

    status: Literal[STATUSES]  # type: ignore[valid-type]
    outcome: text(100) | None = None


class SubmissionQuery(Paging):
    status: Literal[STATUSES] | None = None  # type: ignore[valid-type]
    q: text(200) | None = Field(None, description="A reference, or words of the narrative.")


class SubmissionOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    reference: str = Field(examples=["SAR-2026-000123"])
    submitting_org: str
    recipient_org: str
    classification: Literal[CLASSIFICATIONS]  # type: ignore[valid-type]
    status: Literal[STATUSES]  # type: ignore[valid-type]
    outcome: str | None
    typologies: list[str]
    narrative: str
    subjects: list[dict[str, Any]]
    transactions: list[dict[str, Any]]
    follows: str | None
    submitted_at: str | None


class SubmissionPage(Page):
    items: list[SubmissionOut]
