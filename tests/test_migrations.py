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
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], diff


def test_every_revision_goes_down_and_up_again_with_data(empty_app):
    revisions = _revisions()
    assert revisions, "no migrations found"
    for revision in revisions:
        upgrade(revision=revision)
        db.session.execute(text(
            "INSERT INTO organisations (slug, name, kind, sector, country, active, created_at) "
            f"VALUES ('org-{revision}', 'Org', 'private', 'banking', 'NZ', true, CURRENT_TIMESTAMP)"))
        db.session.commit()
        downgrade(revision="-1")
        upgrade(revision=revision)
    assert set(inspect(db.engine).get_table_names()) >= {"organisations", "users", "audit_entries"}
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert db.session.execute(text("SELECT seq FROM audit_chain_head WHERE id = 1")).scalar() == 0
