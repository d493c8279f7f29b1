"""docs/contract.md's command line: good input works, bad input exits non-zero saying what to fix."""
from __future__ import annotations

from sqlalchemy import func, select

from portal.accounts.models import ApiToken, User, hash_token
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.vocabulary import Classification, Role


def run(app, *args):
    """Click >= 8.2: ``output`` has stdout and stderr together, ``stdout`` alone."""
    return app.test_cli_runner().invoke(args=list(args))


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_orgs_and_users_add(app):
    result = run(app, "orgs", "add", "harbour-bank", "--name", "Harbour Bank", "--kind", "private",
                 "--sector", "banking", "--country", "NZ")
    assert result.exit_code == 0, result.output
    result = run(app, "users", "add", "Ben@Harbour.example", "--org", "harbour-bank", "--role", "submitter",
                 "--role", "viewer", "--clearance", "IN-CONFIDENCE", "--password", "a long enough password")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "ben@harbour.example"))
    assert user.roles == {Role.SUBMITTER, Role.VIEWER} and user.clearance is Classification.IN_CONFIDENCE
    assert user.active and user.password_hash.startswith("$argon2id$")


def test_bad_cli_input_exits_non_zero_and_changes_nothing(app):
    run(app, "orgs", "add", "bank", "--name", "Bank", "--kind", "private", "--sector", "banking", "--country", "NZ")
    run(app, "users", "add", "a@bank.example", "--org", "bank", "--role", "viewer", "--clearance", "UNCLASSIFIED")
    orgs, users = _count(Organisation), _count(User)
    cases = [
        (["users", "add", "x@bank.example", "--org", "nope", "--role", "viewer", "--clearance", "UNCLASSIFIED"],
         "No organisation with slug 'nope'"),
        (["users", "add", "x@bank.example", "--org", "bank", "--role", "viewer", "--clearance", "SECRET"],
         "above this portal's accreditation"),
        (["users", "add", "x@bank.example", "--org", "bank", "--role", "viewer", "--clearance", "TOP SECRET"],
         "RESTRICTED"),
        (["users", "add", "A@bank.example", "--org", "bank", "--role", "viewer", "--clearance", "UNCLASSIFIED"],
         "already exists"),
        (["users", "add", "x@bank.example", "--org", "bank", "--role", "boss", "--clearance", "UNCLASSIFIED"],
         "Unknown role"),
        (["users", "add", "not-an-email", "--org", "bank", "--role", "viewer", "--clearance", "UNCLASSIFIED"],
         "not a valid e-mail"),
        (["users", "add", "x@bank.example", "--org", "bank", "--role", "viewer", "--clearance", "UNCLASSIFIED",
          "--password", "short"], "at least 12"),
        (["orgs", "add", "bank", "--name", "Again", "--kind", "private", "--sector", "banking", "--country", "NZ"],
         "already exists"),
        (["orgs", "add", "x", "--name", "X", "--kind", "pirate", "--sector", "banking", "--country", "NZ"],
         "Unknown organisation kind"),
        (["orgs", "add", "x", "--name", "X", "--kind", "private", "--sector", "banking", "--country", "XX"],
         "Unknown country"),
        (["tokens", "add", "nobody@bank.example"], "No user with e-mail"),
        (["tokens", "add", "a@bank.example", "--scope", "everything"], "Unknown scope"),
    ]
    for args, message in cases:
        result = run(app, *args)
        assert result.exit_code != 0, args
        assert message in result.stderr, (args, result.output)
        assert result.stdout == ""
    assert (_count(Organisation), _count(User)) == (orgs, users)
    assert _count(ApiToken) == 0


def test_tokens_add_prints_only_the_token_and_stores_its_hash(app):
    run(app, "orgs", "add", "bank", "--name", "Bank", "--kind", "private", "--sector", "banking", "--country", "NZ")
    run(app, "users", "add", "a@bank.example", "--org", "bank", "--role", "viewer", "--clearance", "UNCLASSIFIED")
    result = run(app, "tokens", "add", "a@bank.example", "--scope", "bulletins:read", "--expires-days", "7")
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert token.startswith("psp_") and "\n" not in token
    stored = db.session.scalars(select(ApiToken)).one()
    assert stored.token_hash == hash_token(token) and token not in (stored.token_hash, stored.prefix)
    assert stored.scopes == ["bulletins:read"]
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.get_json()["email"] == "a@bank.example"


def test_jobs_run_once_and_audit_verify(app):
    assert run(app, "jobs", "run-once").exit_code == 0
    assert run(app, "audit", "verify").exit_code == 0


def test_demo_load_is_idempotent_and_audited(app):
    first = run(app, "demo", "load")
    assert first.exit_code == 0 and "Loaded" in first.output
    orgs, users = _count(Organisation), _count(User)
    assert orgs >= 15 and users >= 25
    second = run(app, "demo", "load")
    assert second.exit_code == 0 and "already loaded" in second.output
    assert (_count(Organisation), _count(User)) == (orgs, users)
    assert run(app, "audit", "verify").exit_code == 0


def test_demo_world_pages_render_for_each_kind_of_user(app):
    import pyotp

    from portal.demo.world import DEMO_PASSWORD
    from tests.conftest import sign_in

    assert run(app, "demo", "load").exit_code == 0
    visits = {
        "ben.risk@harbourbank.example": ["/submissions", "/submissions/SAR-2026-000001", "/submissions/new",
                                         "/scorecards"],
        "nadia.analyst@fiu.example": ["/submissions", "/submissions/SAR-2026-000001",
                                      "/submissions/SAR-2026-000001/goaml"],
        "mere.analyst@customs.example": ["/ratings", "/system-health", "/scorecards/harbour-bank", "/requests"],
        "malia.admin@police.ws.example": ["/deportee-notifications", "/deportee-notifications/1", "/scorecards"],
        "olivia.admin@harbourbank.example": ["/ratings", "/ratings/self", "/requests", "/requests/1"],
        "ruth.publisher@corrections.example": ["/deportee-notifications/new", "/deportee-notifications/1"],
        "admin@portal.example": ["/admin/deportee-routes"],
    }
    for email, paths in visits.items():
        user = db.session.scalar(select(User).where(User.email == email))
        if user.requires_totp and not user.totp_secret:
            user.totp_secret = pyotp.random_base32()
            db.session.commit()
        client = app.test_client()
        sign_in(client, user, password=DEMO_PASSWORD)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (email, path, response.status_code)
    nadia = app.test_client()
    sign_in(nadia, db.session.scalar(select(User).where(User.email == "nadia.analyst@fiu.example")),
            password=DEMO_PASSWORD)
    page = nadia.get("/submissions/SAR-2026-000001").get_data(as_text=True)
    assert "SAR-2026-000003" in page.split("Linked records")[1]
