"""The request-for-information payloads, declared once (see ``portal/payloads.py``): the page's
form and any future API route are held to these. The service adds what needs the database."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from portal.i18n import gettext as _
from portal.payloads import CLASSIFICATIONS, Payload, one_of, text, worded
from portal.rfis.models import REPLY_KINDS

MAX_TEXT = 10_000


def _required(limit: int, message) -> object:
    return Annotated[text(limit, required=True), worded(message)]


class RequestInput(Payload):
    holder_org: Annotated[text(100, required=True),
                          worded(lambda: _("Choose the organisation that holds the information."))]
    subject: _required(MAX_TEXT, lambda: _("Say what information you need, about whom or what."))  # type: ignore[valid-type]
    legal_basis: _required(MAX_TEXT, lambda: _(  # type: ignore[valid-type]
        "State the legal basis for the request (e.g. the Privacy Act 2020, IPP 11(1)(e)(i))."))
    grounds: _required(MAX_TEXT, lambda: _(  # type: ignore[valid-type]
        "State your reasonable grounds: why you believe the holder may disclose it."))
    classification: one_of(CLASSIFICATIONS) = "IN-CONFIDENCE"
    due: Annotated[text(20, required=True), worded(lambda: _("Give a due date in the future, as YYYY-MM-DD."))] = \
        Field(json_schema_extra={"format": "date"})


class ReplyInput(Payload):
    kind: Annotated[Literal[REPLY_KINDS], worded(lambda: _("Choose: answer, decline, clarify or clarification."))]  # type: ignore[valid-type]
    body: _required(MAX_TEXT, lambda: _(  # type: ignore[valid-type]
        "Write the answer, the reason, or the question (at most %(n)s characters).", n=MAX_TEXT))
