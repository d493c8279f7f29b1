from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from portal import permissions, policy, reads
from portal.accounts.models import User
from portal.extensions import db
from portal.vocabulary import Role

bp = Blueprint("home", __name__)


def _count(statement) -> int:
    return db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0


@bp.get("/")
def index():
    """One page that adapts to the reader's roles; every count goes through the access policy."""
    user = policy.reader()
    roles = user.roles
    counts = {
        "bulletins": _count(policy.readable_bulletins(user)),
        "deportee_notifications": _count(policy.readable_deportee_notifications(user)),
    }
    if roles & {Role.SUBMITTER, Role.ORG_ADMIN, Role.ANALYST}:
        counts["submissions"] = _count(policy.readable_submissions(user))
    recent = db.session.scalars(
        policy.readable_bulletins(user).order_by(policy.Bulletin.id.desc()).limit(5)
    ).all()
    waiting = 0
    if permissions.may_administer_users(user):
        # In-portal notice of people awaiting approval (by e-mail once notifications land).
        waiting = db.session.scalar(select(func.count()).select_from(User).where(
            User.pending.is_(True), User.active.is_(True), permissions.manageable_users(user))) or 0
    with reads.listed(policy.Bulletin, len(recent), view="home"):
        return render_template("home/index.html", user=user, roles=roles, Role=Role, counts=counts, recent=recent,
                               waiting=waiting)
