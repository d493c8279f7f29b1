"""The deportee-notification payloads, declared once: see ``portal/payloads.py``. The service adds
what needs the database or the issuer (a designated receiver, clearance, photo bytes)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from portal.deportees.models import UPDATE_KINDS
from portal.i18n import gettext as _
from portal.payloads import CLASSIFICATIONS, Page, Paging, Payload, one_of, text, worded
from portal.submissions.schemas import DOCUMENT_TYPES

MAX_TEXT, MAX_NAMES = 20_000, 10
SEXES = ("F", "M", "X")
RISK_LEVELS = ("low", "medium", "high")
STATUSES = ("sent", "acknowledged", "purged")
Names = Annotated[Annotated[list[text(300)], Field(max_length=MAX_NAMES)] | text(300),
                  worded(lambda: _("Give a list of at most %(n)s names.", n=MAX_NAMES)),
                  Field(description=f"At most {MAX_NAMES} names.")]


class Document(Payload):
    type: one_of(DOCUMENT_TYPES)
    number: text(60) = Field(description="4 to 30 letters and digits (spaces and hyphens are ignored).")
    country: text(20) | None = None


class PersonInput(Payload):
    names: Names | None = None
    name: text(300) | None = Field(None, description="One name, instead of names.")
    aliases: Names | None = None
    date_of_birth: text(20) | None = Field(None, json_schema_extra={"format": "date"})
    sex: one_of(SEXES, nullable=True) = None
    nationality: text(20) | None = None
    documents: list[Document] | None = Field(None, max_length=MAX_NAMES)
    photo_base64: str | None = Field(None, description="A JPEG or PNG of at most twice PORTAL_JSON_MAX_BYTES (2 MiB by default), in base64.")


class RemovalInput(Payload):
    arrival_at: text(40) = Field(json_schema_extra={"format": "date-time"},
                                 description="ISO 8601 with its offset, e.g. 2026-12-20T06:30:00Z.")
    flight: text(20) | None = None
    arrival_airport: text(10) | None = Field(None, description="IATA code, e.g. APW.")


class NotificationInput(Payload):
    """A deportee notification as an issuing agency sends it (docs/contract.md)."""

    destination_country: text(20)
    classification: one_of(CLASSIFICATIONS) = "SENSITIVE"
    person: PersonInput
    removal: RemovalInput
    legal_basis: text(2000, required=True) = Field(description="The statutory power or agreement under which this "
                                                               "is shared.")
    offending_summary: text(MAX_TEXT) | None = None
    offences: Names | None = None
    sentences: Names | None = None
    gang_affiliation: text(300) | None = None
    risk_level: one_of(RISK_LEVELS, nullable=True) = None
    risk_notes: text(MAX_TEXT) | None = None
    reintegration_needs: text(MAX_TEXT) | None = None
    health: text(MAX_TEXT) | None = None
    housing: text(MAX_TEXT) | None = None
    family_contact: text(MAX_TEXT) | None = None
    support_services: text(MAX_TEXT) | None = None


class UpdateInput(Payload):
    """A receiving organisation's news of the person."""

    kind: Annotated[Literal[UPDATE_KINDS],  # type: ignore[valid-type]
                    worded(lambda: _("Choose what happened: %(kinds)s.", kinds=", ".join(UPDATE_KINDS)))]
    note: Annotated[text(5000) | None, worded(lambda: _("Give text of at most %(n)s characters.", n=5000))] = None


class RouteInput(Payload):
    """An administrator's designated receiver: a destination country (two letters) and an
    organisation (its slug). The service checks both exist and that the organisation may receive
    for that country."""

    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$"),
                       worded(lambda: _("Choose a destination country and an organisation."))]
    organisation: Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"),
                            worded(lambda: _("Choose a destination country and an organisation."))]


class NotificationQuery(Paging):
    document: text(60) | None = Field(None, description="Exact travel document number (blind index).")


class NotificationOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    reference: str
    issuing_org: str
    destination_country: str
    classification: Literal[CLASSIFICATIONS]  # type: ignore[valid-type]
    status: Literal[STATUSES]  # type: ignore[valid-type]
    recipients: list[str]
    acknowledgements: list[dict[str, Any]]
    removal: dict[str, Any]
    arrival_at: str | None
    acknowledged_at: str | None
    legal_basis: str
    purged_at: str | None
    person: dict[str, Any] | None = Field(None, description="Absent from lists and once purged.")


class NotificationPage(Page):
    items: list[NotificationOut]
