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
    assert db.session.execute(text("SELECT seq FROM audit_chain_head WHERE id = 1")).scalar() == 0
