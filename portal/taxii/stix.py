"""STIX 2.1 at the portal's edge: a bulletin as a ``report`` with its objects (docs/contract.md,
"Standards exchange"). One module, plain functions from the portal's rows to STIX dictionaries;
no second data model.

A bulletin becomes:

- its author organisation as an ``identity`` (``created_by_ref`` of everything else);
- each indicator as an ``indicator`` with a STIX pattern: over STIX's own observable types where
  STIX 2.1 has one (``domain-name``, ``ipv4-addr``/``ipv6-addr``, ``email-addr``), over the types the
  portal's extension definition publishes where it has not (:data:`OBSERVABLE_TYPES`: phone
  numbers, containers, IMO numbers, bank accounts, wallets, vehicles, flights), and then also the
  observable itself as an object of that type. People and organisations named in it are ``identity``
  objects (``individual``/``organization``);
- a ``report`` referring to all of them, its typologies as ``labels``.

Every object of a bulletin carries the bulletin's OASIS TLP 2.0 marking definition and the portal's
marking definition of its NZ classification. An amendment is a new version (``modified``); a
withdrawal a last version with ``revoked: true`` (which only the author organisation may still read).

A report's id is ``report--<bulletins.uuid>`` (the uuid its MISP event has too); the other
identifiers are UUIDv4-shaped and carry the bulletin's (or organisation's) id, masked per deployment.
Either way an object asked for by id is found with one indexed query (:meth:`Identifiers.decode`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from portal.types import MAX_ID
from portal.vocabulary import Classification

SPEC_VERSION = "2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
#: When the portal's own definitions (identity, extension definitions, markings) were published.
DEFINED_AT = "2026-01-01T00:00:00.000Z"

#: OASIS TLP 2.0 marking definitions (STIX 2.1 "TLP 2.0" extension), by the portal's TLP value.
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_MARKINGS = {
    "CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

PORTAL_IDENTITY = "identity--7c1e5b2a-4f0d-4a8e-9b61-3d2f6c8a9e10"
#: The portal's extension definitions: observable types STIX lacks, and the NZ classification marking.
OBSERVABLES_EXTENSION = "extension-definition--2b7f4c1e-8d3a-4e6b-a5c9-0f1e2d3c4b5a"
CLASSIFICATION_EXTENSION = "extension-definition--5d9e3a7b-1c2f-4b8d-9e6a-7f0c1b2a3d4e"
CLASSIFICATION_MARKINGS = {
    Classification.UNCLASSIFIED: "marking-definition--0c4a6e1f-3b2d-4f5a-8e7c-9d1b2a3c4e01",
    Classification.IN_CONFIDENCE: "marking-definition--0c4a6e1f-3b2d-4f5a-8e7c-9d1b2a3c4e02",
    Classification.SENSITIVE: "marking-definition--0c4a6e1f-3b2d-4f5a-8e7c-9d1b2a3c4e03",
    Classification.RESTRICTED: "marking-definition--0c4a6e1f-3b2d-4f5a-8e7c-9d1b2a3c4e04",
}

#: Portal indicator type → (STIX object type, property) where STIX 2.1 has an observable type.
STIX_OBSERVABLES = {"domain": ("domain-name", "value"), "email": ("email-addr", "value")}
#: Portal indicator type → the observable type the portal's extension definition publishes.
OBSERVABLE_TYPES = {
    "phone": "phone-number",
    "container": "shipping-container",
    "vessel-imo": "vessel",
    "bank-account": "bank-account",
    "crypto-wallet": "cryptocurrency-wallet",
    "vehicle": "vehicle",
    "flight": "flight",
}
#: Portal indicator types that name someone: ``identity`` objects.
IDENTITY_CLASSES = {"person": "individual", "organisation": "organization"}

OBSERVABLES_SCHEMA = (
    "New STIX Cyber-observable Object types for what STIX 2.1 has no type for. Each has the common SCO "
    "properties and one required string property 'value', the portal's normalised form: "
    "phone-number (digits, optionally a leading + and country code); shipping-container (ISO 6346 "
    "container number); vessel (IMO ship number, 'IMO' and 7 digits); bank-account (an IBAN as "
    "'IBAN:<iban>', a New Zealand account as 'NZ:<bank>-<branch>-<account>-<suffix>', else "
    "'ACCT:<number>'); cryptocurrency-wallet (wallet address); vehicle (registration plate or VIN); "
    "flight (airline code and flight number). Indicators use them in patterns, e.g. "
    "[vessel:value = 'IMO9074729']."
)
CLASSIFICATION_SCHEMA = (
    "A marking definition carrying this extension (property-extension) marks content with its New Zealand "
    "Government Security Classification: the property 'classification' is one of UNCLASSIFIED, "
    "IN-CONFIDENCE, SENSITIVE, RESTRICTED. Content so marked is handled as that classification requires."
)

# --- Identifiers ------------------------------------------------------------------------------

KINDS = {"report": 1, "indicator": 2, "observable": 3, "subject": 4, "author": 5}
_KIND_NAMES = {number: name for name, number in KINDS.items()}


@dataclass(frozen=True)
class DecodedId:
    kind: str
    key: int  # the bulletin's id, or the organisation's for "author"


class Identifiers:
    """Builds and reads this deployment's STIX identifiers (``namespace``: e.g. its base URL)."""

    def __init__(self, namespace: str) -> None:
        self.salt = hashlib.sha256(b"psp-stix-ids\0" + namespace.encode()).digest()
        self.mask = int.from_bytes(self.salt[:6], "big")

    def make(self, stix_type: str, kind: str, key: int, *discriminator: str) -> str:
        digest = hashlib.sha256(self.salt + "\0".join((kind, str(key), *discriminator)).encode()).digest()
        raw = bytearray(16)
        raw[0:6] = ((key ^ self.mask) & 0xFFFFFFFFFFFF).to_bytes(6, "big")
        raw[6] = 0x40 | KINDS[kind]
        raw[7] = digest[0]
        raw[8] = 0x80 | (digest[1] & 0x3F)
        raw[9:16] = digest[2:9]
        return f"{stix_type}--{uuid.UUID(bytes=bytes(raw))}"

    def decode(self, stix_id: str) -> DecodedId | None:
        """What a portal identifier points at (to be checked against the objects it finds), or None."""
        _type, sep, rest = stix_id.partition("--")
        if not sep:
            return None
        try:
            raw = uuid.UUID(rest).bytes
        except ValueError:
            return None
        kind = _KIND_NAMES.get(raw[6] & 0x0F) if raw[6] >> 4 == 4 else None
        key = int.from_bytes(raw[0:6], "big") ^ self.mask
        if kind is None or not 1 <= key <= MAX_ID:  # a random UUID names no row (and must not reach the query)
            return None
        return DecodedId(kind, key)


# --- Rows in, STIX out ------------------------------------------------------------------------

@dataclass(frozen=True)
class BulletinRow:
    """What STIX needs of a bulletin (read as plain columns for a whole page)."""

    id: int
    title: str
    summary: str
    classification: Classification
    tlp: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime | None
    published_at: dt.datetime | None
    readers_changed_at: dt.datetime
    author_org_id: int
    author_slug: str
    author_name: str
    author_kind: str
    author_country: str
    uuid: str | None = None  # bulletins.uuid: the report's id (and the MISP event's uuid)


@dataclass(frozen=True)
class IndicatorRow:
    type: str
    value: str
    normalised: str


def timestamp(moment: dt.datetime) -> str:
    """STIX and TAXII timestamps: UTC, millisecond precision (STIX's own for created/modified)."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def precise_timestamp(moment: dt.datetime) -> str:
    """TAXII's date_added, to the microsecond, so an ``added_after`` poll misses nothing."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pattern_for(kind: str, normalised: str) -> str | None:
    """The STIX pattern of one of the portal's indicators, or None for people and organisations."""
    if kind == "ip-address":
        version = ipaddress.ip_address(normalised).version
        return f"[ipv{version}-addr:value = {_quote(normalised)}]"
    if kind in STIX_OBSERVABLES:
        stix_type, prop = STIX_OBSERVABLES[kind]
        return f"[{stix_type}:{prop} = {_quote(normalised)}]"
    if kind in OBSERVABLE_TYPES:
        return f"[{OBSERVABLE_TYPES[kind]}:value = {_quote(normalised)}]"
    return None


def report_id(ids: Identifiers, bulletin_id: int, bulletin_uuid: str | None) -> str:
    """A bulletin's report: ``report--<bulletins.uuid>``, the uuid its MISP event has too (stable
    across versions); a row without one (none since migration 0019) falls back to a derived id."""
    return f"report--{bulletin_uuid}" if bulletin_uuid else ids.make("report", "report", bulletin_id)


def report_uuid(stix_id: str) -> str | None:
    """The bulletin uuid a ``report--…`` id names (normalised as the column holds it), or None."""
    kind, sep, rest = stix_id.partition("--")
    if kind != "report" or not sep:
        return None
    try:
        return str(uuid.UUID(rest))
    except ValueError:
        return None


def markings_of(row: BulletinRow) -> list[str]:
    return [TLP_MARKINGS[row.tlp], CLASSIFICATION_MARKINGS[Classification(row.classification)]]


def author_identity(ids: Identifiers, row: BulletinRow) -> dict[str, Any]:
    """The author organisation (marked as the least sensitive of what it is shared with: it says
    only who wrote; each bulletin's own objects carry the bulletin's markings)."""
    return {
        "type": "identity", "spec_version": SPEC_VERSION,
        "id": ids.make("identity", "author", row.author_org_id),
        "created": DEFINED_AT, "modified": DEFINED_AT,
        "name": row.author_name, "identity_class": "organization",
        "description": f"{row.author_slug}: a {row.author_kind} organisation ({row.author_country}) sharing through "
                       f"the Partner Sharing Portal.",
        "created_by_ref": PORTAL_IDENTITY,
        "object_marking_refs": [TLP_MARKINGS["CLEAR"], CLASSIFICATION_MARKINGS[Classification.UNCLASSIFIED]],
    }


def bulletin_objects(ids: Identifiers, row: BulletinRow, indicators: Sequence[IndicatorRow],
                     typologies: Iterable[str]) -> list[dict[str, Any]]:
    """Every STIX object of one bulletin's current version, the report last."""
    created = timestamp(row.created_at)
    modified_at = max(filter(None, (row.created_at, row.updated_at)))
    modified = timestamp(modified_at)
    author = ids.make("identity", "author", row.author_org_id)
    revoked = row.status == "withdrawn"
    common = {"spec_version": SPEC_VERSION, "created": created, "modified": modified, "created_by_ref": author,
              "object_marking_refs": markings_of(row)}
    if revoked:
        common["revoked"] = True
    valid_from = timestamp(row.published_at or row.created_at)
    objects: list[dict[str, Any]] = [author_identity(ids, row)]
    refs: list[str] = []
    seen: set[tuple[str, str]] = set()
    for indicator in indicators:
        key = (indicator.type, indicator.normalised)
        if key in seen:
            continue
        seen.add(key)
        if indicator.type in IDENTITY_CLASSES:
            subject = {"type": "identity", "id": ids.make("identity", "subject", row.id, *key), **common,
                       "name": indicator.value, "identity_class": IDENTITY_CLASSES[indicator.type]}
            objects.append(subject)
            refs.append(subject["id"])
            continue
        pattern = pattern_for(indicator.type, indicator.normalised)
        if pattern is None:
            continue
        if indicator.type in OBSERVABLE_TYPES:
            observable = {
                "type": OBSERVABLE_TYPES[indicator.type], "spec_version": SPEC_VERSION,
                "id": ids.make(OBSERVABLE_TYPES[indicator.type], "observable", row.id, *key),
                "value": indicator.normalised, "object_marking_refs": markings_of(row),
                "extensions": {OBSERVABLES_EXTENSION: {"extension_type": "new-sco"}},
            }
            objects.append(observable)
            refs.append(observable["id"])
        stix_indicator = {
            "type": "indicator", "id": ids.make("indicator", "indicator", row.id, *key), **common,
            "name": f"{indicator.type}: {indicator.value}",
            "description": f"Named in the bulletin: {row.title}",
            "indicator_types": ["malicious-activity"],
            "pattern": pattern, "pattern_type": "stix", "pattern_version": SPEC_VERSION, "valid_from": valid_from,
        }
        objects.append(stix_indicator)
        refs.append(stix_indicator["id"])
    report = {
        "type": "report", "id": report_id(ids, row.id, row.uuid), **common,
        "name": row.title,
        "description": row.summary or row.title,
        "report_types": ["threat-report"],
        "published": timestamp(row.published_at or row.created_at),
        "object_refs": refs or [author],
        "external_references": [{"source_name": "partner-sharing-portal", "external_id": f"bulletin-{row.id}"}],
    }
    labels = sorted(typologies)
    if labels:
        report["labels"] = labels
    objects.append(report)
    return objects


def definitions() -> list[dict[str, Any]]:
    """The portal's own objects every reader needs to read the rest: its identity, its extension
    definitions, the OASIS TLP 2.0 marking definitions and its NZ classification marking definitions."""
    clear = [TLP_MARKINGS["CLEAR"], CLASSIFICATION_MARKINGS[Classification.UNCLASSIFIED]]
    objects: list[dict[str, Any]] = [{
        "type": "identity", "spec_version": SPEC_VERSION, "id": PORTAL_IDENTITY,
        "created": DEFINED_AT, "modified": DEFINED_AT, "name": "Partner Sharing Portal",
        "description": "The New Zealand Partner Sharing Portal, which publishes these objects.",
        "identity_class": "system", "object_marking_refs": clear,
    }]
    for ext_id, name, description, schema, types in (
        (OBSERVABLES_EXTENSION, "Partner Sharing Portal observables",
         "Observable types for what STIX 2.1 has no type for: phone numbers, containers, vessels, bank accounts, "
         "crypto-currency wallets, vehicles and flights.", OBSERVABLES_SCHEMA, ["new-sco"]),
        (CLASSIFICATION_EXTENSION, "New Zealand Government Security Classification marking",
         "Marks content with its NZ Government Security Classification.", CLASSIFICATION_SCHEMA,
         ["property-extension"]),
    ):
        objects.append({
            "type": "extension-definition", "spec_version": SPEC_VERSION, "id": ext_id,
            "created_by_ref": PORTAL_IDENTITY, "created": DEFINED_AT, "modified": DEFINED_AT, "name": name,
            "description": description, "schema": schema, "version": "1.0.0", "extension_types": types,
            "object_marking_refs": clear,
        })
    for level, marking_id in TLP_MARKINGS.items():
        objects.append({
            "type": "marking-definition", "spec_version": SPEC_VERSION, "id": marking_id,
            "created": "2022-10-01T00:00:00.000Z", "name": f"TLP:{level}",
            "extensions": {TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level.lower()}},
        })
    for level, marking_id in CLASSIFICATION_MARKINGS.items():
        objects.append({
            "type": "marking-definition", "spec_version": SPEC_VERSION, "id": marking_id,
            "created_by_ref": PORTAL_IDENTITY, "created": DEFINED_AT, "name": f"NZGSC:{level.label}",
            "extensions": {CLASSIFICATION_EXTENSION: {"extension_type": "property-extension",
                                                      "classification": level.label}},
        })
    return objects


def version_of(obj: dict[str, Any]) -> str:
    """An object's version for TAXII: ``modified``, else ``created``, else (SCOs) the definitions' time."""
    return obj.get("modified") or obj.get("created") or DEFINED_AT
