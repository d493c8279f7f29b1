"""Alembic: upgrade-to-head matches the models; every revision goes down and up again, with data."""
from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app import create_app
from portal.config import settings
from portal.extensions import db
from tests.conftest import create_pg_database, drop_pg_database, settings_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_app(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        server = request.getfixturevalue("pg_server")
        url = create_pg_database(server, "portal_migrations")
    application = create_app(settings_for(url, tmp_path / "instance"))
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()
    if request.param == "postgresql":
        drop_pg_database(request.getfixturevalue("pg_server"), "portal_migrations")


def _revisions() -> list[str]:
    script = ScriptDirectory(str(ROOT / "migrations"))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_upgrade_to_head_matches_models(empty_app):
    upgrade()
    with db.engine.connect() as connection:
        from portal.search import include_object

        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "include_object": include_object})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], diff


def _count(table: str) -> int:
    return db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def _insert_people(number: int) -> None:
    """An organisation, a user and a role, in columns every revision has."""
    db.session.execute(text(
        "INSERT INTO organisations (slug, name, kind, sector, country, active, created_at) "
        f"VALUES ('org-{number}', 'Org', 'private', 'banking', 'NZ', true, CURRENT_TIMESTAMP)"))
    org_id = db.session.execute(text(f"SELECT id FROM organisations WHERE slug = 'org-{number}'")).scalar()
    db.session.execute(text(
        "INSERT INTO users (email, display_name, organisation_id, clearance, locale, time_zone, active, "
        "failed_logins, session_nonce, created_at) "
        f"VALUES ('u{number}@example.org', '', {org_id}, 0, 'en', 'Pacific/Auckland', true, 0, 'n', "
        "CURRENT_TIMESTAMP)"))
    user_id = db.session.execute(text(f"SELECT id FROM users WHERE email = 'u{number}@example.org'")).scalar()
    db.session.execute(text(f"INSERT INTO user_roles (user_id, role) VALUES ({user_id}, 'viewer')"))


def test_every_revision_goes_down_and_up_again_with_data(empty_app):
    revisions = _revisions()
    assert revisions, "no migrations found"
    for number, revision in enumerate(revisions):
        upgrade(revision=revision)
        _insert_people(number)
        db.session.commit()
        downgrade(revision="-1")
        upgrade(revision=revision)
        if number:  # rows written before a later revision survive its round trip
            assert _count("users") == _count("user_roles") == number
        db.session.rollback()  # release our read locks before Alembic alters these tables
    assert set(inspect(db.engine).get_table_names()) >= {"organisations", "users", "audit_entries"}
    if db.engine.dialect.name == "sqlite":  # full-text triggers survive every round trip
        triggers = set(db.session.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
        assert {"bulletins_fts_insert", "bulletins_fts_update", "bulletins_fts_delete"} <= triggers
        db.session.rollback()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert {"audit_entries", "audit_leaves", "audit_nodes", "audit_checkpoints", "audit_signing_keys"} <= set(
        inspect(db.engine).get_table_names())
    assert "audit_chain_head" not in inspect(db.engine).get_table_names()


def _legacy_entry(key: bytes, seq: int, prev: str, action: str, details: dict) -> dict:
    """An entry as the hash-chained trail (revisions 0001–0012) wrote it."""
    import datetime as dt
    import hashlib
    import hmac
    import json

    row = {"seq": seq, "occurred_at": dt.datetime(2026, 11, 30, 12, 0, seq), "actor_id": 1,
           "actor_email": "a@bank.example", "actor_org": "bank", "action": action, "object_type": "submission",
           "object_id": "", "object_org": "", "source_ip": "10.0.0.1", "reason": "",
           "details": json.dumps(details, sort_keys=True)}
    fields = [seq, row["occurred_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")] + [row[k] for k in (
        "actor_id", "actor_email", "actor_org", "action", "object_type", "object_id", "object_org", "source_ip",
        "reason", "details")]
    canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    row["prev_hash"] = prev
    row["entry_hash"] = hmac.new(key, prev.encode() + b"\n" + canonical, hashlib.sha256).hexdigest()
    return row


def test_legacy_entries_move_into_the_log_without_search_terms_and_back(empty_app):
    """0013 moves the hash-chained entries into the new log (in order, search terms removed, the old
    chain checked and the outcome recorded); the sequencer seals them; the downgrade chains them again."""
    import json

    from sqlalchemy import select

    from portal.audit import log as audit_log
    from portal.audit.models import AuditEntry
    from portal.audit.verify import verify

    upgrade(revision="0012")
    key = settings(empty_app).audit_key.get_secret_value().encode()
    rows, prev = [], "0" * 64
    for seq, (action, details) in enumerate([("submission.list", {"filters": {"q": "Sione Taufa T1234567",
                                                                              "status": "open"}, "count": 1}),
                                             ("submission.read", {}), ("bulletin.list", {"count": 3})], start=1):
        rows.append(_legacy_entry(key, seq, prev, action, details))
        prev = rows[-1]["entry_hash"]
    columns = ", ".join(rows[0])
    for row in rows:
        db.session.execute(text(f"INSERT INTO audit_entries ({columns}) VALUES ({', '.join(':' + k for k in row)})"),
                           row)
    db.session.execute(text("UPDATE audit_chain_head SET seq = 3, last_hash = :h WHERE id = 1"), {"h": prev})
    db.session.commit()

    upgrade()
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["submission.list", "submission.read", "bulletin.list", "audit.migrate"]
    assert "Sione" not in entries[0].details and "T1234567" not in entries[0].details
    assert json.loads(entries[0].details)["filters"] == {"status": "open"}
    assert json.loads(entries[0].details)["searched"] is True
    assert json.loads(entries[3].details) == {"legacy_chain": "intact", "legacy_entries": 3,
                                              "search_terms_removed": 1}
    db.session.commit()
    assert audit_log.seal().sealed == 4
    report = verify()
    assert report.problem is None and report.sealed == 4
    db.session.commit()

    downgrade(revision="0012")
    chain = db.session.execute(text("SELECT seq, prev_hash, entry_hash, action FROM audit_entries ORDER BY seq")).all()
    assert [r.action for r in chain] == ["submission.list", "submission.read", "bulletin.list", "audit.migrate",
                                         "audit.key.create"]  # the first checkpoint made the first signing key
    assert chain[1].prev_hash == chain[0].entry_hash and chain[3].prev_hash == chain[2].entry_hash
    assert db.session.execute(text("SELECT seq, last_hash FROM audit_chain_head")).one() == (5, chain[4].entry_hash)
    db.session.rollback()


def test_activity_kinds_become_codes_and_words_again(empty_app):
    """0025 stores each activity kind as its code (portal.activity.KIND_CODES) and the model reads
    the words back; the downgrade writes the words again."""
    from sqlalchemy import select

    from portal.activity import KIND_CODES, ActivityEvent

    upgrade(revision="0024")
    _insert_people(0)
    org_id = db.session.execute(text("SELECT id FROM organisations")).scalar()
    for number, kind in enumerate(KIND_CODES, start=1):
        db.session.execute(text(
            "INSERT INTO activity_events (id, organisation_id, kind, at, month, value, weight, bucket) "
            f"VALUES ({number}, {org_id}, '{kind}', CURRENT_TIMESTAMP, 202612, NULL, 1, -1)"))
    db.session.commit()

    upgrade(revision="0025")
    stored = db.session.execute(text("SELECT id, kind FROM activity_events ORDER BY id")).all()
    assert [(i, int(k)) for i, k in stored] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert all(isinstance(k, int) for _, k in stored)  # integers, not the codes' digits as text
    assert db.session.scalars(select(ActivityEvent.kind).order_by(ActivityEvent.id)).all() == list(KIND_CODES)
    assert db.session.scalar(select(ActivityEvent.id).where(ActivityEvent.kind == "rating")) == 3
    db.session.rollback()

    downgrade(revision="0024")
    assert db.session.execute(text("SELECT id, kind FROM activity_events ORDER BY id")).all() == [
        (1, "share"), (2, "share-reactive"), (3, "rating"), (4, "response")]
    db.session.rollback()
    upgrade()


def test_activity_bucket_and_weight_become_small_integers_and_back(empty_app):
    """0026 narrows ``bucket`` and ``weight`` to small integers, keeping every value; the
    downgrade widens them again."""
    upgrade(revision="0025")
    _insert_people(0)
    org_id = db.session.execute(text("SELECT id FROM organisations")).scalar()
    for number, (kind, value, weight, bucket) in enumerate([(1, None, 1, -1), (3, 1.0, -1, -1), (4, 30.5, 1, 7)],
                                                           start=1):
        db.session.execute(text(
            "INSERT INTO activity_events (id, organisation_id, kind, at, month, value, weight, bucket) "
            f"VALUES ({number}, {org_id}, {kind}, CURRENT_TIMESTAMP, 202612, {value or 'NULL'}, {weight}, {bucket})"))
    db.session.commit()
    stored = [(1, 1, -1), (2, -1, -1), (3, 1, 7)]

    def columns() -> dict[str, str]:
        return {c["name"]: type(c["type"]).__name__.upper() for c in inspect(db.engine).get_columns("activity_events")
                if c["name"] in ("bucket", "weight")}

    upgrade(revision="0026")
    assert db.session.execute(text("SELECT id, weight, bucket FROM activity_events ORDER BY id")).all() == stored
    assert columns() == {"bucket": "SMALLINT", "weight": "SMALLINT"}
    db.session.rollback()
    downgrade(revision="0025")
    assert db.session.execute(text("SELECT id, weight, bucket FROM activity_events ORDER BY id")).all() == stored
    assert columns() == {"bucket": "INTEGER", "weight": "INTEGER"}
    db.session.rollback()
    upgrade()
