"""The wording review's payloads, declared once: see ``portal/payloads.py``. The service adds what
depends on the message (its placeholders and tags, a length in proportion to the English)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from portal.i18n import gettext as _
from portal.payloads import Payload, text, worded
from portal.wording.messages import MAX_WORDING, REVIEWABLE_LANGUAGES

#: A plural message has at most this many forms in any language (Arabic's six).
MAX_FORMS = 6

Wording = Annotated[text(MAX_WORDING), worded(lambda: _("That wording is too long for this message."))]


class SuggestionInput(Payload):
    """A translator's wording: ``wording`` for a message, or ``wording-<form>`` for each plural form
    of the language (form 0 first)."""

    wording: Wording | None = None
    wording_0: Wording | None = Field(None, alias="wording-0")
    wording_1: Wording | None = Field(None, alias="wording-1")
    wording_2: Wording | None = Field(None, alias="wording-2")
    wording_3: Wording | None = Field(None, alias="wording-3")
    wording_4: Wording | None = Field(None, alias="wording-4")
    wording_5: Wording | None = Field(None, alias="wording-5")


def suggestion_fields(forms: list[str], plural: bool) -> dict[str, Any]:
    """The fields of a ``SuggestionInput`` that carry ``forms``, as the message's form names them."""
    if not plural:
        return {"wording": forms[0] if forms else ""}
    return {f"wording-{form}": wording for form, wording in enumerate(forms[:MAX_FORMS])}


class DecisionInput(Payload):
    """The portal admin's decision on a suggestion in the queue."""

    decision: Literal["accept", "reject"]


class TranslatorInput(Payload):
    """The languages an organisation's admin lets a member suggest wordings for (none: not a
    translator)."""

    languages: list[Literal[REVIEWABLE_LANGUAGES]] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=len(REVIEWABLE_LANGUAGES))
