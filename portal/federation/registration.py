"""Registering identity providers: one validation for the command line and the admin pages."""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select

from portal.extensions import db
from portal.federation.models import IdentityProvider
from portal.federation.service import ProviderProblem, discover
from portal.i18n import gettext as _
from portal.organisations.models import Organisation
from portal.types import utcnow

NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def validate_provider(data: dict[str, Any], existing: IdentityProvider | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Clean the values and fetch the issuer's discovery document; every problem at once."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if existing is None:
        name = str(data.get("name") or "").strip().lower()
        if not NAME_RE.match(name):
            errors["name"] = [_("Use 1–64 lower-case letters, digits and hyphens, e.g. harbour-bank.")]
        elif db.session.scalar(select(IdentityProvider.id).where(IdentityProvider.name == name)) is not None:
            errors["name"] = [_("A provider called %(name)s already exists.", name=name)]
        values["name"] = name
    display = str(data.get("display_name") or "").strip()
    values["display_name"] = display[:200]
    slug = str(data.get("org") or "").strip().lower()
    org = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        errors["org"] = [_("No organisation with slug %(slug)r. Create it first with `orgs add`.", slug=slug)]
    else:
        values["organisation_id"] = org.id
        values["display_name"] = values["display_name"] or org.name
    issuer = str(data.get("issuer") or "").strip().rstrip("/")
    parsed = urlparse(issuer)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        errors["issuer"] = [_("Give the issuer's address, e.g. https://login.harbourbank.example.")]
    values["issuer"] = issuer
    client_id = str(data.get("client_id") or "").strip()
    if not client_id:
        errors["client_id"] = [_("Give the client ID the provider issued to the portal.")]
    values["client_id"] = client_id
    secret = str(data.get("client_secret") or "")
    if not secret and existing is None:
        errors["client_secret"] = [_("Give the client secret the provider issued to the portal.")]
    values["client_secret"] = secret
    domains = [d.strip().lower().lstrip("@") for d in str(data.get("email_domains") or "").replace("\n", ",").split(",")
               if d.strip()]
    bad = [d for d in domains if "." not in d or " " in d]
    if bad:
        errors["email_domains"] = [_("%(value)s is not an e-mail domain.", value=bad[0])]
    values["email_domains"] = ",".join(domains)
    values["trust_roles_claim"] = bool(data.get("trust_roles_claim"))
    values["trust_clearance_claim"] = bool(data.get("trust_clearance_claim"))
    if "issuer" not in errors:
        try:
            values["metadata_json"] = json.dumps(discover(issuer), sort_keys=True)
            values["metadata_fetched_at"] = utcnow()
        except ProviderProblem as problem:
            errors["issuer"] = [_("The provider's discovery document could not be used (%(kind)s): %(detail)s",
                                  kind=problem.kind, detail=problem.detail)]
    return values, errors


def apply(provider: IdentityProvider, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "client_secret":
            if value:
                provider.client_secret = value
        else:
            setattr(provider, key, value)
    provider.updated_at = utcnow()
