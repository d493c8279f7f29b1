"""The feed's filters, shared by the bulletin pages and the API."""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import Select, and_, or_, select

from portal import search
from portal.i18n import gettext as _
from portal.bulletins.indicators import recognise
from portal.bulletins.models import Bulletin, BulletinIndicator, BulletinTypology
from portal.dates import FIRST_YEAR, LAST_YEAR, OutOfRange, parse_instant
from portal.organisations.models import Organisation
from portal.vocabulary import TLP, Classification


def apply(statement: Select, args: Mapping[str, Any]) -> tuple[Select, dict[str, list[str]]]:
    """Narrow ``statement`` by typology, classification, TLP, author organisation, dates and text.

    Returns the statement with every valid filter applied, and the problems with the others: the
    API answers them with a 400, the pages simply leave those filters out.
    """
    problems: dict[str, list[str]] = {}
    if typology := args.get("typology"):
        statement = statement.where(Bulletin.id.in_(select(BulletinTypology.bulletin_id)
                                                    .where(BulletinTypology.code == typology)))
    if level := args.get("classification"):
        try:
            statement = statement.where(Bulletin.classification == int(Classification.parse(level)))
        except ValueError as exc:
            problems["classification"] = [str(exc)]
    if tlp := args.get("tlp"):
        try:
            statement = statement.where(Bulletin.tlp == TLP.parse(tlp).value)
        except ValueError as exc:
            problems["tlp"] = [str(exc)]
    # One author organisation (author_org=slug), or several (the parameter repeated).
    authors = [a for a in (args.getlist("author_org") if hasattr(args, "getlist") else [args.get("author_org")]) if a]
    if authors:
        statement = statement.where(Bulletin.author_org_id.in_(select(Organisation.id)
                                                               .where(Organisation.slug.in_(authors))))
    for name, operator in (("since", "__ge__"), ("until", "__lt__")):
        if value := args.get(name):
            try:
                moment = parse_instant(value)
                statement = statement.where(getattr(Bulletin.published_at, operator)(moment))
            except OutOfRange:
                problems[name] = [f"Give a date from {FIRST_YEAR} to {LAST_YEAR}."]
            except ValueError:
                problems[name] = ["Give an ISO 8601 date or time."]
    q = str(args.get("q", "")).strip()
    if len(q) > search.MAX_QUERY_LENGTH:
        problems["q"] = [_("Search with at most %(n)s characters.", n=search.MAX_QUERY_LENGTH)]
    elif q and (matches := search.bulletin_matches(q)) is not None:
        # Full text, or — when the query is an indicator however typed (a container, IMO, IBAN or NZ
        # account, phone, e-mail, domain …) — bulletins naming it, through the (type, normalised)
        # index; always within what the policy already allows.
        if found := recognise(q):
            named = select(BulletinIndicator.bulletin_id).where(or_(*(
                and_(BulletinIndicator.type == kind, BulletinIndicator.normalised == value) for kind, value in found)))
            matches = or_(matches, Bulletin.id.in_(named))
        statement = statement.where(matches)
    return statement, problems
