"""The notification forms (a person's preferences, an organisation's webhook endpoint), declared
once: see ``portal/payloads.py``. The kinds of message are registered by the features at start-up
(``portal.outbox.EVENTS``), so they are checked against that registry when a form arrives; whether
a webhook's address may be called (https, not a private address) is ``webhooks.address_problem``'s."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from portal.i18n import gettext as _
from portal.outbox import EVENTS, MODES
from portal.payloads import Payload, refuse, text, worded

FIRST_HOUR, LAST_HOUR = 0, 23


def _known_events(chosen: list[str]) -> list[str]:
    if unknown := [event for event in chosen if event not in EVENTS]:
        raise refuse(_("Unknown kinds of message: %(events)s.", events=", ".join(unknown)))
    return chosen


class PreferencesInput(Payload):
    """How a person is told of each kind of message, and the hour of their daily digest."""

    digest_hour: Annotated[int, Field(ge=FIRST_HOUR, le=LAST_HOUR),
                           worded(lambda: _("Choose an hour from 0 to 23 for your digest."))]
    modes: Annotated[dict[str, Literal[MODES]],  # type: ignore[valid-type]
                     worded(lambda: _("Choose immediately, daily digest or off for each kind of message."))] = {}


class WebhookInput(Payload):
    """An endpoint of the organisation's own system, told of the chosen kinds of message (none: all)."""

    name: text(100, required=True)
    url: text(1000, required=True)
    events: Annotated[list[text(100)], AfterValidator(_known_events)] = []
