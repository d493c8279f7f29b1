"""Fixtures: every test that uses ``app`` runs on SQLite and on a real PostgreSQL.

Each backend is migrated once with Alembic (never ``create_all``) into a template; each test gets
a fresh copy (a file copy for SQLite, ``CREATE DATABASE … TEMPLATE`` for PostgreSQL, which the
``pgserver`` wheel starts for the session).
"""
from __future__ import annotations

import contextvars
import itertools
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterator

import psycopg
import pyotp
import pytest
from sqlalchemy.engine import make_url

from flask.testing import FlaskClient

from app import create_app
from portal.accounts.models import User
from portal.accounts.passwords import hash_password
from portal.extensions import db as _db
from portal.organisations.models import Organisation
from portal.vocabulary import Classification, Role
from tests.idp import OpenIDProvider, free_port

# pgserver asks platformdirs for a runtime directory; give it one rather than a warning.
os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="portal-runtime-"))  # 0700, as required

BACKENDS = ("sqlite", "postgresql")
TEST_SECRETS = {"secret_key": "t" * 48, "audit_key": "a" * 48, "blind_index_key": "i" * 48,
                "data_keys": "test1:" + "VGVzdEtleVRlc3RLZXlUZXN0S2V5VGVzdEtleTAwMDA="}
PASSWORD = "correct horse battery staple"
_counter = itertools.count()


def settings_for(url: str, instance: Path, **extra: Any) -> dict[str, Any]:
    return {"env": "test", "database_url": url, "instance_path": str(instance),
            "base_url": "http://localhost", **TEST_SECRETS, **extra}


# --- A real OpenID Connect provider -----------------------------------------------------------

#: The browser tier's live server listens here, so the provider can know its redirect URIs.
BROWSER_PORT = free_port()
IDP_NAMES = ("harbour", "trusted", "mitm", "keycloak")
IDP_ACCOUNTS = {
    "ben": {"claims": {"email": "ben@harbourbank.example", "email_verified": True, "name": "Ben Carter"}},
    "newcomer": {"claims": {"email": "aroha.new@harbourbank.example", "email_verified": True, "name": "Aroha New"}},
    "intruder": {"claims": {"email": "lucy@kowhaibank.example", "email_verified": True, "name": "Not Lucy"}},
    "unverified": {"claims": {"email": "someone@harbourbank.example", "email_verified": False}},
    "elsewhere": {"claims": {"email": "ben.private@mail.example", "email_verified": True}},
    "trusted": {"claims": {"email": "tia@harbourbank.example", "email_verified": True, "name": "Tia",
                           "portal_roles": ["publisher", "admin", "viewer"], "portal_clearance": "SENSITIVE"}},
}


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OpenIDProvider]:
    bases = ("http://localhost", f"http://127.0.0.1:{BROWSER_PORT}")
    provider = OpenIDProvider(
        IDP_ACCOUNTS,
        redirect_uris=[f"{base}/auth/oidc/{name}/callback" for base in bases for name in IDP_NAMES],
        post_logout_redirect_uris=[f"{base}/login" for base in bases],
    )
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def keycloak_provider() -> Iterator[OpenIDProvider]:
    """A second real provider that behaves as Keycloak does by default: claims in the ID token."""
    bases = ("http://localhost", f"http://127.0.0.1:{BROWSER_PORT}")
    provider = OpenIDProvider(
        IDP_ACCOUNTS,
        redirect_uris=[f"{base}/auth/oidc/{name}/callback" for base in bases for name in IDP_NAMES],
        post_logout_redirect_uris=[f"{base}/login" for base in bases],
        mode="keycloak",
    )
    yield provider
    provider.stop()


# --- PostgreSQL -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import pgserver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(str(tmp_path_factory.mktemp("pgdata")), cleanup_mode="stop")
    yield server
    server.cleanup()


def pg_admin(server: Any) -> psycopg.Connection:
    url = make_url(server.get_uri())
    return psycopg.connect(dbname="postgres", user=url.username or "postgres",
                           host=url.query["host"], autocommit=True)


def pg_url(server: Any, name: str) -> str:
    url = make_url(server.get_uri())
    return f"postgresql+psycopg://{url.username or 'postgres'}@/{name}?host={url.query['host']}"


def create_pg_database(server: Any, name: str, template: str | None = None) -> str:
    with pg_admin(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return pg_url(server, name)


def drop_pg_database(server: Any, name: str) -> None:
    with pg_admin(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Migrated templates -----------------------------------------------------------------------

def migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(settings_for(url, instance))
    with app.app_context():
        upgrade()
        _db.engine.dispose()


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Lazily migrated template databases, one per backend."""
    return {"dir": tmp_path_factory.mktemp("templates"), "ready": {}, "request": request}


def template_for(templates: dict[str, Any], backend: str) -> str:
    if backend in templates["ready"]:
        return templates["ready"][backend]
    base: Path = templates["dir"]
    if backend == "sqlite":
        path = base / "template.sqlite3"
        migrate(f"sqlite:///{path}", base / "instance")
        templates["ready"][backend] = str(path)
    else:
        server = templates["request"].getfixturevalue("pg_server")
        url = create_pg_database(server, "portal_template")
        migrate(url, base / "instance")
        templates["ready"][backend] = "portal_template"
    return templates["ready"][backend]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, templates: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    backend = request.param
    template = template_for(templates, backend)
    if backend == "sqlite":
        path = tmp_path / "portal.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
    else:
        server = request.getfixturevalue("pg_server")
        name = f"portal_test_{os.getpid()}_{next(_counter)}"
        yield create_pg_database(server, name, template=template)
        drop_pg_database(server, name)


class IsolatedClient(FlaskClient):
    """Runs each request in a fresh context, as a real server does.

    The ``app`` fixture keeps an application context open so tests can use the database; Flask
    would reuse it (and its ``g``) for every request. An empty ``contextvars`` context makes each
    request push its own application context, ``g`` and database session.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def base_url() -> str:
    """PORTAL_BASE_URL for the app under test; the browser tier overrides it with its live address."""
    return "http://localhost"


@pytest.fixture
def extra_settings() -> dict[str, Any]:
    """More settings for the app under test; a test module overrides this (e.g. its SMTP port)."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path: Path, base_url: str, extra_settings: dict[str, Any]) -> Iterator[Any]:
    application = create_app(settings_for(database_url, tmp_path / "instance", base_url=base_url,
                                          **extra_settings))
    application.test_client_class = IsolatedClient
    with application.app_context():
        yield application
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


# --- Builders ---------------------------------------------------------------------------------

class World:
    """Builds organisations and users directly in the database for a test."""

    def __init__(self) -> None:
        self._password_hash = hash_password(PASSWORD)

    def org(self, slug: str, kind: str = "private", sector: str = "banking", country: str = "NZ",
            name: str | None = None) -> Organisation:
        org = Organisation(slug=slug, name=name or slug.replace("-", " ").title(), kind=kind, sector=sector,
                           country=country)
        _db.session.add(org)
        _db.session.commit()
        return org

    def user(self, email: str, org: Organisation, roles: tuple[str, ...] = ("viewer",),
             clearance: str = "IN-CONFIDENCE", totp: bool | None = None, **fields: Any) -> User:
        user = User(email=email, organisation=org, clearance=Classification.parse(clearance),
                    password_hash=self._password_hash, **fields)
        user.set_roles({Role(r) for r in roles})
        if totp or (totp is None and user.requires_totp):
            user.totp_secret = pyotp.random_base32()
        _db.session.add(user)
        _db.session.commit()
        return user


@pytest.fixture
def world(app: Any) -> World:
    return World()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in page"
    return match.group(1) or match.group(2)


def next_code(user: User) -> str:
    """A TOTP code the portal will accept now: never a step already used."""
    import datetime as dt

    totp = pyotp.TOTP(user.totp_secret)
    now = dt.datetime.now(dt.timezone.utc)
    for drift in (0, 1):
        moment = now + dt.timedelta(seconds=30 * drift)
        if user.totp_last_step is None or totp.timecode(moment) > user.totp_last_step:
            return totp.at(moment)
    raise AssertionError("no unused TOTP step available")


def sign_in(client: Any, user: User, password: str = PASSWORD) -> Any:
    """Sign in through the real forms: password, then TOTP when the user has it."""
    page = client.get("/login")
    response = client.post("/login", data={"email": user.email, "password": password,
                                           "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    if response.headers["Location"].endswith("/login/code"):
        page = client.get("/login/code")
        _db.session.refresh(user)
        response = client.post("/login/code", data={"code": next_code(user),
                                                     "csrf_token": csrf_from(page.get_data(as_text=True))})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def sign_out(client: Any) -> None:
    """Sign out through the real form (a POST with its CSRF token), as the sign-out button does."""
    page = client.get("/logout")
    if page.status_code != 200:
        return  # not signed in
    response = client.post("/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 302, response.status_code


def register_idp(provider: OpenIDProvider, org_slug: str, name: str = "harbour", **extra: Any) -> Any:
    """Register the test provider for an organisation, as `idps add` does."""
    from portal.federation.models import IdentityProvider
    from portal.federation.registration import apply, validate_provider

    values, errors = validate_provider({"name": name, "issuer": provider.issuer, "client_id": "portal",
                                        "client_secret": "portal-test-client-secret", "org": org_slug, **extra})
    assert not errors, errors
    idp = IdentityProvider()
    apply(idp, values)
    _db.session.add(idp)
    _db.session.commit()
    return idp


def bearer(user: User, scopes: tuple[str, ...] = (), days: int = 30) -> dict[str, str]:
    """Authorization headers for a new API token of ``user``."""
    import datetime as dt

    from portal.accounts.models import ApiToken
    from portal.types import utcnow

    token, clear = ApiToken.issue(user, "test", list(scopes), utcnow() + dt.timedelta(days=days))
    _db.session.add(token)
    _db.session.commit()
    return {"Authorization": f"Bearer {clear}"}
