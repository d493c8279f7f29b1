"""Validation shared by the command line and the admin pages."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from portal.config import settings
from portal.extensions import db
from portal.i18n import gettext as _
from portal.organisations.models import Organisation
from portal.vocabulary import OrganisationKind

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def validate_organisation(data: dict[str, Any], existing: Organisation | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Return cleaned values and field errors (every problem at once)."""
    conf = settings()
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 200:
        errors["name"] = [_("Give the organisation's name (at most 200 characters).")]
    values["name"] = name
    try:
        kind = OrganisationKind.parse(data.get("kind"))
        values["kind"] = kind.value
    except ValueError as exc:
        errors["kind"] = [str(exc)]
        kind = None
    sector = str(data.get("sector") or "").strip().lower()
    allowed = conf.sectors.get(kind.value, ()) if kind else conf.all_sectors()
    if sector not in allowed:
        errors["sector"] = [_("Unknown sector %(sector)r: use one of %(allowed)s.", sector=sector,
                              allowed=", ".join(allowed))]
    values["sector"] = sector
    country = str(data.get("country") or "").strip().upper()
    if country not in conf.countries:
        errors["country"] = [_("Unknown country %(country)r: use an ISO 3166-1 code such as %(examples)s.",
                               country=country, examples=", ".join(conf.countries[:6]))]
    values["country"] = country
    return values, errors


def validate_new_organisation(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    values, errors = validate_organisation(data)
    slug = str(data.get("slug") or "").strip().lower()
    if not SLUG_RE.match(slug):
        errors["slug"] = [_("Use 1–64 lower-case letters, digits and hyphens, e.g. harbour-bank.")]
    elif db.session.scalar(select(Organisation.id).where(Organisation.slug == slug)) is not None:
        errors["slug"] = [_("An organisation with slug %(slug)s already exists.", slug=slug)]
    values["slug"] = slug
    return values, errors
