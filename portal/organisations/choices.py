"""Organisations, sectors and countries as lists a person chooses from by name.

Each list holds only what the chooser may use — the organisations and sectors an author may
address (``portal/permissions.py``), the organisations whose bulletins a reader already receives,
the organisations named in an audit trail the reader may browse — so that a list never tells
anyone of an organisation they could not otherwise know. Groups are headed in words (the kind of
organisation, the country, the sector), and every choice is a plain checkbox: the page works
without script, and ``static/choice-filter.js`` adds a filter box where script runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from sqlalchemy import ColumnElement, select

from portal import permissions
from portal.config import settings
from portal.extensions import db
from portal.i18n import country_name
from portal.labels import label
from portal.organisations.models import Organisation
from portal.vocabulary import OrganisationKind

#: The order in which kinds of organisation are listed.
KIND_ORDER = (OrganisationKind.GOVERNMENT.value, OrganisationKind.PACIFIC.value, OrganisationKind.PRIVATE.value)


@dataclass
class Choice:
    value: str
    text: str
    hint: str = ""


@dataclass
class Group:
    heading: str
    choices: list[Choice] = field(default_factory=list)
    groups: list["Group"] = field(default_factory=list)

    def values(self) -> set[str]:
        return {c.value for c in self.choices} | {v for g in self.groups for v in g.values()}


def _kind_rank(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def organisation_groups(organisations: Iterable[Organisation]) -> list[Group]:
    """Organisations by kind, then by country; each by its name, with its sector as a hint."""
    by_kind: dict[str, dict[str, list[Organisation]]] = {}
    for org in organisations:
        by_kind.setdefault(org.kind, {}).setdefault(org.country, []).append(org)
    groups = []
    for kind in sorted(by_kind, key=lambda k: (_kind_rank(k), k)):
        countries = by_kind[kind]
        inner = [Group(country_name(country), [Choice(o.slug, o.name, label(o.sector, "sector"))
                                               for o in sorted(members, key=lambda o: o.name.casefold())])
                 for country, members in sorted(countries.items(), key=lambda item: country_name(item[0]).casefold())]
        groups.append(Group(label(kind, "organisation-kind"), groups=inner))
    return groups


def organisations(criterion: ColumnElement[bool] | None = None, *, active_only: bool = True) -> list[Organisation]:
    statement = select(Organisation)
    if criterion is not None:
        statement = statement.where(criterion)
    if active_only:
        statement = statement.where(Organisation.active.is_(True))
    return list(db.session.scalars(statement.order_by(Organisation.name)))


def addressable_organisation_groups(author: Any) -> list[Group]:
    """What a bulletin's author may address, by kind and country (never its own organisation:
    its members read their own bulletins already)."""
    org = author.organisation
    return organisation_groups(organisations(permissions.addressable_organisations(org) & (Organisation.id != org.id)))


def addressable_sector_groups(author: Any) -> list[Group]:
    """The sectors the author may address as a whole, grouped by the kind of organisation they
    belong to (a sector in two kinds is listed once, under the first)."""
    org = author.organisation
    conf = settings()
    seen: set[str] = set()
    groups = []
    for kind in sorted(conf.sectors, key=lambda k: (_kind_rank(k), k)):
        choices = []
        for sector in conf.sectors[kind]:
            if sector in seen or not permissions.may_address_sector(org, sector):
                continue
            seen.add(sector)
            choices.append(Choice(sector, label(sector, "sector")))
        if choices:
            groups.append(Group(label(kind, "organisation-kind"), sorted(choices, key=lambda c: c.text.casefold())))
    return groups


def addressable_country_groups(author: Any) -> list[Group]:
    """Whole countries, for the authors who may address them (government agencies)."""
    if not permissions.may_address_countries(author.organisation):
        return []
    countries = settings().countries
    return [Group("", sorted((Choice(c, country_name(c)) for c in countries), key=lambda c: c.text.casefold()))]


def with_selected(groups: list[Group], selected: Sequence[str], heading: str) -> list[Group]:
    """``groups``, plus a group for chosen values it does not offer (say, an organisation an
    amended bulletin already names): shown checked, so that saving never drops them unseen; the
    service still refuses any the author may not address."""
    offered = {v for g in groups for v in g.values()}
    extra = [Choice(v, v) for v in dict.fromkeys(selected) if v and v not in offered]
    return [*groups, Group(heading, extra)] if extra else groups
