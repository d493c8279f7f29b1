"""Scorecard pages, the system-health dashboard (with CSV), and ``GET /api/v1/scorecards/{slug}``.

An organisation sees its own scorecard and its sector's distribution without names; oversight
users see every organisation's; anyone else gets 404, exactly as if the organisation did not exist.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from sqlalchemy import select

from portal import permissions, policy
from portal.api import bp as api_bp
from portal.api.errors import ApiError
from portal.api.formats import iso
from portal.api.operations import operation
from portal.api.scopes import ScopedRoutes
from portal.scorecards.schemas import ScorecardOut, ScorecardQuery
from portal.audit import trail
from portal.csv_export import csv_text
from portal.extensions import db
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.labels import label
from portal.organisations.models import Organisation
from portal.scorecards import charts, consequences, explain, periods
from portal.scorecards.compute import (
    DIMENSIONS,
    current_quarter,
    is_closed,
    month_key,
    months_of,
    period_scores,
    recent_months,
    scorecard_for,
    target_for,
)
from portal.scorecards.models import AccountabilityReport, MonthlyActivity

bp = Blueprint("scorecards", __name__)
#: The API route here reads only: scorecards:read.
api_routes = ScopedRoutes(api_bp, "scorecards")
LABELS = {"proactiveness": _l("Proactiveness"), "relevance": _l("Relevance"), "frequency": _l("Frequency"),
          "responsiveness": _l("Responsiveness"), "overall": _l("Overall")}


def _organisation_or_404(slug: str, reader) -> Organisation:
    org = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None or not policy.sees_scorecard_of(reader, org.id):
        abort(404)
    return org


def _period() -> str:
    period = request.args.get("period") or current_quarter()
    try:
        months_of(period)
    except (ValueError, IndexError):
        abort(404)
    return period


def _mark(org: Organisation, period: str) -> str | None:
    """The period of the organisation's "meets the sharing standard" mark: the period shown if it
    has closed at or above target, else the last closed quarter if that was."""
    return consequences.marks(period).get(org.id) or consequences.marks().get(org.id)


def sector_distribution(org: Organisation, period: str) -> list[float]:
    """The overall scores of the organisation's sector, sorted, without names."""
    computed = period_scores(period)
    peers = db.session.scalars(select(Organisation.id).where(Organisation.sector == org.sector,
                                                             Organisation.kind == org.kind,
                                                             Organisation.active.is_(True))).all()
    return sorted(computed[p]["overall"] for p in peers if p in computed)


@bp.get("/scorecards")
def mine():
    user = policy.reader()
    return _show(user.organisation, user)


@bp.get("/scorecards/<slug>")
def show(slug: str):
    user = policy.reader()
    return _show(_organisation_or_404(slug, user), user)


def _show(org: Organisation, user) -> Any:
    period = _period()
    card = scorecard_for(org.id, period)
    distribution = sector_distribution(org, period)
    trail.record("scorecard.read", "organisation", org.slug, org.slug, period=period)
    page = render_template(
        "scorecards/show.html", org=org, card=card, period=period, dimensions=DIMENSIONS,
        target=target_for(org.sector), distribution=distribution,
        quartiles=statistics.quantiles(distribution, n=4) if len(distribution) >= 2 else [],
        chart=charts.bar_chart(_("Scores for %(period)s", period=period),
                               [(str(LABELS[d]), card[d]) for d in (*DIMENSIONS, "overall")]),
        oversight=policy.is_oversight(user), mark=_mark(org, period), closed=consequences_closed(period),
        may_see_report=permissions.may_see_accountability_report(user))
    db.session.commit()
    return page


def consequences_closed(period: str) -> bool:
    return is_closed(period)


@bp.get("/scorecards/<slug>/explain")
def explain_page(slug: str):
    """What is behind each score: counts by kind, and the items late or still open — each linked
    only where the viewer may read it, else named by its kind alone."""
    user = policy.reader()
    org = _organisation_or_404(slug, user)
    period = _period()
    card = scorecard_for(org.id, period)
    detail = explain.explain(org, period, user)
    trail.record("scorecard.explain", "organisation", org.slug, org.slug, period=period)
    page = render_template("scorecards/explain.html", org=org, card=card, period=period, detail=detail,
                           target=target_for(org.sector), response_target=explain.response_target())
    db.session.commit()
    return page


@api_routes.get("/scorecards/<slug>")
@operation("An organisation's sharing-maturity scorecard (its own, or any for oversight users)",
           query=ScorecardQuery, answer=ScorecardOut)
def api_scorecard(slug: str, query: ScorecardQuery):
    user = policy.reader()
    org = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None or not policy.sees_scorecard_of(user, org.id):
        raise ApiError(404)
    period = query.period or current_quarter()
    try:
        months_of(period)
    except (ValueError, IndexError):
        raise ApiError(400, "Unknown period.", {"period": [
            "Use YYYY-QN, YYYY-MM or FYYYYY/YY, e.g. 2026-Q4, 2026-11 or FY2026/27."]}) from None
    card = scorecard_for(org.id, period)
    trail.record("scorecard.read", "organisation", org.slug, org.slug, period=period, via="api")
    db.session.commit()
    return {"organisation": org.slug, "period": period, **{d: card[d] for d in (*DIMENSIONS, "overall")},
            "target": target_for(org.sector), "shares": card["shares"], "ratings": card["ratings"],
            "responses": card["responses"], "median_response_hours": card["median_response_hours"],
            "computed_at": iso(card["computed_at"]), "open_items": card.get("open_items", 0),
            "closed": consequences_closed(period), "meets_standard": _mark(org, period) == period,
            "time_zone": periods.zone().key}


# --- System health ---------------------------------------------------------------------------

def health_tables(period: str) -> dict[str, list[list[Any]]]:
    """The dashboard's figures, as tables (the charts and the CSV export draw on the same)."""
    computed = period_scores(period)
    orgs = db.session.scalars(select(Organisation).where(Organisation.active.is_(True))
                              .order_by(Organisation.name)).all()
    participation: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    countries: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    below = []
    for org in orgs:
        card = computed.get(org.id)
        shared = bool(card and card["shares"])
        participation[(org.kind, org.sector)][0] += int(shared)
        participation[(org.kind, org.sector)][1] += 1
        countries[org.country][0] += int(shared)
        countries[org.country][1] += 1
        target = target_for(org.sector)
        if card and card["overall"] < target:
            below.append([org.name, org.sector, org.country, card["overall"], target])
    months = recent_months(6)
    totals = defaultdict(int)
    for row in db.session.scalars(select(MonthlyActivity).where(MonthlyActivity.month.in_(months))):
        totals[row.month] += row.shares + row.reactive_shares
    trend = []
    for month in months:
        cards = period_scores(month_key(month))
        overall = [c["overall"] for c in cards.values()]
        trend.append([month_key(month), totals.get(month, 0),
                      round(statistics.fmean(overall), 1) if overall else 0.0])
    return {
        "participation": [[kind, sector, active, total, round(100 * active / total, 1) if total else 0.0]
                          for (kind, sector), (active, total) in sorted(participation.items())],
        "countries": [[country, active, total, round(100 * active / total, 1) if total else 0.0]
                      for country, (active, total) in sorted(countries.items())],
        "trend": trend,
        "below": sorted(below, key=lambda r: r[3]),
    }


#: Column headings, in words for the people who read the tables and their CSV downloads.
HEADERS = {
    "participation": [_l("Kind of organisation"), _l("Sector"), _l("Organisations sharing"), _l("Organisations"),
                      _l("Percent sharing")],
    "countries": [_l("Country"), _l("Organisations sharing"), _l("Organisations"), _l("Percent sharing")],
    "trend": [_l("Month"), _l("Shares"), _l("Mean overall score")],
    "below": [_l("Organisation"), _l("Sector"), _l("Country"), _l("Overall score"), _l("Target")],
}
#: Which leading columns hold codes (portal/labels.py kinds), shown as words.
CELL_KINDS = {"participation": ("organisation-kind", "sector"), "countries": ("country",),
              "below": (None, "sector", "country")}


def worded(table: str, rows: list[list[Any]]) -> list[list[Any]]:
    """The table's rows with each code as a word in the reader's language."""
    kinds = CELL_KINDS.get(table, ())
    return [[label(cell, kinds[i]) if i < len(kinds) and kinds[i] else cell for i, cell in enumerate(row)]
            for row in rows]


@bp.get("/system-health")
def system_health():
    user = policy.reader()
    if not policy.is_oversight(user):
        abort(404)
    period = _period()
    tables = health_tables(period)
    trail.record("system_health.read", "organisation", period=period)
    page = render_template(
        "scorecards/health.html", period=period, tables={k: worded(k, v) for k, v in tables.items()},
        headers=HEADERS,
        participation_chart=charts.bar_chart(_("Organisations sharing, by sector (%)"),
                                             [(f"{label(r[1], 'sector')} ({label(r[0], 'organisation-kind')})", r[4]) for r in tables["participation"]], unit="%"),
        country_chart=charts.bar_chart(_("Organisations sharing, by country (%)"),
                                       [(label(r[0], "country"), r[3]) for r in tables["countries"]], unit="%"),
        shares_chart=charts.line_chart(_("Shares per month"), [r[0] for r in tables["trend"]],
                                       [float(r[1]) for r in tables["trend"]]),
        overall_chart=charts.line_chart(_("Mean overall score per month"), [r[0] for r in tables["trend"]],
                                        [float(r[2]) for r in tables["trend"]], maximum=100))
    db.session.commit()
    return page


@bp.get("/system-health/<table>.csv")
def system_health_csv(table: str):
    user = policy.reader()
    if not policy.is_oversight(user) or table not in HEADERS:
        abort(404)
    period = _period()
    rows = health_tables(period)[table]
    text = csv_text([str(h) for h in HEADERS[table]], worded(table, rows))
    trail.record("system_health.export", "organisation", table=table, period=period)
    db.session.commit()
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="system-health-{table}-{period}.csv"'})


# --- Accountability reports and procurement eligibility ------------------------------------------

def _report_or_404(period: str) -> AccountabilityReport:
    user = policy.reader()
    if not permissions.may_see_accountability_report(user):
        abort(404)
    report = db.session.get(AccountabilityReport, period)
    if report is None:
        abort(404)
    return report


@bp.get("/accountability-reports")
def accountability_reports():
    user = policy.reader()
    if not permissions.may_see_accountability_report(user):
        abort(404)
    reports = db.session.scalars(select(AccountabilityReport).order_by(AccountabilityReport.created_at.desc())).all()
    trail.record("accountability_report.list", "organisation")
    page = render_template("scorecards/reports.html", reports=reports)
    db.session.commit()
    return page


@bp.get("/accountability-reports/<period>")
def accountability_report(period: str):
    report = _report_or_404(period)
    trail.record("accountability_report.read", "organisation", period=period)
    page = render_template("scorecards/report.html", report=report, columns=consequences.REPORT_COLUMNS,
                           labels=LABELS)
    db.session.commit()
    return page


#: The report's CSV is for people (oversight opens it in a spreadsheet): its headings are words.
REPORT_HEADINGS = {"organisation": _l("Organisation"), "slug": _l("Short name"), "kind": _l("Kind of organisation"),
                   "sector": _l("Sector"), "country": _l("Country"), **LABELS,
                   "previous_overall": _l("Previous overall score"), "trend": _l("Trend"), "target": _l("Target"),
                   "meets_standard": _l("Sharing standard"), "open_items": _l("Open items"), "tier": _l("Tier"),
                   "procurement_eligible": _l("Procurement eligible"), "reason": _l("Reason")}


@bp.get("/accountability-reports/<period>.csv")
def accountability_report_csv(period: str):
    report = _report_or_404(period)
    text = csv_text([str(REPORT_HEADINGS.get(c, c)) for c in consequences.REPORT_COLUMNS],
                    [[row.get(c) for c in consequences.REPORT_COLUMNS] for row in report.rows])
    trail.record("accountability_report.export", "organisation", period=period)
    db.session.commit()
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="accountability-report-{period}.csv"'})


@bp.get("/procurement")
def procurement():
    """Every organisation's procurement eligibility, with the reason, and its sharing mark."""
    user = policy.reader()
    if not permissions.may_see_procurement_eligibility(user):
        abort(404)
    orgs = db.session.scalars(select(Organisation).where(Organisation.active.is_(True))
                              .order_by(Organisation.name)).all()
    trail.record("procurement.read", "organisation")
    page = render_template("scorecards/procurement.html", orgs=orgs,
                           eligibility=consequences.eligibility_of_all(), marks=consequences.marks(),
                           threshold=consequences.threshold(), quarters=consequences.closed_quarters(2))
    db.session.commit()
    return page
