"""API tokens in the browser, and re-authentication before sensitive actions (local accounts)."""
from __future__ import annotations

import re

from sqlalchemy import select

from portal.accounts.models import ApiToken, hash_token
from portal.audit.models import AuditEntry
from portal.extensions import db
from tests.conftest import PASSWORD, csrf_from, next_code, sign_in


def _create(client, **data):
    page = client.get("/tokens/new")
    assert page.status_code == 200
    form = {"name": "Case system", "expires_days": "30", "csrf_token": csrf_from(page.get_data(as_text=True))}
    form.update(data)
    return client.post("/tokens/new", data=form)


def test_create_shows_token_once_and_stores_only_its_hash(client, world):
    user = world.user("s@bank.example", world.org("bank"), ("submitter",))
    sign_in(client, user)
    response = _create(client, scopes=["bulletins:read", "submissions:read"], allowed_networks="127.0.0.0/8")
    assert response.status_code == 302
    page = client.get("/tokens").get_data(as_text=True)
    token = re.search(r"(psp_[A-Za-z0-9_-]{20,})", page).group(1)
    stored = db.session.scalars(select(ApiToken)).one()
    assert stored.token_hash == hash_token(token) and stored.allowed_networks == "127.0.0.0/8"
    assert stored.scopes == ["bulletins:read", "submissions:read"]
    assert token not in client.get("/tokens").get_data(as_text=True)  # shown once only
    api = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.get_json()["scopes"] == ["bulletins:read", "submissions:read"]


def test_bad_token_input_is_refused_and_nothing_stored(client, world):
    user = world.user("s@bank.example", world.org("bank"))
    sign_in(client, user)
    for data in ({"allowed_networks": "not-a-network"}, {"expires_days": "0"}, {"expires_days": "9999"},
                 {"name": ""}, {"scopes": ["everything"]}):
        assert _create(client, **data).status_code == 400, data
    assert db.session.scalars(select(ApiToken)).all() == []


def test_revoke_stops_the_token(client, world):
    user = world.user("s@bank.example", world.org("bank"))
    sign_in(client, user)
    _create(client)
    page = client.get("/tokens").get_data(as_text=True)
    token = re.search(r"(psp_[A-Za-z0-9_-]{20,})", page).group(1)
    stored = db.session.scalars(select(ApiToken)).one()
    response = client.post(f"/tokens/{stored.id}/revoke", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "api_token.revoke")) is not None


def test_org_admin_sees_and_revokes_its_organisations_tokens_only(client, app, world):
    bank, other = world.org("bank"), world.org("other")
    owner = world.user("s@bank.example", bank)
    outsider = world.user("x@other.example", other)
    for person in (owner, outsider):
        token, _ = ApiToken.issue(person, f"{person.email} system", [], None)
        db.session.add(token)
    db.session.commit()
    admin = world.user("oa@bank.example", bank, ("org-admin",))
    sign_in(client, admin)
    page = client.get("/tokens").get_data(as_text=True)
    assert "s@bank.example system" in page and "x@other.example system" not in page
    foreign = db.session.scalar(select(ApiToken).where(ApiToken.user_id == outsider.id))
    assert client.post(f"/tokens/{foreign.id}/revoke", data={"csrf_token": csrf_from(page)}).status_code == 404
    db.session.refresh(foreign)
    assert foreign.revoked_at is None


def test_api_use_is_audited_with_the_token(client, world):
    user = world.user("s@bank.example", world.org("bank"))
    token, clear = ApiToken.issue(user, "t", [], None)
    db.session.add(token)
    db.session.commit()
    client.get("/api/v1/bulletins", headers={"Authorization": f"Bearer {clear}"})
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "bulletin.list")).one()
    assert f'"token": {token.id}' in entry.details


def test_every_use_and_every_refusal_is_audited(client, world):
    from portal.types import utcnow

    user = world.user("s@bank.example", world.org("bank"))
    token, clear = ApiToken.issue(user, "t", [], None)
    db.session.add(token)
    db.session.commit()
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {clear}"})
    client.get("/api/v1/me", headers={"Authorization": "Bearer psp_guess"})
    token.revoked_at = utcnow()
    db.session.commit()
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {clear}"})
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.reason) for e in entries] == [
        ("api.call", ""), ("api.auth.failure", "unknown"), ("api.auth.failure", "expired, revoked or user inactive")]
    assert f'"token": {token.id}' in entries[0].details and entries[2].object_id == str(token.id)


def test_pending_user_gets_no_token(app, world):
    user = world.user("p@bank.example", world.org("bank"), pending=True)
    token, clear = ApiToken.issue(user, "t", [], None)
    db.session.add(token)
    db.session.commit()
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {clear}"}).status_code == 401
    result = app.test_cli_runner().invoke(args=["tokens", "add", "p@bank.example"])
    assert result.exit_code != 0 and "awaits approval" in result.output


def test_local_reauthentication_before_sensitive_actions(client, world):
    admin = world.user("oa@bank.example", world.org("bank"), ("org-admin",))
    sign_in(client, admin)
    assert client.get("/admin/users/new").status_code == 200
    with client.session_transaction() as session:
        session["auth_at"] -= 3600
    for path in ("/admin/users/new", "/tokens/new"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/reauth?next="), path
    page = client.get("/reauth?next=/tokens/new").get_data(as_text=True)
    wrong = client.post("/reauth?next=/tokens/new", data={"password": "wrong", "code": "000000",
                                                          "csrf_token": csrf_from(page)})
    assert wrong.status_code == 401
    db.session.refresh(admin)
    ok = client.post("/reauth?next=/tokens/new", data={"password": PASSWORD, "code": next_code(admin),
                                                       "csrf_token": csrf_from(page)})
    assert ok.status_code == 302 and ok.headers["Location"] == "/tokens/new"
    assert client.get("/tokens/new").status_code == 200
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.reauthenticate")) is not None


def test_audit_export_needs_a_recent_sign_in(client, world):
    auditor = world.user("a@fiu.example", world.org("fiu", "government", "fiu"), ("auditor",))
    sign_in(client, auditor)
    assert client.get("/audit/export.csv").status_code == 200
    with client.session_transaction() as session:
        session["auth_at"] -= 3600
    assert client.get("/audit/export.csv").headers["Location"].startswith("/reauth")


def test_admin_registers_a_provider_in_the_browser(client, world, oidc_provider):
    world.org("harbour-bank", name="Harbour Bank")
    admin = world.user("admin@portal.example", world.org("ops", "government", "customs"), ("admin",))
    sign_in(client, admin)
    page = client.get("/admin/identity-providers/new").get_data(as_text=True)
    bad = client.post("/admin/identity-providers/new", data={
        "csrf_token": csrf_from(page), "name": "harbour", "org": "harbour-bank", "issuer": "http://127.0.0.1:9",
        "client_id": "portal", "client_secret": "s"})
    assert bad.status_code == 400 and "could not be used" in bad.get_data(as_text=True)
    good = client.post("/admin/identity-providers/new", data={
        "csrf_token": csrf_from(page), "name": "harbour", "org": "harbour-bank", "issuer": oidc_provider.issuer,
        "client_id": "portal", "client_secret": "portal-test-client-secret", "email_domains": "harbourbank.example"})
    assert good.status_code == 302
    from portal.federation.models import IdentityProvider

    provider = db.session.scalars(select(IdentityProvider)).one()
    assert provider.client_secret == "portal-test-client-secret"
    assert "portal-test-client-secret" not in provider.client_secret_sealed  # sealed at rest
    listing = client.get("/admin/identity-providers").get_data(as_text=True)
    assert "http://localhost/auth/oidc/harbour/callback" in listing
    assert "Sign in with Harbour Bank" in client.application.test_client().get("/login").get_data(as_text=True)


def test_idps_add_command(app, world, oidc_provider):
    world.org("harbour-bank")
    result = app.test_cli_runner().invoke(args=["idps", "add", "harbour", "--issuer", oidc_provider.issuer,
                                                "--client-id", "portal", "--client-secret", "x", "--org",
                                                "harbour-bank"])
    assert result.exit_code == 0, result.output
    assert "http://localhost/auth/oidc/harbour/callback" in result.output
    unknown = app.test_cli_runner().invoke(args=["idps", "add", "other", "--issuer", oidc_provider.issuer,
                                                 "--client-id", "p", "--client-secret", "x", "--org", "nope"])
    assert unknown.exit_code != 0 and "No organisation" in unknown.output
