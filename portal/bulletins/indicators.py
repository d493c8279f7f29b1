"""Typed indicators: each value is checked for its type and normalised, so that the same vessel,
account or wallet written two ways is recognised as one (and can be linked to reports later)."""
from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Callable

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum import iban, imo, iso6346

from portal.i18n import lazy_gettext as _l


class IndicatorError(ValueError):
    pass


def _collapse(value: str) -> str:
    return " ".join(value.split())


def _name(value: str) -> str:
    """People and organisations: case, accents and punctuation do not matter for matching."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w\s]", " ", text.lower())
    if not text.strip() or len(value) > 200:
        raise IndicatorError("give a name of at most 200 characters")
    return _collapse(text)


def _imo(value: str) -> str:
    compact = re.sub(r"(?i)^imo\s*", "", value.strip()).replace(" ", "")
    if not imo.is_valid(compact):
        raise IndicatorError("not a valid IMO ship number (7 digits with a check digit, e.g. IMO 9074729)")
    return "IMO" + imo.compact(compact)


def _container(value: str) -> str:
    compact = re.sub(r"[\s-]", "", value).upper()
    if not iso6346.is_valid(compact):
        raise IndicatorError("not a valid ISO 6346 container number (e.g. CSQU3054383)")
    return iso6346.compact(compact)


FLIGHT_RE = re.compile(r"^([A-Z0-9]{2}|[A-Z]{3})\s?(\d{1,4}[A-Z]?)$")


def _flight(value: str) -> str:
    match = FLIGHT_RE.match(value.strip().upper())
    if not match:
        raise IndicatorError("not a flight number (airline code and number, e.g. NZ990)")
    return match.group(1) + match.group(2).lstrip("0")


NZ_ACCOUNT_RE = re.compile(r"^(\d{2})[- ]?(\d{4})[- ]?(\d{7})[- ]?(\d{2,3})$")


def _account(value: str) -> str:
    compact = value.strip().upper().replace(" ", "")
    if iban.is_valid(compact):
        return "IBAN:" + iban.compact(compact)
    if re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", compact):
        raise IndicatorError("not a valid IBAN: its check digits do not match")
    match = NZ_ACCOUNT_RE.match(value.strip())
    if match:  # New Zealand bank-branch-account-suffix
        bank, branch, number, suffix = match.groups()
        return f"NZ:{bank}-{branch}-{number}-{suffix.zfill(3)}"
    generic = re.sub(r"[\s-]", "", value)
    if re.fullmatch(r"[A-Z0-9]{6,34}", generic.upper()):
        return "ACCT:" + generic.upper()
    raise IndicatorError("not a bank account or IBAN (e.g. 12-3456-7890123-00, or GB82WEST12345698765432)")


#: Phone numbers written without a country code are read as numbers of this country.
PHONE_REGION = "NZ"


def _phone(value: str) -> str:
    """E.164 (``+64215550123``) however it is written: ``021 555 0123``, ``+64 21-555-0123`` and
    ``0064 21 555 0123`` are one number. A number libphonenumber cannot place keeps its digits."""
    digits = re.sub(r"[\s().-]", "", value)
    if not re.fullmatch(r"\+?\d{6,15}", digits):
        raise IndicatorError("not a phone number (digits, optionally starting with + and the country code)")
    try:
        number = phonenumbers.parse(digits, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return digits
    if not phonenumbers.is_possible_number(number):
        return digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email(value: str) -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise IndicatorError(f"not an e-mail address: {exc}") from exc


DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$")


def _domain(value: str) -> str:
    text = value.strip().lower().rstrip(".")
    try:
        text = text.encode("idna").decode()
    except UnicodeError as exc:
        raise IndicatorError("not a domain name") from exc
    if not DOMAIN_RE.match(text):
        raise IndicatorError("not a domain name (e.g. harbour-freight.example)")
    return text


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError as exc:
        raise IndicatorError("not an IPv4 or IPv6 address") from exc


WALLET_PATTERNS = (
    re.compile(r"^(bc1|tb1)[ac-hj-np-z02-9]{11,71}$"),  # bitcoin bech32
    re.compile(r"^[13][a-km-zA-HJ-NP-Z1-9]{25,34}$"),  # bitcoin base58
    re.compile(r"^0x[0-9a-fA-F]{40}$"),  # ethereum and EVM chains
    re.compile(r"^T[1-9A-HJ-NP-Za-km-z]{33}$"),  # tron
)


def _wallet(value: str) -> str:
    text = value.strip()
    if not any(p.match(text) for p in WALLET_PATTERNS):
        raise IndicatorError("not a crypto-currency wallet address we recognise (bitcoin, ethereum, tron)")
    return text.lower() if text.startswith(("0x", "bc1", "tb1")) else text


def _vehicle(value: str) -> str:
    compact = re.sub(r"[\s-]", "", value.upper())
    if not re.fullmatch(r"[A-Z0-9]{2,10}", compact) and not re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", compact):
        raise IndicatorError("not a registration plate or VIN")
    return compact


#: type → (label, normaliser). The normaliser raises IndicatorError with a plain explanation.
TYPES: dict[str, tuple[object, Callable[[str], str]]] = {
    "person": (_l("Person"), _name),
    "organisation": (_l("Organisation"), _name),
    "vessel-imo": (_l("Vessel (IMO number)"), _imo),
    "container": (_l("Container number"), _container),
    "flight": (_l("Flight"), _flight),
    "bank-account": (_l("Bank account or IBAN"), _account),
    "phone": (_l("Phone"), _phone),
    "email": (_l("E-mail address"), _email),
    "domain": (_l("Domain"), _domain),
    "ip-address": (_l("IP address"), _ip),
    "crypto-wallet": (_l("Crypto-currency wallet"), _wallet),
    "vehicle": (_l("Vehicle"), _vehicle),
}


def normalise(kind: str, value: str) -> str:
    if kind not in TYPES:
        raise IndicatorError(f"unknown indicator type {kind!r}: use one of {', '.join(TYPES)}")
    if not value or not value.strip() or len(value) > 300:
        raise IndicatorError("give a value of at most 300 characters")
    return TYPES[kind][1](value)


#: What a search looks for when its query is one indicator, in this order: the kinds whose form is
#: distinctive enough that a query of that form means it (names, vehicles and flights are left to
#: full-text search, where any word could look like one).
SEARCHABLE = ("container", "vessel-imo", "bank-account", "crypto-wallet", "email", "ip-address", "phone", "domain")


def recognise(query: str) -> list[tuple[str, str]]:
    """(type, normalised value) for each kind the whole query is a valid indicator of, however it is
    typed (spaces, dashes, case, a country prefix): ``csqu 305438-3`` is the container
    ``CSQU3054383``, ``021 555 0123`` the phone ``+64215550123``. Bounded: a query longer than any
    indicator is none."""
    text = query.strip()
    if not text or len(text) > 100:
        return []
    found = []
    for kind in SEARCHABLE:
        try:
            value = normalise(kind, text)
        except IndicatorError:
            continue
        if kind == "bank-account" and value.startswith("ACCT:"):
            continue  # any run of letters and digits: not distinctive
        found.append((kind, value))
    return found
