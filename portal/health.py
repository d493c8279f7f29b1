"""Liveness and readiness probes for load balancers and orchestration."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.audit import log as audit_log
from portal.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Alive: answers without touching the database."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready: the database answers (200 however far the audit sequencer lags; its lag is reported)."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    try:
        audit = audit_log.lag()
    except SQLAlchemyError:  # e.g. a database not yet migrated: still ready to be migrated
        db.session.rollback()
        audit = None
    db.session.rollback()
    return jsonify(status="ok", database="ok", audit=audit)
