"""Browsing the trail: an ``auditor`` sees and exports all of it (never the content itself);
an ``org-admin`` sees who accessed its own organisation's content."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from sqlalchemy import Select, select

from portal import policy, reads
from portal.accounts.session_auth import recent_auth_required
from portal.audit.models import AuditEntry
from portal.dates import parse_day
from portal.csv_export import csv_text
from portal.extensions import db
from portal.i18n import current_time_zone
from portal.organisations import choices
from portal.organisations.models import Organisation
from portal.vocabulary import Role

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE_SIZE = 100
EXPORT_LIMIT = 100_000
MAX_FILTER = 320
MAX_ORGS = 500
FILTERS = ("actor", "org", "action", "object_type", "object_id", "date_from", "date_to")
CSV_COLUMNS = ("id", "occurred_at", "actor_email", "actor_org", "action", "object_type", "object_id",
               "object_org", "source_ip", "reason", "details", "mac")


def _filters() -> dict[str, Any]:
    # Each filter is at most a field's worth of text: what it is compared with is never longer.
    filters: dict[str, Any] = {name: request.args.get(name, "").strip()[:MAX_FILTER] for name in FILTERS}
    # Organisations are ticked in a list: the parameter may repeat (at most a page of them).
    filters["org"] = [v.strip()[:MAX_FILTER] for v in request.args.getlist("org") if v.strip()][:MAX_ORGS]
    return filters


def _used(filters: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in filters.items() if value}


def _local_midnight(value: str, days: int = 0) -> dt.datetime | None:
    try:
        day = parse_day(value)
    except ValueError:
        return None
    local = dt.datetime.combine(day + dt.timedelta(days=days), dt.time(), tzinfo=current_time_zone())
    return local.astimezone(dt.timezone.utc)


def _apply(statement: Select, filters: dict[str, str]) -> Select:
    if filters["actor"]:
        statement = statement.where(AuditEntry.actor_email.contains(filters["actor"].lower(), autoescape=True))
    if filters["org"]:
        statement = statement.where(AuditEntry.actor_org.in_(filters["org"]))
    if filters["action"]:
        statement = statement.where(AuditEntry.action.startswith(filters["action"], autoescape=True))
    if filters["object_type"]:
        statement = statement.where(AuditEntry.object_type == filters["object_type"])
    if filters["object_id"]:
        statement = statement.where(AuditEntry.object_id == filters["object_id"])
    if (start := _local_midnight(filters["date_from"])) is not None:
        statement = statement.where(AuditEntry.occurred_at >= start)
    if (end := _local_midnight(filters["date_to"], days=1)) is not None:
        statement = statement.where(AuditEntry.occurred_at < end)
    return statement


def _page(statement: Select):
    before = request.args.get("before", type=int)
    if before:
        statement = statement.where(AuditEntry.id < before)
    rows = db.session.scalars(statement.order_by(AuditEntry.id.desc()).limit(PAGE_SIZE + 1)).all()
    return rows[:PAGE_SIZE], (rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None)


@bp.get("")
def index():
    user = policy.reader()
    if Role.AUDITOR not in user.roles:
        abort(404)
    filters = _filters()
    entries, next_before = _page(_apply(select(AuditEntry), filters))
    # An auditor reads the whole trail, so every organisation may be named in it.
    everyone = choices.organisations(active_only=False)
    with reads.audit("audit.list", "audit_entry", count=len(entries), filters=_used(filters)):
        return render_template("audit/index.html", entries=entries, filters=filters, next_before=next_before,
                               scope="all", org_groups=choices.organisation_groups(everyone),
                               org_names={o.slug: o.name for o in everyone})


@bp.get("/export.csv")
@recent_auth_required
def export_csv():
    user = policy.reader()
    if Role.AUDITOR not in user.roles:
        abort(404)
    filters = _filters()
    statement = _apply(select(AuditEntry), filters).order_by(AuditEntry.id).limit(EXPORT_LIMIT)
    rows = []
    for entry in db.session.scalars(statement):
        row = [getattr(entry, column) for column in CSV_COLUMNS]
        row[1] = entry.occurred_at.isoformat()
        rows.append(row)
    text = csv_text(CSV_COLUMNS, rows)  # formulas neutralised in text a user could have influenced
    with reads.audit("audit.export", "audit_entry", count=len(rows), format="csv", filters=_used(filters)):
        return Response(text, mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=audit-trail.csv"})


@bp.get("/our-content")
def organisation_access():
    """Who read, listed, downloaded or exported this organisation's content."""
    user = policy.reader()
    if Role.ORG_ADMIN not in user.roles:
        abort(404)
    filters = _filters()
    own_content = select(AuditEntry).where(AuditEntry.object_org == user.organisation.slug,
                                           AuditEntry.object_type.in_(("bulletin", "submission",
                                                                       "deportee_notification", "attachment")))
    statement = _apply(own_content, filters)
    # Offered: only the organisations whose people this trail already shows the org-admin.
    seen = own_content.with_only_columns(AuditEntry.actor_org).where(AuditEntry.actor_org.is_not(None)).distinct()
    named = choices.organisations(Organisation.slug.in_(seen), active_only=False)
    entries, next_before = _page(statement)
    with reads.audit("audit.list", "audit_entry", count=len(entries), scope="own-content", filters=_used(filters)):
        return render_template("audit/index.html", entries=entries, filters=filters, next_before=next_before,
                               scope="own", org_groups=choices.organisation_groups(named),
                               org_names={o.slug: o.name for o in named})
