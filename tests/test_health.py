"""Liveness and readiness: /healthz never touches the database; /readyz answers 503 without it."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from portal.extensions import db
from tests.conftest import drop_pg_database


def _remove_the_database(database_url: str, request) -> None:
    """Take the database away for good, as a lost server or a deleted file would."""
    db.session.remove()
    db.engine.dispose()
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database)
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        path.mkdir()  # nothing can be opened there, not even a new empty database
    else:
        drop_pg_database(request.getfixturevalue("pg_server"), url.database)


def test_readyz_checks_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["database"] == "ok"


def test_without_the_database_readyz_fails_and_healthz_still_answers(app, client, database_url, request):
    assert client.get("/readyz").status_code == 200  # it was there
    _remove_the_database(database_url, request)
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "unavailable", "database": "unreachable"}
    alive = client.get("/healthz")
    assert alive.status_code == 200
    assert alive.get_json() == {"status": "ok"}
