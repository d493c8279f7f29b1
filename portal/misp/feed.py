"""Bulletins as MISP events, in the layout MISP's feed fetcher reads (a ``manifest.json`` keyed by
event uuid, and one ``{uuid}.json`` per event holding ``{"Event": {...}}``), as PyMISP's
``MISPEvent.to_feed()`` and ``.manifest`` write it: numbers as strings in event files, tags as
``{"name", "colour"}``, the author organisation as ``Orgc``.

A bulletin is one event: its uuid is ``bulletins.uuid``; its TLP 2.0 marking, NZ classification,
typologies and (for a withdrawn bulletin) its status are event tags; each indicator is an
attribute of the closest MISP type (:data:`ATTRIBUTE_TYPES`), tagged with the portal's own
indicator type so that an import gives the same indicator back. Nothing of the audience is written.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

#: Organisations have no uuid of their own: each gets a stable one from its slug, in this namespace.
ORGANISATION_NAMESPACE = uuid.UUID("5f1c3c1e-7a43-4c55-9a57-2f3c2b9a6d10")
#: Bulletins carry no threat level; MISP's "4" is "Undefined".
THREAT_LEVEL_UNDEFINED = "4"
#: MISP's analysis: 0 initial, 1 ongoing, 2 completed.
ANALYSIS = {"draft": "0", "pending-review": "1", "published": "2", "withdrawn": "2"}
#: The MISP taxonomy tags of TLP 2.0 (the "tlp" taxonomy), with MISP's colours.
TLP_TAGS = {"CLEAR": ("tlp:clear", "#ffffff"), "GREEN": ("tlp:green", "#33ff00"),
            "AMBER": ("tlp:amber", "#ffc000"), "AMBER+STRICT": ("tlp:amber+strict", "#ffc000"),
            "RED": ("tlp:red", "#ff2b2b")}
#: The portal's own machine tags (namespace "portal"), all in one colour.
PORTAL_COLOUR = "#0b3d91"
#: portal indicator type -> (MISP attribute type, category, to_ids). Types MISP has no attribute for
#: (vessels, containers, flights, vehicles, organisations) are "text"; their portal type travels as
#: the attribute's ``portal:indicator-type`` tag. url and the file hashes are here for indicator
#: types the portal may add.
ATTRIBUTE_TYPES: dict[str, tuple[str, str, bool]] = {
    "person": ("full-name", "Person", False),
    "organisation": ("text", "Other", False),
    "vessel-imo": ("text", "Other", False),
    "container": ("text", "Other", False),
    "flight": ("text", "Other", False),
    "vehicle": ("text", "Other", False),
    "bank-account": ("bank-account-nr", "Financial fraud", True),
    "phone": ("phone-number", "Person", False),
    "email": ("email-src", "Payload delivery", True),
    "domain": ("domain", "Network activity", True),
    "ip-address": ("ip-dst", "Network activity", True),
    "crypto-wallet": ("text", "Financial fraud", True),
    "url": ("url", "Network activity", True),
    "md5": ("md5", "Payload delivery", True),
    "sha1": ("sha1", "Payload delivery", True),
    "sha256": ("sha256", "Payload delivery", True),
}
#: The attribute that carries a bulletin's summary.
SUMMARY_TAG = 'portal:part="summary"'
#: The tag that carries an attribute's portal indicator type.
INDICATOR_TAG = re.compile(r'^portal:indicator-type="([a-z0-9-]{1,30})"$')
IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
BITCOIN = re.compile(r"^(bc1|tb1|[13])")


def organisation_uuid(slug: str) -> str:
    return str(uuid.uuid5(ORGANISATION_NAMESPACE, slug))


def _stamp(moment: dt.datetime | None) -> str:
    if moment is None:
        return "0"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return str(int(moment.timestamp()))


def _tag(name: str, colour: str = PORTAL_COLOUR) -> dict[str, str]:
    return {"name": name, "colour": colour}


def attribute_type(kind: str, normalised: str) -> tuple[str, str, bool]:
    """The MISP (type, category, to_ids) of a portal indicator."""
    misp_type, category, to_ids = ATTRIBUTE_TYPES.get(kind, ("text", "Other", False))
    if kind == "bank-account" and (normalised.startswith("IBAN:") or IBAN.match(normalised.replace(" ", "").upper())):
        misp_type = "iban"
    elif kind == "crypto-wallet" and BITCOIN.match(normalised):
        misp_type = "btc"
    return misp_type, category, to_ids


def event_tags(tlp: str, classification: str, typologies: list[str], status: str) -> list[dict[str, str]]:
    tags = [_tag(*TLP_TAGS[tlp]), _tag(f'portal:classification="{classification}"')]
    tags += [_tag(f'portal:typology="{code}"') for code in sorted(typologies)]
    if status != "published":
        tags.append(_tag(f'portal:status="{status}"'))
    return tags


def timestamp_of(created_at: dt.datetime, published_at: dt.datetime | None,
                 updated_at: dt.datetime | None) -> dt.datetime:
    """When the event last changed, as MISP compares it to decide whether to fetch it again."""
    return max(m for m in (created_at, published_at, updated_at) if m is not None)


def manifest_entry(row: Any, typologies: list[str]) -> dict[str, Any]:
    """One manifest value (``MISPEvent.manifest``'s shape) from a row of the manifest query."""
    return {
        "Orgc": {"name": row.org_name, "uuid": organisation_uuid(row.org_slug)},
        "Tag": event_tags(row.tlp, row.classification.label, typologies, row.status),
        "info": row.title,
        "date": (row.published_at or row.created_at).date().isoformat(),
        "analysis": int(ANALYSIS[row.status]),
        "threat_level_id": int(THREAT_LEVEL_UNDEFINED),
        "timestamp": int(_stamp(timestamp_of(row.created_at, row.published_at, row.updated_at))),
    }


def event(bulletin: Any) -> dict[str, Any]:
    """A bulletin as ``{"Event": {...}}``, as ``MISPEvent.to_feed()`` writes it."""
    changed = _stamp(timestamp_of(bulletin.created_at, bulletin.published_at, bulletin.updated_at))
    attributes: list[dict[str, Any]] = []
    if bulletin.summary:
        attributes.append({
            "uuid": str(uuid.uuid5(uuid.UUID(bulletin.uuid), "summary")), "type": "comment", "category": "Other",
            "value": bulletin.summary, "to_ids": False, "comment": "", "timestamp": changed,
            "disable_correlation": True, "deleted": False, "Tag": [_tag(SUMMARY_TAG)]})
    seen: set[str] = set()
    for indicator in bulletin.indicators:
        misp_type, category, to_ids = attribute_type(indicator.type, indicator.normalised)
        attribute_uuid = str(uuid.uuid5(uuid.UUID(bulletin.uuid), f"{indicator.type}:{indicator.normalised}"))
        if attribute_uuid in seen:  # the same indicator written twice: one attribute
            continue
        seen.add(attribute_uuid)
        attributes.append({
            "uuid": attribute_uuid,
            "type": misp_type, "category": category, "value": indicator.value, "to_ids": to_ids,
            "comment": "", "timestamp": changed, "disable_correlation": False, "deleted": False,
            "Tag": [_tag(f'portal:indicator-type="{indicator.type}"')],
        })
    published = bulletin.status == "published"
    return {"Event": {
        "uuid": bulletin.uuid,
        "info": bulletin.title,
        "date": (bulletin.published_at or bulletin.created_at).date().isoformat(),
        "threat_level_id": THREAT_LEVEL_UNDEFINED,
        "analysis": ANALYSIS[bulletin.status],
        "timestamp": changed,
        "publish_timestamp": _stamp(bulletin.published_at),
        "published": published,
        "Orgc": {"name": bulletin.author_org.name, "uuid": organisation_uuid(bulletin.author_org.slug)},
        "Tag": event_tags(bulletin.tlp, bulletin.classification.label, bulletin.typology_codes, bulletin.status),
        "Attribute": attributes,
    }}
