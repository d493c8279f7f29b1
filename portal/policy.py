"""Who may read what: the one place that decides, exactly as docs/contract.md states.

Each rule is written once as an SQLAlchemy criterion (``*_readable``) that any query — page,
API, search, count, export, job — adds to its ``WHERE``. The per-object predicates
(``can_read_*``) restate the same rule over loaded objects; ``tests/test_policy.py`` proves with
Hypothesis that the two agree on random organisations, users and content.

Anything a user may not read must be treated as absent: callers answer 404 and leave it out of
lists and counts. ``admin`` and ``auditor`` get nothing here by virtue of their role.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Protocol

from flask import abort, g
from sqlalchemy import (
    Boolean, ColumnElement, Integer, Select, String, and_, bindparam, exists, false, func, literal_column, or_, select, true,
    union,
)
from sqlalchemy.orm import aliased

from portal.accounts.models import User
from portal.bulletins.models import Bulletin, BulletinAudience
from portal.config import settings
from portal.deportees.models import DeporteeNotification, DeporteeNotificationRecipient
from portal.organisations.models import Organisation
from portal.ratings.models import Assessment
from portal.rfis.models import InformationRequest
from portal.submissions.models import Submission
from portal.vocabulary import TLP, Classification, Role


class Reader(Protocol):
    """What the policy needs to know about a reader (a User, or a token acting for one)."""

    id: int
    email: str
    organisation_id: int
    clearance: Classification
    rights_changed_at: dt.datetime  # see rights_widened_at

    @property
    def organisation(self): ...  # noqa: E704  (slug, sector, country, active, rights_changed_at)

    @property
    def roles(self) -> frozenset[Role]: ...  # noqa: E704

    @property
    def may_read(self) -> bool: ...  # noqa: E704  (active, approved, organisation active)


def rights_widened_at(reader: Reader) -> dt.datetime:
    """When the reader last gained a way to read something: the later of its own mark and its
    organisation's, which a hook (portal/accounts/models.py) moves whenever an input of these rules
    widens — clearance raised, another organisation or address, a role granted, reactivated or
    approved; the organisation's slug, sector or country changed, or it was reactivated. Whatever
    the reader may read became readable to it no earlier than this (TAXII's date_added)."""
    return max(reader.rights_changed_at, reader.organisation.rights_changed_at)


# --- Bulletins ------------------------------------------------------------------------------

def bulletin_readable(reader: Reader) -> ColumnElement[bool]:
    """SQL criterion: the reader may read the bulletin row (the reader's facts as literals)."""
    if not reader.may_read:
        return false()
    facts = bulletin_rule_facts(reader)
    return _bulletin_rule(*(facts[name] for name in BULLETIN_FACTS[1:]))


#: The facts about a reader that the bulletin rule reads, in the order ``_bulletin_rule`` takes them
#: (after ``may_read``); ``bulletin_readable_prepared`` names its bind parameters after them.
BULLETIN_FACTS = ("reader_may_read", "reader_clearance", "reader_org_id", "reader_org_slug", "reader_org_sector",
                  "reader_org_country", "reader_email")


def bulletin_rule_facts(reader: Reader) -> dict[str, object]:
    """The values of ``bulletin_readable_prepared``'s bind parameters for ``reader``."""
    org = reader.organisation
    return {"reader_may_read": bool(reader.may_read), "reader_clearance": int(reader.clearance),
            "reader_org_id": reader.organisation_id, "reader_org_slug": org.slug, "reader_org_sector": org.sector,
            "reader_org_country": org.country, "reader_email": reader.email.lower()}


@functools.cache
def bulletin_readable_prepared() -> ColumnElement[bool]:
    """The same rule as ``bulletin_readable``, with the reader's facts as bind parameters (named as in
    ``BULLETIN_FACTS``; their values from ``bulletin_rule_facts``): one criterion for every reader,
    so a statement built on it is built, cached and compiled once, not per request.
    ``tests/test_policy.py`` proves the two forms select the same bulletins."""
    may_read = bindparam("reader_may_read", type_=Boolean)
    return and_(may_read == true(), _bulletin_rule(
        bindparam("reader_clearance", type_=Integer), bindparam("reader_org_id", type_=Integer),
        *(bindparam(name, type_=String) for name in BULLETIN_FACTS[3:])))


@functools.cache
def newest_readable_bulletin_ids(after_cursor: bool = False) -> Select:
    """The ids of the ``:page_rows`` newest bulletins a reader may read (before the id ``:before``
    when ``after_cursor``), newest first; the reader's facts are the parameters of
    ``bulletin_readable_prepared`` (``bulletin_rule_facts``). Built once.

    The same rule, walked from the other end. Scanning bulletins newest first and testing each
    costs what the reader may *not* read: a Pacific officer who reads 1 % has a hundred bulletins
    tested for each one shown. But a bulletin is readable only through one of five ways — its
    author organisation, or an audience entry naming the reader's organisation, sector, country or
    address — each an index in bulletin order. So each way yields its own newest ``:page_rows``
    readable bulletins, and the newest ``:page_rows`` of their union are exactly the newest
    readable ones: any of those ranks no lower within a way that
    reaches it than among all readable bulletins. Each way tests what remains of the rule for a
    bulletin it reached (``_bulletin_rule``): cleared for the reader; then its own organisation's
    (any status); an organisation, sector or country entry: published and not TLP:RED; an address
    entry: published and TLP:RED. Every readable bulletin meets one of these, and each way selects
    only readable ones, so their union is exactly the readable set, with no audience probe per
    bulletin. Cost: a few pages' worth of index steps, for a broad reader and a narrow one alike.
    ``tests/test_policy.py`` checks it against the rule."""
    page_rows = bindparam("page_rows", type_=Integer)
    before = bindparam("before", type_=Integer)
    via = aliased(BulletinAudience, name="via")  # the audience entries a way walks
    # Each way tests only what the rule still asks of a bulletin it reached: the audience entry that
    # the way walks is the rule's audience test, already met, so no way probes the audience again.
    cleared = and_(bindparam("reader_may_read", type_=Boolean) == true(),
                   Bulletin.classification <= bindparam("reader_clearance", type_=Integer))
    published = Bulletin.status == _constant("published")
    shared = and_(cleared, published, Bulletin.tlp != _constant(TLP.RED.value))  # to an organisation, sector, country
    red = and_(cleared, published, Bulletin.tlp == _constant(TLP.RED.value))  # to a named address

    def newest(statement: Select, order) -> Select:
        if after_cursor:
            statement = statement.where(order < before)
        return select(statement.order_by(order.desc()).limit(page_rows).subquery().c.id)

    ways = [newest(select(via.bulletin_id.label("id")).join(Bulletin, Bulletin.id == via.bulletin_id)
                   .where(via.kind == _constant(kind), via.value == bindparam(fact, type_=String), test),
                   via.bulletin_id)
            for kind, fact, test in (("org", "reader_org_slug", shared), ("sector", "reader_org_sector", shared),
                                     ("country", "reader_org_country", shared), ("user", "reader_email", red))]
    ways.append(newest(select(Bulletin.id.label("id"))
                       .where(Bulletin.author_org_id == bindparam("reader_org_id", type_=Integer), cleared),
                       Bulletin.id))
    found = union(*ways).subquery("readable")
    return select(found.c.id).order_by(found.c.id.desc()).limit(page_rows)


def _bulletin_rule(clearance, organisation_id, slug, sector, country, email) -> ColumnElement[bool]:
    """docs/contract.md's bulletin rule over the reader's facts (values or bind parameters), for a
    reader who may read at all."""
    # OFFSET 0 keeps each EXISTS a probe of the audience index for the bulletin at hand. Without it
    # PostgreSQL hashes every audience row that names the reader's organisation, sector or country
    # (a third of a million rows for a bank at a million bulletins) before it can return a page.
    in_audience = select(BulletinAudience.bulletin_id).where(
        BulletinAudience.bulletin_id == Bulletin.id,
        or_(
            and_(BulletinAudience.kind == _constant("org"), BulletinAudience.value == slug),
            and_(BulletinAudience.kind == _constant("sector"), BulletinAudience.value == sector),
            and_(BulletinAudience.kind == _constant("country"), BulletinAudience.value == country),
        ),
    ).offset(0).exists()
    named_user = select(BulletinAudience.bulletin_id).where(
        BulletinAudience.bulletin_id == Bulletin.id,
        BulletinAudience.kind == _constant("user"),
        BulletinAudience.value == email,
    ).offset(0).exists()
    return and_(
        Bulletin.classification <= clearance,
        or_(
            Bulletin.author_org_id == organisation_id,
            and_(
                Bulletin.status == _constant("published"),
                or_(
                    and_(Bulletin.tlp != _constant(TLP.RED.value), in_audience),
                    and_(Bulletin.tlp == _constant(TLP.RED.value), named_user),
                ),
            ),
        ),
    )


def _constant(value: str) -> ColumnElement[str]:
    """A fixed word of the rule (a status, a TLP, an audience kind) written into the SQL, not bound:
    PostgreSQL reuses a prepared statement's generic plan, which would otherwise not know that the
    rule asks for *published* bulletins or a *sector* entry, and plans for any value."""
    if not re.fullmatch(r"[A-Za-z+-]+", value):
        raise ValueError(f"not a constant of the rule: {value!r}")
    return literal_column(f"'{value}'", String)


def can_read_bulletin(reader: Reader, bulletin: Bulletin) -> bool:
    if not reader.may_read or bulletin.classification > reader.clearance:
        return False
    if bulletin.author_org_id == reader.organisation_id:
        return True
    if bulletin.status != "published":
        return False
    org = reader.organisation
    if bulletin.tlp == TLP.RED.value:
        wanted = {("user", reader.email.lower())}
    else:
        wanted = {("org", org.slug), ("sector", org.sector), ("country", org.country)}
    return any((a.kind, a.value) in wanted for a in bulletin.audience)


def sees_bulletin_audience(reader: Reader, bulletin: Bulletin) -> bool:
    """Only the author organisation sees who else a bulletin went to."""
    return bulletin.author_org_id == reader.organisation_id


# --- Suspicious-activity submissions ---------------------------------------------------------

def submission_readable(reader: Reader) -> ColumnElement[bool]:
    if not reader.may_read:
        return false()
    roles = reader.roles
    branches = []
    if roles & {Role.SUBMITTER, Role.ORG_ADMIN}:
        branches.append(Submission.submitting_org_id == reader.organisation_id)
    if Role.ANALYST in roles:
        branches.append(Submission.recipient_org_id == reader.organisation_id)
    if not branches:
        return false()
    return and_(Submission.classification <= int(reader.clearance), or_(*branches))


def can_read_submission(reader: Reader, submission: Submission) -> bool:
    if not reader.may_read or submission.classification > reader.clearance:
        return False
    roles = reader.roles
    if submission.submitting_org_id == reader.organisation_id and roles & {Role.SUBMITTER, Role.ORG_ADMIN}:
        return True
    return submission.recipient_org_id == reader.organisation_id and Role.ANALYST in roles


# --- Deportee notifications ----------------------------------------------------------------

def deportee_notification_readable(reader: Reader) -> ColumnElement[bool]:
    if not reader.may_read:
        return false()
    routed_to_reader = exists().where(
        DeporteeNotificationRecipient.notification_id == DeporteeNotification.id,
        DeporteeNotificationRecipient.organisation_id == reader.organisation_id,
    )
    return and_(
        DeporteeNotification.classification <= int(reader.clearance),
        or_(DeporteeNotification.issuing_org_id == reader.organisation_id, routed_to_reader),
    )


def can_read_deportee_notification(reader: Reader, notification: DeporteeNotification) -> bool:
    if not reader.may_read or notification.classification > reader.clearance:
        return False
    if notification.issuing_org_id == reader.organisation_id:
        return True
    return any(r.organisation_id == reader.organisation_id for r in notification.recipients)


# --- Oversight, assessors, requests for information, assessments, scorecards -----------------
#
# Not in docs/contract.md's list (it names bulletins, reports and notifications); the same discipline:
# one criterion plus one predicate each, absent (404) when not readable.


def is_oversight(reader: Reader) -> bool:
    """Procurement and oversight users: analysts and org admins of the configured oversight agencies."""
    return bool(reader.may_read and reader.organisation.slug in settings().oversight_orgs
                and reader.roles & {Role.ANALYST, Role.ORG_ADMIN})


def is_assessor(reader: Reader) -> bool:
    return bool(reader.may_read and reader.organisation.slug in settings().resilience["assessor_orgs"]
                and Role.ANALYST in reader.roles)


def information_request_readable(reader: Reader) -> ColumnElement[bool]:
    """The requesting and the holding organisation, within clearance."""
    if not reader.may_read:
        return false()
    return and_(InformationRequest.classification <= int(reader.clearance),
                or_(InformationRequest.requesting_org_id == reader.organisation_id,
                    InformationRequest.holder_org_id == reader.organisation_id))


def can_read_information_request(reader: Reader, request) -> bool:
    return bool(reader.may_read and request.classification <= reader.clearance
                and reader.organisation_id in (request.requesting_org_id, request.holder_org_id))


def assessment_readable(reader: Reader) -> ColumnElement[bool]:
    """A partner's assessments: its own members; assessors once submitted. No other partner, ever."""
    if not reader.may_read:
        return false()
    own = Assessment.organisation_id == reader.organisation_id
    if is_assessor(reader):
        return or_(own, Assessment.status != "draft")
    return own


def can_read_assessment(reader: Reader, assessment) -> bool:
    if not reader.may_read:
        return False
    return assessment.organisation_id == reader.organisation_id or (
        is_assessor(reader) and assessment.status != "draft")


def sees_scorecard_of(reader: Reader, organisation_id: int) -> bool:
    """An organisation's own scorecard, or any for oversight users; other partners: 404."""
    return bool(reader.may_read and (organisation_id == reader.organisation_id or is_oversight(reader)))


# --- What some member of an organisation may read (scorecards' outstanding items) --------------
#
# The same rules, asked of an organisation rather than a person: "may at least one of its active
# members read this?" An item nobody there may read is not held against the organisation.

def member_may_read(organisation_id, classification, named_email=None) -> ColumnElement[bool]:
    """SQL criterion: an active, approved member of the organisation (column or value) is cleared
    for ``classification`` (column or value) and, when ``named_email`` is given (a TLP:RED
    audience's address), is that person."""
    # The member's organisation under its own name: ``organisation_id`` may be the enclosing
    # query's ``Organisation.id``, which an unaliased join here would shadow (uncorrelated).
    home = aliased(Organisation)
    member = select(User.id).join(home, home.id == User.organisation_id).where(
        User.organisation_id == organisation_id, User.active.is_(True), User.pending.is_(False),
        home.active.is_(True), User.clearance >= classification)
    if named_email is not None:
        member = member.where(func.lower(User.email) == named_email)
    return member.exists()


def member_clearances():
    """``(organisation_id, clearance)``: the highest clearance among each active organisation's
    active, approved members — what "some member may read" needs for a whole organisation at once.
    A subquery."""
    return (select(User.organisation_id.label("organisation_id"), func.max(User.clearance).label("clearance"))
            .join(Organisation, Organisation.id == User.organisation_id)
            .where(User.active.is_(True), User.pending.is_(False), Organisation.active.is_(True))
            .group_by(User.organisation_id).subquery())


def bulletin_recipient_pairs(*criteria: ColumnElement[bool]):
    """``(bulletin_id, organisation_id)`` of every published bulletin (further narrowed by
    ``criteria`` on ``Bulletin``) and each organisation it is addressed to (by organisation, sector
    or country; a TLP:RED bulletin by named people only), other than the author, where some active
    member may read it. A select; each way of addressing is one indexed join."""
    cleared = member_clearances()
    published = [Bulletin.status == "published", Bulletin.tlp != TLP.RED.value, *criteria]
    by_group = [
        select(Bulletin.id.label("bulletin_id"), Organisation.id.label("organisation_id"))
        .join(BulletinAudience, and_(BulletinAudience.bulletin_id == Bulletin.id, BulletinAudience.kind == kind))
        .join(Organisation, column == BulletinAudience.value)
        .join(cleared, cleared.c.organisation_id == Organisation.id)
        .where(*published, Bulletin.author_org_id != Organisation.id, cleared.c.clearance >= Bulletin.classification)
        for kind, column in (("org", Organisation.slug), ("sector", Organisation.sector),
                             ("country", Organisation.country))]
    by_person = (select(Bulletin.id.label("bulletin_id"), Organisation.id.label("organisation_id"))
                 .join(BulletinAudience, and_(BulletinAudience.bulletin_id == Bulletin.id,
                                              BulletinAudience.kind == "user"))
                 .join(User, func.lower(User.email) == BulletinAudience.value)
                 .join(Organisation, Organisation.id == User.organisation_id)
                 .where(Bulletin.status == "published", Bulletin.tlp == TLP.RED.value, *criteria,
                        Bulletin.author_org_id != Organisation.id, Organisation.active.is_(True),
                        member_may_read(Organisation.id, Bulletin.classification, BulletinAudience.value)))
    return union(*by_group, by_person)


# --- Helpers for views ------------------------------------------------------------------------

#: Each content type and its one rule.
RULES = {
    Bulletin: bulletin_readable,
    Submission: submission_readable,
    DeporteeNotification: deportee_notification_readable,
}


def _rule(model: type):
    if model in RULES:
        return RULES[model]
    return {InformationRequest: information_request_readable, Assessment: assessment_readable}[model]


def readable(model: type, reader: Reader):
    """``SELECT model WHERE <the reader may read it>``: start every content query here."""
    return select(model).where(_rule(model)(reader))


def readable_bulletins(reader: Reader):
    return readable(Bulletin, reader)


def readable_submissions(reader: Reader):
    return readable(Submission, reader)


def readable_deportee_notifications(reader: Reader):
    return readable(DeporteeNotification, reader)


def reader():
    """The signed-in user or the token's user for this request (set by the default-deny gate)."""
    user = g.get("portal_user")
    if user is None:
        abort(401)
    return user
