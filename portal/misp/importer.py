"""A partner's MISP event (its JSON export, ``{"Event": {...}}`` or the bare event) imported as an
observation bulletin of the partner's organisation: always a *draft*, which the partner's
publishers review, give an audience and publish through the usual bulletin pages.

What is taken: ``info`` as the title; the TLP tag (``tlp:clear``/``white``, ``green``, ``amber``,
``amber+strict``, ``red``; AMBER when there is none); the portal's own ``portal:classification``
and ``portal:typology`` tags when present (IN-CONFIDENCE otherwise); every attribute (also those
inside objects) of a type the portal has as an indicator (:data:`MISP_TYPES`, or the attribute's
``portal:indicator-type`` tag) that passes the indicator's own check. Every other attribute — a
type the portal has no indicator for, a value that fails its check, beyond the bulletin's
indicator limit — is listed, escaped, in the body, so that nothing the partner sent is lost.

The input is bounded (``Settings.misp_event_max_bytes``, :data:`MAX_ATTRIBUTES`); malformed JSON, a document
that is no MISP event and a classification above the importer's clearance are refused with a
clear message, and nothing is created.
"""
from __future__ import annotations

import json
from typing import Any

from markupsafe import escape

from portal.api.formats import check_json_value
from portal.audit import trail
from portal.bulletins import service
from portal.bulletins.indicators import TYPES, IndicatorError, normalise
from portal.config import settings
from portal.i18n import gettext as _
from portal.misp.feed import INDICATOR_TAG, SUMMARY_TAG
from portal.problems import Invalid
from portal.vocabulary import Classification

MAX_ATTRIBUTES = 5000
#: How many leftover attributes the body lists one by one.
MAX_LISTED = 500
#: MISP attribute type -> portal indicator type. A MISP type that is also a portal type (a "url"
#: or hash type, should the portal add them) maps to itself.
MISP_TYPES = {
    "ip-src": "ip-address", "ip-dst": "ip-address", "domain": "domain", "hostname": "domain",
    "email": "email", "email-src": "email", "email-dst": "email", "email-reply-to": "email",
    "iban": "bank-account", "bank-account-nr": "bank-account", "btc": "crypto-wallet",
    "phone-number": "phone", "whois-registrant-phone": "phone", "full-name": "person",
}
TLP_NAMES = {"tlp:clear": "CLEAR", "tlp:white": "CLEAR", "tlp:green": "GREEN", "tlp:amber": "AMBER",
             "tlp:amber+strict": "AMBER+STRICT", "tlp:red": "RED"}


def _refuse(message: str) -> Invalid:
    return Invalid({"event": [message]})


def parse(raw: bytes) -> dict[str, Any]:
    """The event object of a MISP event document, or :class:`Invalid` saying what is wrong."""
    limit = settings().misp_event_max_bytes
    if len(raw) > limit:
        raise _refuse(_("The file is larger than %(n)s MiB.", n=limit // (1024 * 1024)))
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _refuse(_("This is not valid JSON: export the event from MISP as JSON and upload that file.")) from None
    if check_json_value(document):
        raise _refuse(_("The JSON nests too deeply or holds values that cannot be stored."))
    event = document.get("Event", document) if isinstance(document, dict) else None
    if not isinstance(event, dict) or not isinstance(event.get("info"), str):
        raise _refuse(_('This is not a MISP event: expected {"Event": {"info": …, "Attribute": […]}}.'))
    attributes = _attributes(event)
    if len(attributes) > MAX_ATTRIBUTES:
        raise _refuse(_("The event has %(count)s attributes; at most %(n)s are imported at once.",
                        count=len(attributes), n=MAX_ATTRIBUTES))
    return event


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _attributes(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The event's attributes, and those of its objects, that have a type and a text value."""
    found = [a for a in _list(event.get("Attribute")) if isinstance(a, dict)]
    for obj in _list(event.get("Object")):
        if isinstance(obj, dict):
            found += [a for a in _list(obj.get("Attribute")) if isinstance(a, dict)]
    return [a for a in found if isinstance(a.get("type"), str) and isinstance(a.get("value"), str)
            and not a.get("deleted")]


def _tag_names(holder: dict[str, Any]) -> list[str]:
    return [t["name"] for t in _list(holder.get("Tag")) if isinstance(t, dict) and isinstance(t.get("name"), str)]


def _machine_tag(names: list[str], predicate: str) -> list[str]:
    prefix = f'portal:{predicate}="'
    return [n[len(prefix):-1] for n in names if n.startswith(prefix) and n.endswith('"')]


def bulletin_input(event: dict[str, Any], importer: Any) -> dict[str, Any]:
    """The bulletin API's input for ``event`` (a draft: no audience, no ``publish``)."""
    tags = _tag_names(event)
    tlp = next((TLP_NAMES[t.lower()] for t in tags if t.lower() in TLP_NAMES), "AMBER")
    classifications = _machine_tag(tags, "classification")
    default = Classification.IN_CONFIDENCE if importer.clearance >= Classification.IN_CONFIDENCE \
        else Classification.UNCLASSIFIED
    summary = ""
    indicators: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    leftovers: list[tuple[str, str, str]] = []  # (MISP type, value, why)
    for attribute in _attributes(event):
        misp_type, value = attribute["type"], attribute["value"].strip()
        names = _tag_names(attribute)
        if SUMMARY_TAG in names and not summary:
            summary = value[:service.MAX_SUMMARY]
            continue
        tagged = next((m.group(1) for n in names if (m := INDICATOR_TAG.match(n))), None)
        kind = tagged if tagged in TYPES else MISP_TYPES.get(misp_type, misp_type)
        if kind not in TYPES:
            leftovers.append((misp_type, value, _("no matching indicator type")))
            continue
        try:
            key = (kind, normalise(kind, value))
        except IndicatorError as exc:
            leftovers.append((misp_type, value, str(exc)))
            continue
        if key in seen:
            continue
        if len(indicators) >= service.MAX_INDICATORS:
            leftovers.append((misp_type, value, _("beyond the bulletin's %(n)s indicators", n=service.MAX_INDICATORS)))
            continue
        seen.add(key)
        indicators.append({"type": kind, "value": value})
    orgc = event.get("Orgc") if isinstance(event.get("Orgc"), dict) else {}
    source = {"uuid": str(event.get("uuid") or "")[:64], "org": str(orgc.get("name") or "")[:200],
              "date": str(event.get("date") or "")[:32]}
    title = " ".join(event["info"].split())[:service.MAX_TITLE] or _("MISP event %(uuid)s", uuid=source["uuid"])
    return {
        "title": title,
        "summary": summary or _("Observation imported from a MISP event, for review before it is shared."),
        "body_html": _body(source, leftovers),
        "classification": classifications[0] if classifications else default.label,
        "tlp": tlp,
        "typologies": sorted(set(_machine_tag(tags, "typology"))),
        "indicators": indicators,
    }


def _body(source: dict[str, str], leftovers: list[tuple[str, str, str]]) -> str:
    origin = _("Imported from MISP event %(uuid)s of %(org)s, dated %(date)s.", uuid=source["uuid"] or "?",
               org=source["org"] or "?", date=source["date"] or "?")
    parts = ["<p>", str(escape(origin)), "</p>"]
    if leftovers:
        parts += ["<p>", str(escape(_("Attributes not taken as indicators:"))), "</p><ul>"]
        for misp_type, value, why in leftovers[:MAX_LISTED]:
            parts.append(f"<li><code>{escape(misp_type[:60])}</code> {escape(value[:120])} ({escape(why)})</li>")
        parts.append("</ul>")
        if len(leftovers) > MAX_LISTED:
            parts += ["<p>", str(escape(_("… and %(n)s more.", n=len(leftovers) - MAX_LISTED))), "</p>"]
    return "".join(parts)


def import_event(raw: bytes, importer: Any):
    """Parse ``raw`` and create the draft bulletin (raises :class:`Invalid` or ``NotAllowed``;
    nothing is created then). The caller commits."""
    event = parse(raw)
    data = bulletin_input(event, importer)
    try:
        bulletin = service.create(data, importer)
    except Invalid as invalid:  # e.g. a classification above the importer's clearance
        raise Invalid({f"event.{k}": v for k, v in invalid.fields.items()}) from None
    trail.record("bulletin.import", "bulletin", bulletin.id, importer.organisation.slug, actor=importer,
                 format="misp", source_uuid=str(event.get("uuid") or "")[:64],
                 indicators=len(data["indicators"]))
    return bulletin
