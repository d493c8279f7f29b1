"""Outbox topics of the scorecards: a below-target notice and the quarterly accountability report.

Both carry scores only, never content. A notice goes to the organisation's org-admins and to its
accountable executive: a member with that address gets it like any notification (inbox and
e-mail); an address outside the portal gets one e-mail with the scores (``external``).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from portal import permissions
from portal.config import settings
from portal.accounts.models import User, UserRole
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.organisations.models import Organisation
from portal.outbox import OutboxMessage, Subject, register_event, register_topic
from portal.scorecards.models import AccountabilityReport, ScorecardNotice
from portal.vocabulary import Classification, Role

LABELS = {"proactiveness": _l("Proactiveness"), "relevance": _l("Relevance"), "frequency": _l("Frequency"),
          "responsiveness": _l("Responsiveness"), "overall": _l("Overall")}


def _active_users():
    return select(User).join(Organisation).where(User.active.is_(True), User.pending.is_(False),
                                                  Organisation.active.is_(True))


def _executive_member(notice: ScorecardNotice) -> Any:
    email = (notice_org(notice).executive_email or "").strip().lower()
    return User.organisation_id == notice.organisation_id, func.lower(User.email) == email


def notice_org(notice: ScorecardNotice) -> Organisation:
    return db.session.get(Organisation, notice.organisation_id)


def score_lines(notice: ScorecardNotice) -> list[tuple[str, Any, Any]]:
    """(measure, this period, the previous period): the scores and what moved."""
    details = notice.details or {}
    previous = details.get("previous") or {}
    return [(str(LABELS[d]), (details.get("scores") or {}).get(d), previous.get(d)) for d in LABELS]


class ScorecardNoticeTopic:
    def load(self, object_id: str) -> ScorecardNotice | None:
        return db.session.get(ScorecardNotice, int(object_id)) if object_id.isdigit() else None

    def load_many(self, object_ids: list[str]) -> dict[str, ScorecardNotice]:
        numbers = [int(i) for i in object_ids if i.isdigit()]
        return {str(n.id): n for n in db.session.scalars(select(ScorecardNotice).where(
            ScorecardNotice.id.in_(numbers or [0])))}

    def addressed_to(self, notice: ScorecardNotice, message: OutboxMessage):
        admins = select(UserRole.user_id).where(UserRole.role == Role.ORG_ADMIN.value)
        same_org, is_executive = _executive_member(notice)
        return _active_users().where(same_org, or_(User.id.in_(admins), is_executive))

    def external_addresses(self, notice: ScorecardNotice, message: OutboxMessage) -> list[str]:
        """The accountable executive's address, when no active member of the organisation has it."""
        org = notice_org(notice)
        email = (org.executive_email or "").strip()
        if not email:
            return []
        same_org, is_executive = _executive_member(notice)
        if db.session.scalar(_active_users().where(same_org, is_executive).limit(1)) is not None:
            return []
        return [email]

    def readable(self, user: User, notice: ScorecardNotice) -> bool:
        if not user.may_read or user.organisation_id != notice.organisation_id:
            return False
        executive = (notice_org(notice).executive_email or "").strip().lower()
        return Role.ORG_ADMIN in user.roles or (bool(executive) and user.email.lower() == executive)

    def describe(self, notice: ScorecardNotice) -> Subject:
        org = notice_org(notice)
        moved = [str(_l("%(measure)s %(now)s (was %(before)s)", measure=m, now=a, before=b))
                 for m, a, b in score_lines(notice) if b is not None and a != b]
        summary = "; ".join(moved) if moved else ""
        open_items = (notice.details or {}).get("open_items") or 0
        if open_items:
            summary = (summary + ". " if summary else "") + str(_l(
                "%(n)s items were still open at the close.", n=open_items))
        return Subject(reference=f"{org.slug} {notice.period}",
                       path=f"/scorecards/{org.slug}/explain?period={notice.period}",
                       title=str(_l("%(org)s: sharing score %(overall)s for %(period)s, below the target of "
                                    "%(target)s", org=org.name, overall=notice.overall, period=notice.period,
                                    target=notice.target)),
                       summary=summary, classification=Classification.UNCLASSIFIED, org=org.name)

    def external(self, notice: ScorecardNotice) -> dict[str, Any]:
        """What an e-mail to an address outside the portal may carry: the scores and nothing else."""
        org = notice_org(notice)
        return {"organisation": org.name, "executive": org.executive_name, "period": notice.period,
                "overall": notice.overall, "target": notice.target, "lines": score_lines(notice)}


class AccountabilityReportTopic:
    def load(self, object_id: str) -> AccountabilityReport | None:
        return db.session.get(AccountabilityReport, object_id)

    def load_many(self, object_ids: list[str]) -> dict[str, AccountabilityReport]:
        return {r.period: r for r in db.session.scalars(select(AccountabilityReport).where(
            AccountabilityReport.period.in_(object_ids or [""])))}

    def addressed_to(self, report: AccountabilityReport, message: OutboxMessage):
        oversight = settings().oversight_orgs
        roles = select(UserRole.user_id).where(UserRole.role.in_([Role.ANALYST.value, Role.ORG_ADMIN.value]))
        return _active_users().where(Organisation.slug.in_(oversight or [""]), User.id.in_(roles))

    def readable(self, user: User, report: AccountabilityReport) -> bool:
        return permissions.may_see_accountability_report(user)

    def describe(self, report: AccountabilityReport) -> Subject:
        below = sum(1 for row in report.rows if not row.get("meets_standard"))
        return Subject(reference=report.period, path=f"/scorecards/accountability/{report.period}",
                       title=str(_l("Accountability report for %(period)s", period=report.period)),
                       summary=str(_l("%(n)s organisations, %(below)s below target.", n=len(report.rows),
                                      below=below)),
                       classification=Classification.UNCLASSIFIED)


def register() -> None:
    register_topic("scorecard_notice", ScorecardNoticeTopic())
    register_topic("accountability_report", AccountabilityReportTopic())
    register_event("scorecard.below-target", _l("Your organisation closed a period below its sharing target"))
    register_event("scorecard.report", _l("The quarterly accountability report is ready"))
