"""Bulletin pages. Authoring, review and feedback come with the bulletins feature."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from portal import policy
from portal.audit import trail
from portal.bulletins.models import Bulletin
from portal.extensions import db

bp = Blueprint("bulletins", __name__, url_prefix="/bulletins")
PAGE_SIZE = 50


@bp.get("")
def index():
    user = policy.reader()
    before = request.args.get("before", type=int)
    statement = policy.readable_bulletins(user)
    if before:
        statement = statement.where(Bulletin.id < before)
    rows = db.session.scalars(statement.order_by(Bulletin.id.desc()).limit(PAGE_SIZE + 1)).all()
    more = len(rows) > PAGE_SIZE
    bulletins = rows[:PAGE_SIZE]
    trail.record("bulletin.list", "bulletin", count=len(bulletins), before=before)
    db.session.commit()
    return render_template("bulletins/index.html", bulletins=bulletins,
                           next_before=bulletins[-1].id if more else None)


@bp.get("/<int:bulletin_id>")
def show(bulletin_id: int):
    user = policy.reader()
    bulletin = policy.readable_or_404(Bulletin, user, Bulletin.id == bulletin_id)
    trail.record("bulletin.read", "bulletin", bulletin.id, bulletin.author_org.slug)
    db.session.commit()
    return render_template("bulletins/show.html", bulletin=bulletin,
                           show_audience=policy.sees_bulletin_audience(user, bulletin))
