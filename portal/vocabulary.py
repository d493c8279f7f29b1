"""The contract's vocabulary: classifications, TLP, roles, organisation kinds, sectors, countries.

Everything here is a closed list that input is checked against. Parsing functions raise
``ValueError`` with a message a person can act on; callers turn that into a field error.
"""
from __future__ import annotations

import enum



def _parse_choice(cls, value: object, what: str, normalise=lambda text: text.lower()):
    """The member of a string enum whose value matches, or a ValueError listing the choices."""
    text = normalise(str(value or "").strip())
    for member in cls:
        if member.value == text:
            return member
    raise ValueError(f"Unknown {what} {value!r}: use one of " + ", ".join(m.value for m in cls) + ".")


class Classification(enum.IntEnum):
    """NZ Government Security Classification System levels the portal is accredited for.

    Stored as the integer rank so that "clearance >= classification" is a plain SQL comparison.
    """

    UNCLASSIFIED = 0
    IN_CONFIDENCE = 1
    SENSITIVE = 2
    RESTRICTED = 3

    @property
    def label(self) -> str:
        return self.name.replace("_", "-")

    @classmethod
    def parse(cls, value: object) -> "Classification":
        if isinstance(value, Classification):
            return value
        text = str(value or "").strip().upper().replace("_", "-")
        for level in cls:
            if level.label == text:
                return level
        if text in ABOVE_ACCREDITATION:
            raise ValueError(
                f"{text} is above this portal's accreditation: it may hold nothing above "
                f"RESTRICTED. Do not enter this material here."
            )
        raise ValueError(
            f"Unknown classification {value!r}: use one of "
            + ", ".join(level.label for level in cls)
            + "."
        )

    @classmethod
    def labels(cls) -> list[str]:
        return [level.label for level in cls]


#: Classifications that exist but that the portal must never store.
ABOVE_ACCREDITATION = ("CONFIDENTIAL", "SECRET", "TOP SECRET", "TOP-SECRET")


class TLP(str, enum.Enum):
    """FIRST Traffic Light Protocol 2.0, least restrictive first."""

    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"

    @property
    def rank(self) -> int:
        return list(TLP).index(self)

    @classmethod
    def parse(cls, value: object) -> "TLP":
        return _parse_choice(cls, value, "TLP", lambda text: text.upper().removeprefix("TLP:"))


class Role(str, enum.Enum):
    VIEWER = "viewer"
    SUBMITTER = "submitter"
    PUBLISHER = "publisher"
    ANALYST = "analyst"
    ORG_ADMIN = "org-admin"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @classmethod
    def parse(cls, value: object) -> "Role":
        return _parse_choice(cls, value, "role")


#: Roles whose holders must sign in with a second factor.
ROLES_REQUIRING_TOTP = frozenset({Role.PUBLISHER, Role.ANALYST, Role.ORG_ADMIN, Role.ADMIN})


class OrganisationKind(str, enum.Enum):
    GOVERNMENT = "government"
    PRIVATE = "private"
    PACIFIC = "pacific"

    @classmethod
    def parse(cls, value: object) -> "OrganisationKind":
        return _parse_choice(cls, value, "organisation kind")


#: ISO 3166-1 alpha-2 codes of the countries the portal serves (configurable in config/).
DEFAULT_COUNTRIES = (
    "NZ", "AU", "WS", "TO", "FJ", "CK", "NU", "VU", "PG", "SB", "KI", "TV", "NC", "PF",
    "TK", "NR", "PW", "FM", "MH", "AS", "WF",
)

#: Pacific destination countries' local time zones, used to show arrival times.
COUNTRY_TIME_ZONES = {
    "NZ": "Pacific/Auckland", "AU": "Australia/Sydney", "WS": "Pacific/Apia",
    "TO": "Pacific/Tongatapu", "FJ": "Pacific/Fiji", "CK": "Pacific/Rarotonga",
    "NU": "Pacific/Niue", "VU": "Pacific/Efate", "PG": "Pacific/Port_Moresby",
    "SB": "Pacific/Guadalcanal", "KI": "Pacific/Tarawa", "TV": "Pacific/Funafuti",
    "NC": "Pacific/Noumea", "PF": "Pacific/Tahiti", "TK": "Pacific/Fakaofo",
    "NR": "Pacific/Nauru", "PW": "Pacific/Palau", "FM": "Pacific/Pohnpei",
    "MH": "Pacific/Majuro", "AS": "Pacific/Pago_Pago", "WF": "Pacific/Wallis",
}
