"""Words for the portal's codes: one place that turns a stored code into what a person reads.

``label(code, kind)`` answers in the reader's language (``portal/i18n.py``); templates write
``{{ value|label('sex') }}``. Each word is a catalogue entry whose context is its kind, so that the
same English word ("other", "open") can be translated differently where it means something else.
A code the portal does not know is shown as it is, never hidden. Codes themselves stay in the JSON
API and in the exports meant for machines (goAML, STIX, MISP, the audit export).

Classifications and TLP are not labelled: their official markings (``RESTRICTED``, ``TLP:AMBER``)
are what every reader must see, in every language. Countries are named by
:func:`portal.i18n.country_name` (the ``|country`` filter); ``label('country', code)`` delegates.
"""
from __future__ import annotations

from typing import Any, Iterable

from flask import current_app, has_app_context

from portal.bulletins.indicators import TYPES as INDICATOR_TYPES
from portal.config import EXTENSION, settings
from portal.i18n import NP_, country_name, pgettext

#: kind → code → English word (a catalogue msgid whose context is the kind).
LABELS: dict[str, dict[str, str]] = {
    "sex": {"F": NP_("sex", "Female"), "M": NP_("sex", "Male"), "X": NP_("sex", "Another or unspecified")},
    "risk": {"low": NP_("risk", "Low"), "medium": NP_("risk", "Medium"), "high": NP_("risk", "High")},
    "bulletin-status": {
        "draft": NP_("bulletin-status", "Draft"),
        "pending-review": NP_("bulletin-status", "Waiting for a second publisher"),
        "published": NP_("bulletin-status", "Published"),
        "withdrawn": NP_("bulletin-status", "Withdrawn"),
    },
    "submission-status": {
        "received": NP_("submission-status", "Received"),
        "triaged": NP_("submission-status", "Triaged"),
        "referred": NP_("submission-status", "Referred"),
        "linked": NP_("submission-status", "Linked to a case"),
        "closed": NP_("submission-status", "Closed"),
    },
    "deportee-status": {
        "sent": NP_("deportee-status", "Sent"),
        "acknowledged": NP_("deportee-status", "Acknowledged"),
        "purged": NP_("deportee-status", "Personal data purged"),
    },
    "rfi-status": {
        "open": NP_("rfi-status", "Open"),
        "clarification-requested": NP_("rfi-status", "Clarification requested"),
        "answered": NP_("rfi-status", "Answered"),
        "declined": NP_("rfi-status", "Declined"),
    },
    "rfi-reply": {
        "answer": NP_("rfi-reply", "Answer"),
        "decline": NP_("rfi-reply", "Declined"),
        "clarify": NP_("rfi-reply", "Clarification asked"),
        "clarification": NP_("rfi-reply", "Clarification given"),
    },
    "assessment-status": {
        "draft": NP_("assessment-status", "Draft"),
        "submitted": NP_("assessment-status", "Submitted for assessment"),
        "rated": NP_("assessment-status", "Rated"),
    },
    "method": {
        "cash": NP_("method", "Cash"),
        "cheque": NP_("method", "Cheque"),
        "wire-transfer": NP_("method", "Wire transfer"),
        "electronic-transfer": NP_("method", "Electronic transfer"),
        "card": NP_("method", "Card"),
        "money-order": NP_("method", "Money order"),
        "remittance": NP_("method", "Remittance"),
        "crypto": NP_("method", "Cryptocurrency"),
        "travellers-cheque": NP_("method", "Traveller's cheque"),
        "securities": NP_("method", "Securities"),
        "other": NP_("method", "Other"),
    },
    "update-kind": {
        "arrived": NP_("update-kind", "Arrived"),
        "met-by-family": NP_("update-kind", "Met by family"),
        "met-by-services": NP_("update-kind", "Met by support services"),
        "of-concern": NP_("update-kind", "Of concern"),
        "left-country": NP_("update-kind", "Left the country"),
        "other": NP_("update-kind", "Other"),
    },
    "document-type": {
        "passport": NP_("document-type", "Passport"),
        "national-id": NP_("document-type", "National identity card"),
        "driver-licence": NP_("document-type", "Driver licence"),
        "other": NP_("document-type", "Other document"),
    },
    "sector": {
        "customs": NP_("sector", "Customs"),
        "police": NP_("sector", "Police"),
        "immigration": NP_("sector", "Immigration"),
        "corrections": NP_("sector", "Corrections"),
        "revenue": NP_("sector", "Revenue"),
        "fiu": NP_("sector", "Financial intelligence"),
        "banking": NP_("sector", "Banking"),
        "ports": NP_("sector", "Ports"),
        "airports": NP_("sector", "Airports"),
        "freight": NP_("sector", "Freight"),
        "remittance": NP_("sector", "Remittance"),
        "telecoms": NP_("sector", "Telecommunications"),
        "regional-centre": NP_("sector", "Regional centre"),
    },
    "organisation-kind": {
        "government": NP_("organisation-kind", "Government agencies"),
        "private": NP_("organisation-kind", "Private-sector partners"),
        "pacific": NP_("organisation-kind", "Pacific partners"),
    },
    "subject-kind": {
        "person": NP_("subject-kind", "Person"),
        "entity": NP_("subject-kind", "Organisation or company"),
        "account": NP_("subject-kind", "Bank account"),
        "vessel": NP_("subject-kind", "Vessel"),
        "container": NP_("subject-kind", "Container"),
        "flight": NP_("subject-kind", "Flight"),
        "vehicle": NP_("subject-kind", "Vehicle"),
        "phone": NP_("subject-kind", "Phone"),
        "email": NP_("subject-kind", "E-mail address"),
    },
    "feedback-rating": {
        "useful": NP_("feedback-rating", "Useful"),
        "actioned": NP_("feedback-rating", "Actioned"),
        "not-relevant": NP_("feedback-rating", "Not relevant"),
    },
    "role": {
        "viewer": NP_("role", "Viewer"),
        "submitter": NP_("role", "Submitter"),
        "publisher": NP_("role", "Publisher"),
        "analyst": NP_("role", "Analyst"),
        "org-admin": NP_("role", "Organisation administrator"),
        "auditor": NP_("role", "Auditor"),
        "admin": NP_("role", "Portal administrator"),
    },
    # The configured typologies and outcomes (config/defaults.toml) name their own English words;
    # these entries put the shipped ones in the catalogue. A deployment's own label is shown as
    # configured, translated when the catalogue has it.
    "typology": {
        "drug-importation": NP_("typology", "Drug importation"),
        "money-laundering": NP_("typology", "Money laundering"),
        "migrant-exploitation": NP_("typology", "Migrant exploitation"),
        "illicit-tobacco": NP_("typology", "Illicit tobacco"),
        "firearms": NP_("typology", "Firearms trafficking"),
        "wildlife-trafficking": NP_("typology", "Wildlife trafficking"),
        "cyber-enabled-fraud": NP_("typology", "Cyber-enabled fraud"),
        "human-trafficking": NP_("typology", "Human trafficking"),
        "sanctions-evasion": NP_("typology", "Sanctions evasion"),
        "trade-based-money-laundering": NP_("typology", "Trade-based money laundering"),
        "insider-threat": NP_("typology", "Insider threat in the supply chain"),
        "corruption": NP_("typology", "Corruption"),
    },
    "outcome": {
        "intelligence-developed": NP_("outcome", "Used to develop intelligence"),
        "referred-for-investigation": NP_("outcome", "Referred for investigation"),
        "linked-to-existing": NP_("outcome", "Linked to an existing case"),
        "shared-with-partner": NP_("outcome", "Shared with a partner agency"),
        "no-further-action": NP_("outcome", "No further action"),
    },
}

#: Kinds whose words a deployment configures (settings attribute holding (code, label) pairs).
CONFIGURED = {"typology": "typologies", "outcome": "submission_outcomes"}


def _configured(kind: str) -> dict[str, str]:
    if kind not in CONFIGURED or not has_app_context() or EXTENSION not in current_app.extensions:
        return {}  # outside an application (a script, a unit test): the built-in words only
    return dict(getattr(settings(), CONFIGURED[kind]))


def label(code: Any, kind: str) -> str:
    """The word for ``code`` of ``kind`` in the reader's language; the code itself when unknown.

    Argument order suits the filter: ``{{ person.sex|label('sex') }}``."""
    if code is None or code == "":
        return ""
    value = getattr(code, "value", code)  # an enum member (Role, OrganisationKind)
    text = str(value)
    if kind == "country":
        return country_name(text)
    if kind == "indicator-type":
        return str(INDICATOR_TYPES[text][0]) if text in INDICATOR_TYPES else text
    configured = _configured(kind).get(text)
    if configured is not None:
        return pgettext(kind, configured)
    known = LABELS.get(kind, {}).get(text)
    return pgettext(kind, known) if known is not None else text


def choices(kind: str, codes: Iterable[Any]) -> list[tuple[str, str]]:
    """(code, word) pairs for a form's options, in the order given."""
    return [(str(getattr(code, "value", code)), label(code, kind)) for code in codes]


def init_app(app: Any) -> None:
    app.jinja_env.filters["label"] = label
    app.jinja_env.globals["label_choices"] = choices
