"""The three ways a feature's service refuses a request, shared so that pages and the API answer
them alike: 400 with field errors, 403, 409. Whatever raised them, nothing was stored."""
from __future__ import annotations

from portal.i18n import gettext as _
from portal.vocabulary import Classification


class Invalid(Exception):
    """Field errors, docs/contract.md style: ``{"field": ["…"]}``."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("invalid input")
        self.fields = fields


class NotAllowed(Exception):
    """The person may see the thing but not do this (403)."""


class Conflict(Exception):
    """The thing is not in a state that allows this, or a key was reused (409)."""


def classification_for(value: object, clearance, errors: dict[str, list[str]], default: str | None = None):
    """The classification asked for, checked against the accreditation and the writer's clearance;
    a problem goes into ``errors["classification"]`` (and the default, or the lowest, comes back)."""
    fallback = Classification.parse(default) if default else Classification.UNCLASSIFIED
    try:
        level = Classification.parse(value or default)
    except ValueError as exc:
        errors.setdefault("classification", []).append(str(exc))
        return fallback
    if level > clearance:
        errors.setdefault("classification", []).append(
            _("%(level)s is above your clearance (%(own)s).", level=level.label, own=clearance.label))
    return level
