"""The Partner Sharing Portal's application factory: ``flask --app app …`` finds ``create_app``."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import cli, converters, errors, i18n, json_output, models, search, security  # noqa: F401  (models: register every table)
from portal.accounts import reset as password_reset
from portal.accounts.profile import bp as profile_bp
from portal.accounts.tokens import bp as tokens_bp
from portal.accounts.views import bp as auth_bp
from portal.admin.views import bp as admin_bp
from portal.api.routes import bp as api_bp
from portal.audit.views import bp as audit_bp
from portal.bulletins.views import bp as bulletins_bp
from portal.config import install, load_settings
from portal.deportees import jobs as deportee_jobs
from portal.deportees.views import bp as deportees_bp
from portal.extensions import csrf, db, migrate
from portal.federation.admin import bp as idp_admin_bp
from portal.federation.views import bp as federation_bp
from portal.health import bp as health_bp
from portal.home.views import bp as home_bp
from portal.misp.pages import bp as misp_pages_bp
from portal.misp.views import bp as misp_feed_bp
from portal.notifications import views as notifications
from portal.ratings.views import bp as ratings_bp
from portal.rfis.views import bp as rfis_bp
from portal.scorecards import jobs as scorecard_jobs
from portal.scorecards.views import bp as scorecards_bp
from portal.submissions.views import bp as submissions_bp
from portal.taxii import bp as taxii_bp
from portal.templating import init_app as init_templating
from portal.wording import views as wording


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the portal. ``test_config`` overrides settings (see ``portal.config.Settings``)."""
    overrides = dict(test_config or {})
    instance_path = overrides.pop("instance_path", None)
    settings = load_settings(overrides=overrides, instance_path=instance_path)

    app = Flask(__name__, instance_path=settings.instance_path, instance_relative_config=False)
    json_output.init_app(app)
    install(app, settings)
    app.config.update(
        SECRET_KEY=settings.secret_key.get_secret_value(),
        SQLALCHEMY_DATABASE_URI=_driver_url(settings.database_url),
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        MAX_CONTENT_LENGTH=settings.request_max_bytes,  # the largest body any route takes
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=settings.secure_transport,
        TESTING=settings.env == "test",
        PORTAL_BASE_URL=settings.base_url,
    )
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops,  # type: ignore[method-assign]
                                x_host=settings.proxy_hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_root() / "migrations"), include_object=search.include_object)
    security.init_app(app)  # its gate runs before CSRF checks
    converters.init_app(app)  # before any route: ids beyond 64 bits and NUL bytes are 404
    csrf.init_app(app)
    i18n.init_app(app)

    for blueprint in (health_bp, auth_bp, federation_bp, profile_bp, tokens_bp, home_bp, admin_bp, idp_admin_bp,
                      audit_bp, bulletins_bp, submissions_bp, deportees_bp, rfis_bp, ratings_bp, scorecards_bp,
                      misp_pages_bp, notifications.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # the API takes bearer tokens only, never the session cookie
    app.register_blueprint(misp_feed_bp)
    csrf.exempt(misp_feed_bp)  # a token-authenticated feed, like the API: never the session cookie
    app.register_blueprint(taxii_bp)
    csrf.exempt(taxii_bp)  # TAXII takes API tokens (Bearer or Basic) only, never the session cookie

    password_reset.init_app(app)
    deportee_jobs.init_app(app)
    scorecard_jobs.init_app(app)
    notifications.init_app(app)

    wording.init_app(app)  # after the default-deny gate: its hooks see the signed-in user
    errors.init_app(app)
    cli.init_app(app)

    init_templating(app)
    return app


def _root():
    return Path(__file__).resolve().parent


def _driver_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names (or none)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: enforce foreign keys; WAL so readers never block the writer, a busy timeout so writers
    wait their turn rather than fail."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: always consistent; a power cut may lose the last commits
        cursor.close()
