"""The bulletin payloads (JSON API and pages), declared once: see ``portal/payloads.py``.

Shapes, types and lengths are checked here; what needs the database or the writer (audience names,
clearance, indicator check digits, known typologies) is checked by ``service.validate``."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from portal.bulletins.models import FEEDBACK_RATINGS
from portal.i18n import gettext as _
from portal.payloads import CLASSIFICATIONS, TLPS, Page, Paging, Payload, one_of, text, worded

MAX_TITLE, MAX_SUMMARY, MAX_BODY, MAX_INDICATORS = 300, 2000, 200_000, 200
INDICATOR_TYPES = ("person", "organisation", "vessel-imo", "container", "flight", "bank-account", "phone", "email",
                   "domain", "ip-address", "crypto-wallet", "vehicle")
STATUSES = ("draft", "pending-review", "published", "withdrawn")


class Audience(Payload):
    """Who receives it: organisation slugs, sectors, country codes, named users' e-mail addresses."""

    orgs: list[text(100)] = Field(default_factory=list, max_length=500)
    sectors: list[text(100)] = Field(default_factory=list, max_length=100)
    countries: list[text(10)] = Field(default_factory=list, max_length=100)
    users: list[text(320)] = Field(default_factory=list, max_length=500)


class Indicator(Payload):
    type: one_of(INDICATOR_TYPES)
    value: text(1000)


class BulletinInput(Payload):
    """A bulletin as written (POST) or amended (PATCH, with ``change_note``)."""

    title: text(MAX_TITLE)
    classification: one_of(CLASSIFICATIONS)
    tlp: one_of(TLPS)
    summary: text(MAX_SUMMARY) = ""
    body_html: text(MAX_BODY) = Field("", description="Sanitised to a strict allowlist on input.")
    audience: Audience | None = None
    indicators: list[Indicator] = Field(default_factory=list, max_length=MAX_INDICATORS)
    typologies: list[text(100)] = Field(default_factory=list, max_length=100,
                                        description="Codes of GET /typologies.")
    expires_at: text(40) | None = Field(None, json_schema_extra={"format": "date-time"},
                                        description="ISO 8601 date or date and time, in the future.")
    publish: bool = Field(False, description="Ask for publication (pending review when SENSITIVE or above, "
                                             "or TLP:RED).")
    change_note: text(2000) | None = Field(None, description="Required when amending.")


class BulletinChange(BulletinInput):
    """An amendment (PATCH): the fields that change, and why."""

    # Optional but never null (a default is not checked, so None here means "not sent").
    title: text(MAX_TITLE) = None  # type: ignore[assignment]
    classification: one_of(CLASSIFICATIONS) = None
    tlp: one_of(TLPS) = None
    change_note: text(2000) = Field(description="Why it changed; recipients see it.")


class FeedbackInput(Payload):
    rating: Annotated[Literal[FEEDBACK_RATINGS],  # type: ignore[valid-type]
                      worded(lambda: _("Choose one of: %(choices)s.", choices=", ".join(FEEDBACK_RATINGS)))]
    comment: Annotated[text(2000) | None, worded(lambda: _("The comment is text of at most 2000 characters."))] = None


class WithdrawInput(Payload):
    reason: Annotated[text(2000, required=True),
                      worded(lambda: _("Say why it is withdrawn (at most 2000 characters)."))]


class SendBackInput(Payload):
    """A second publisher returns what waits for review to its author, saying what needs to change."""

    comment: Annotated[text(2000, required=True),
                       worded(lambda: _("Say what needs to change (at most 2000 characters)."))]


class MessageInput(Payload):
    """A question to the author, or a reply in its thread."""

    body: Annotated[text(5000, required=True),
                    worded(lambda: _("Write some text, at most %(n)s characters.", n=5000))]


class SightingInput(Payload):
    seen_at: text(40) = Field(json_schema_extra={"format": "date-time"},
                              description="When it was seen: ISO 8601, not in the future.")
    indicator: int | None = Field(None, ge=1, le=2**31 - 1, description="The id of one of the bulletin's indicators.")
    context: Annotated[text(2000), worded(lambda: _("The context is text of at most 2000 characters."))] = ""


class BulletinQuery(Paging):
    q: text(200) | None = Field(None, description="Full-text search.")
    typology: text(100) | None = None
    classification: one_of(CLASSIFICATIONS, nullable=True) = None
    tlp: one_of(TLPS, nullable=True) = None
    author_org: list[text(100)] | None = Field(None, max_length=50, description="Author organisation slug; repeat "
                                               "the parameter for any of several.")
    since: text(40) | None = Field(None, json_schema_extra={"format": "date-time"})
    until: text(40) | None = Field(None, json_schema_extra={"format": "date-time"})


# --- Answers (documented; built by ``api.bulletin_json``) --------------------------------------

class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class AttachmentOut(Answer):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    url: str


class BulletinOut(Answer):
    id: int
    title: str
    summary: str
    body_html: str
    classification: Literal[CLASSIFICATIONS]  # type: ignore[valid-type]
    tlp: Literal[TLPS]  # type: ignore[valid-type]
    audience: dict[str, list[str]] | None = Field(description="Shown to the author organisation only.")
    indicators: list[dict[str, str]]
    typologies: list[str]
    status: Literal[STATUSES]  # type: ignore[valid-type]
    version: int
    author_org: str
    published_at: str | None
    expires_at: str | None
    attachments: list[AttachmentOut]
    pending_change: dict[str, Any] | None = Field(None, description=(
        "Author organisation only: a published bulletin's change waiting for a second publisher "
        "(input, change_note, sent_back). Recipients read the approved version meanwhile."))


class BulletinPage(Page):
    items: list[BulletinOut]


class AcknowledgementOut(Answer):
    bulletin: int
    organisation: str
    acknowledged_at: str | None


class FeedbackOut(Answer):
    bulletin: int
    organisation: str
    rating: str
    comment: str | None


class QuestionOut(Answer):
    id: int
    asking_org: str
    messages: list[dict[str, Any]]


class QuestionPage(Page):
    items: list[QuestionOut]


class SightingOut(Answer):
    id: int
    seen_at: str | None


class SightingPage(Page):
    items: list[dict[str, Any]]
