"""What every page's layout needs: the reader, their navigation, and the demonstration banner."""
from __future__ import annotations

from typing import Any, Callable

from flask import Flask, g, has_request_context
from flask_login import current_user

from portal import labels, permissions
from portal.i18n import lazy_gettext as _l
from portal import settings_store
from portal.vocabulary import Role

#: (endpoint, label, who sees it: the roles (empty = everyone signed in), or a permission)
NAVIGATION: tuple[tuple[str, Any, frozenset[Role] | Callable[[Any], bool]], ...] = (
    ("home.index", _l("Home"), frozenset()),
    ("bulletins.index", _l("Bulletins"), frozenset()),
    ("bulletins.new", _l("Write a bulletin"), frozenset({Role.PUBLISHER})),
    ("submissions.index", _l("Reports"), frozenset({Role.SUBMITTER, Role.ORG_ADMIN, Role.ANALYST})),
    ("deportees.index", _l("Deportee notifications"), permissions.may_use_deportee_notifications),
    ("rfis.index", _l("Requests"), frozenset({Role.ANALYST, Role.PUBLISHER, Role.SUBMITTER, Role.ORG_ADMIN})),
    ("scorecards.mine", _l("Scorecard"), frozenset({Role.ANALYST, Role.PUBLISHER, Role.SUBMITTER, Role.ORG_ADMIN})),
    ("ratings.index", _l("Resilience"), frozenset({Role.ANALYST, Role.ORG_ADMIN})),
    ("audit.index", _l("Audit trail"), frozenset({Role.AUDITOR})),
    ("audit.organisation_access", _l("Access to our content"), frozenset({Role.ORG_ADMIN})),
    ("admin.users", _l("Users"), frozenset({Role.ADMIN, Role.ORG_ADMIN})),
    ("admin.organisations", _l("Organisations"), frozenset({Role.ADMIN})),
    ("admin.deportee_routes", _l("Deportee routes"), frozenset({Role.ADMIN})),
    ("idp_admin.index", _l("Identity providers"), frozenset({Role.ADMIN})),
    ("tokens.index", _l("API tokens"), frozenset()),
    ("notifications.webhooks", _l("Webhooks"), frozenset({Role.ORG_ADMIN})),
    ("notifications.dead_letters", _l("Failed deliveries"), frozenset({Role.ADMIN})),
    ("wording.queue", _l("Suggested wordings"), frozenset({Role.ADMIN})),
)


def navigation_for(user: Any) -> list[tuple[str, Any]]:
    """The menu: only what the user can use."""
    roles = user.roles
    return [(endpoint, label) for endpoint, label, needed in NAVIGATION
            if (needed(user) if callable(needed) else not needed or roles & needed)]


def field_id(key: str) -> str:
    """The id of the input of a field error's key: ``subjects[0].date_of_birth`` → ``subjects-0-date_of_birth``."""
    return str(key).replace("[", "-").replace("]", "").replace(".", "-")


def init_app(app: Flask) -> None:
    app.jinja_env.filters["field_id"] = field_id
    labels.init_app(app)

    @app.context_processor
    def layout_context() -> dict[str, Any]:
        if not has_request_context():  # an e-mail, rendered by a job
            return {}
        if "demo_mode" not in g:
            try:
                g.demo_mode = settings_store.read(settings_store.DEMO_LOADED)
            except Exception:  # database not migrated yet: the page still renders
                g.demo_mode = False
        user = current_user if current_user.is_authenticated else None
        return {
            "demo_mode": g.demo_mode,
            "navigation": navigation_for(user) if user else [],
        }
