"""What a closed period changes: notices below target, the quarterly accountability report,
procurement eligibility and the "meets the sharing standard" mark.

- When a period of a kind listed in ``[scorecards] notice_periods`` (quarters by default) closes,
  every active organisation whose overall score is below its sector's target gets one
  :class:`ScorecardNotice` (unique per organisation and period, so a second run or a second
  scheduler sends nothing twice), told through the outbox to its org-admins and its accountable
  executive — a portal user gets it like any notification; an address outside the portal gets an
  e-mail with the scores alone.
- When a quarter closes, the accountability report is generated and kept (every organisation, its
  scores, trend, target, mark and eligibility) and oversight users are told.
- Procurement eligibility: a current resilience tier that is procurement-eligible **and** an overall
  score at or above ``procurement_threshold`` in each of the last two closed quarters.

A period in which nothing at all was recorded (before the portal was used) closes quietly.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select

from portal.config import settings
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.organisations.models import Organisation
from portal.outbox import notify
from portal.ratings import service
from portal.scorecards import periods
from portal.scorecards.models import AccountabilityReport, ClosedPeriod, MonthlyActivity, Scorecard, ScorecardNotice

DIMENSIONS = ("proactiveness", "relevance", "frequency", "responsiveness", "overall")


def _scorecards() -> Any:
    return settings().scorecards


def target_for(sector: str) -> float:
    rules = _scorecards()
    return float(dict(rules["targets"]).get(sector, rules.get("default_target", 50)))


def threshold() -> float:
    return float(_scorecards().get("procurement_threshold", 50))


def notice_kinds() -> tuple[str, ...]:
    return tuple(_scorecards().get("notice_periods", ("quarter",)))


def _had_activity(period: str) -> bool:
    months = periods.months_of(period)
    return bool(db.session.scalar(select(exists().where(MonthlyActivity.month.in_(months))))
                or db.session.scalar(select(exists().where(Scorecard.period == period, Scorecard.open_items > 0))))


def _cards(period: str) -> dict[int, Scorecard]:
    return {c.organisation_id: c for c in db.session.scalars(select(Scorecard).where(Scorecard.period == period))}


def period_closed(period: str, kind: str, now: dt.datetime) -> None:
    """Called in the close's transaction, after the period's scorecards are stored."""
    if not _had_activity(period):
        return
    if kind in notice_kinds():
        send_notices(period)
    if kind == "quarter":
        keep_report(period, now)


def send_notices(period: str) -> int:
    """One notice per organisation below target; none twice. Returns how many were new."""
    cards = _cards(period)
    before = _cards(periods.previous(period))
    already = set(db.session.scalars(select(ScorecardNotice.organisation_id).where(ScorecardNotice.period == period)))
    notices = []
    for org in db.session.scalars(select(Organisation).where(Organisation.active.is_(True))):
        card, target = cards.get(org.id), target_for(org.sector)
        if card is None or card.overall >= target or org.id in already:
            continue
        previous = before.get(org.id)
        details = {"scores": {d: getattr(card, d) for d in DIMENSIONS}, "open_items": card.open_items,
                   "previous_period": periods.previous(period),
                   "previous": {d: getattr(previous, d) for d in DIMENSIONS} if previous else None}
        notices.append(ScorecardNotice(organisation_id=org.id, period=period, overall=card.overall, target=target,
                                       details=details))
    # Once: the close runs in the transaction that records the period closed (a second scheduler's
    # close fails on that row and rolls back), and the unique key on (organisation, period) refuses
    # a second notice whatever the caller.
    db.session.add_all(notices)
    db.session.flush()
    for notice in notices:
        notify("scorecard.below-target", "scorecard_notice", notice.id)
    count = len(notices)
    return count


# --- Procurement eligibility and the mark ------------------------------------------------------

@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reason: str
    tier: str | None
    quarters: tuple[tuple[str, float | None], ...]


def closed_quarters(count: int = 2) -> list[str]:
    """The last ``count`` closed quarters, newest first."""
    return list(db.session.scalars(select(ClosedPeriod.period).where(ClosedPeriod.period.like("%-Q%"))
                                   .order_by(ClosedPeriod.ends_at.desc()).limit(count)))


def eligibility_of_all(now: dt.datetime | None = None) -> dict[int, Eligibility]:
    """Every active organisation's procurement eligibility, with the reason (a few queries)."""
    quarters = closed_quarters(2)
    cards = {q: _cards(q) for q in quarters}
    tiers = service.tiers()
    ratings = service.current_ratings(now)
    bar = threshold()
    out = {}
    for org_id in db.session.scalars(select(Organisation.id).where(Organisation.active.is_(True))):
        rating = ratings.get(org_id)
        tier = rating.tier if rating else None
        scores = tuple((q, cards[q][org_id].overall if org_id in cards[q] else None) for q in quarters)
        tier_ok = bool(tier and tiers.get(tier, {}).get("procurement_eligible"))
        low = [(q, s) for q, s in scores if s is None or s < bar]
        if not tier_ok:
            reason = (str(_l("The resilience tier %(tier)s is not procurement-eligible.",
                             tier=tiers.get(tier, {}).get("label", tier))) if tier
                      else str(_l("No current resilience rating.")))
        elif len(scores) < 2:
            reason = str(_l("Fewer than two quarters have closed: no sharing record yet."))
        elif low:
            reason = "; ".join(str(_l("%(period)s overall %(score)s is below the threshold of %(bar)s",
                                      period=q, score="–" if s is None else s, bar=bar)) for q, s in low)
        else:
            reason = str(_l("Eligible tier, and %(a)s and %(b)s at or above the threshold of %(bar)s.",
                            a=scores[1][0], b=scores[0][0], bar=bar))
        out[org_id] = Eligibility(tier_ok and len(scores) == 2 and not low, reason, tier, scores)
    return out


def marks(period: str | None = None) -> dict[int, str]:
    """Organisations at or above their target in a closed period (the last closed quarter by
    default): organisation id → the period of the mark."""
    if period is None:
        quarters = closed_quarters(1)
        if not quarters:
            return {}
        period = quarters[0]
    elif not db.session.get(ClosedPeriod, period):
        return {}
    sectors = dict(db.session.execute(select(Organisation.id, Organisation.sector)).all())
    return {org_id: period for org_id, card in _cards(period).items()
            if org_id in sectors and card.overall >= target_for(sectors[org_id])}


# --- The quarterly accountability report -------------------------------------------------------

REPORT_COLUMNS = ("organisation", "slug", "kind", "sector", "country", *DIMENSIONS, "previous_overall", "trend",
                  "target", "meets_standard", "open_items", "tier", "procurement_eligible", "reason")


def report_rows(period: str, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    cards, before = _cards(period), _cards(periods.previous(period))
    eligibility = eligibility_of_all(now)
    rows = []
    for org in db.session.scalars(select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name)):
        card, previous, target = cards.get(org.id), before.get(org.id), target_for(org.sector)
        verdict = eligibility.get(org.id)
        overall = card.overall if card else None
        rows.append({
            "organisation": org.name, "slug": org.slug, "kind": org.kind, "sector": org.sector,
            "country": org.country, **{d: getattr(card, d) if card else None for d in DIMENSIONS},
            "previous_overall": previous.overall if previous else None,
            "trend": round(overall - previous.overall, 1) if overall is not None and previous else None,
            "target": target, "meets_standard": overall is not None and overall >= target,
            "open_items": card.open_items if card else 0,
            "tier": verdict.tier if verdict else None, "procurement_eligible": bool(verdict and verdict.eligible),
            "reason": verdict.reason if verdict else "",
        })
    return rows


def keep_report(period: str, now: dt.datetime) -> AccountabilityReport | None:
    """Generate and keep the quarter's report, once; tell oversight users."""
    if db.session.get(AccountabilityReport, period) is not None:
        return None
    report = AccountabilityReport(period=period, created_at=now, rows=report_rows(period, now))
    db.session.add(report)
    db.session.flush()
    notify("scorecard.report", "accountability_report", period)
    return report


