"""Federated sign-in against a real OpenID Connect provider (oidc-provider on Node.js).

The full authorization-code flow runs over HTTP: the portal redirects to the provider, the
provider's own sign-in and consent pages are answered, the provider redirects back, and the portal
exchanges the code at the provider's token endpoint. Refusals forge what a real attacker could.
"""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.federation.models import ExternalIdentity
from portal.vocabulary import Classification, Role
from tests.conftest import csrf_from, register_idp
from tests.idp import CLIENT_SECRET, TokenTamperProxy, b64


@pytest.fixture
def harbour(world):
    return world.org("harbour-bank", "private", "banking", name="Harbour Bank")


@pytest.fixture
def idp(oidc_provider, harbour):
    return register_idp(oidc_provider, "harbour-bank")


def oidc_sign_in(client, provider, login, name="harbour", consent=True, next_path=None):
    start = client.get(f"/auth/oidc/{name}/login" + (f"?next={next_path}" if next_path else ""))
    assert start.status_code == 302, start.get_data(as_text=True)[:300]
    assert start.headers["Location"].startswith(provider.issuer)
    callback = provider.authorize(start.headers["Location"], login, consent=consent)
    assert callback.startswith("http://localhost/auth/oidc/")
    return client.get(callback.removeprefix("http://localhost")), callback


def failures(reason=None):
    statement = select(AuditEntry).where(AuditEntry.action == "auth.oidc.failure")
    if reason:
        statement = statement.where(AuditEntry.reason == reason)
    return db.session.scalars(statement).all()


def test_login_page_lists_providers(client, idp):
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with Harbour Bank" in page and "/auth/oidc/harbour/login" in page


def test_authorization_request_uses_pkce_state_and_nonce(client, idp):
    location = client.get("/auth/oidc/harbour/login").headers["Location"]
    for parameter in ("code_challenge=", "code_challenge_method=S256", "state=", "nonce=",
                      "redirect_uri=http%3A%2F%2Flocalhost%2Fauth%2Foidc%2Fharbour%2Fcallback"):
        assert parameter in location, parameter


def test_existing_user_signs_in_and_is_linked(client, world, harbour, idp, oidc_provider):
    ben = world.user("ben@harbourbank.example", harbour, ("submitter",))
    response, _ = oidc_sign_in(client, oidc_provider, "ben", next_path="/bulletins")
    assert response.status_code == 302 and response.headers["Location"] == "/bulletins"
    assert client.get("/").status_code == 200
    assert db.session.scalar(select(ExternalIdentity.user_id)) == ben.id
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login.success")).one()
    assert '"method": "oidc:harbour"' in entry.details


def test_first_sign_in_creates_a_pending_user_who_waits(client, world, harbour, idp, oidc_provider):
    world.user("olivia@harbourbank.example", harbour, ("org-admin",))
    oidc_sign_in(client, oidc_provider, "newcomer")
    user = db.session.scalar(select(User).where(User.email == "aroha.new@harbourbank.example"))
    assert user.pending and user.roles == frozenset() and user.clearance is Classification.UNCLASSIFIED
    assert user.organisation_id == harbour.id
    for path in ("/", "/bulletins", "/profile", "/tokens"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/waiting", path
    assert "Waiting for approval" in client.get("/waiting").get_data(as_text=True)


def test_org_admin_is_told_and_approves(client, app, world, harbour, idp, oidc_provider):
    admin = world.user("olivia@harbourbank.example", harbour, ("org-admin",))
    oidc_sign_in(client, oidc_provider, "newcomer")
    newcomer = db.session.scalar(select(User).where(User.email == "aroha.new@harbourbank.example"))
    admin_client = app.test_client()
    from tests.conftest import sign_in

    sign_in(admin_client, admin)
    assert "1 person is waiting for your approval" in admin_client.get("/").get_data(as_text=True)
    page = admin_client.get(f"/admin/users/{newcomer.id}").get_data(as_text=True)
    response = admin_client.post(f"/admin/users/{newcomer.id}", data={
        "csrf_token": csrf_from(page), "roles": ["submitter"], "clearance": "IN-CONFIDENCE", "locale": "en",
        "time_zone": "Pacific/Auckland", "active": "y", "approve": "y", "display_name": "Aroha"})
    assert response.status_code == 302
    db.session.refresh(newcomer)
    assert not newcomer.pending and newcomer.roles == {Role.SUBMITTER}
    assert client.get("/").status_code == 200  # the waiting person is in now


def test_provider_cannot_sign_in_another_organisations_user(client, world, idp, oidc_provider):
    kowhai = world.org("kowhai-bank")
    world.user("lucy@kowhaibank.example", kowhai, ("submitter",))
    response, _ = oidc_sign_in(client, oidc_provider, "intruder")
    assert response.status_code == 403
    assert "belongs to another organisation" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert failures("other-organisation")
    assert db.session.scalar(select(func.count()).select_from(ExternalIdentity)) == 0


def test_unverified_email_is_refused(client, idp, oidc_provider):
    response, _ = oidc_sign_in(client, oidc_provider, "unverified")
    assert response.status_code == 403 and failures("unverified-email")
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_email_domain_restriction(client, oidc_provider, harbour):
    register_idp(oidc_provider, "harbour-bank", email_domains="harbourbank.example")
    response, _ = oidc_sign_in(client, oidc_provider, "elsewhere")
    assert response.status_code == 403 and failures("wrong-domain")


def test_deactivated_user_cannot_get_back_in(client, world, harbour, idp, oidc_provider):
    ben = world.user("ben@harbourbank.example", harbour, ("submitter",))
    oidc_sign_in(client, oidc_provider, "ben")
    ben.active = False
    db.session.commit()
    assert client.get("/").status_code == 302
    response, _ = oidc_sign_in(client, oidc_provider, "ben")
    assert response.status_code == 403 and failures("deactivated")


def test_roles_and_clearance_never_come_from_claims_unless_trusted(client, app, world, harbour, oidc_provider):
    register_idp(oidc_provider, "harbour-bank")
    tia = world.user("tia@harbourbank.example", harbour, ("viewer",), clearance="UNCLASSIFIED")
    oidc_sign_in(client, oidc_provider, "trusted")
    db.session.refresh(tia)
    assert tia.roles == {Role.VIEWER} and tia.clearance is Classification.UNCLASSIFIED

    register_idp(oidc_provider, "harbour-bank", name="trusted", trust_roles_claim=True, trust_clearance_claim=True)
    other = app.test_client()
    db.session.execute(ExternalIdentity.__table__.delete())
    db.session.commit()
    oidc_sign_in(other, oidc_provider, "trusted", name="trusted")
    db.session.refresh(tia)
    # A trusted provider sets roles and clearance, but never the portal-wide admin role.
    assert tia.roles == {Role.PUBLISHER, Role.VIEWER} and tia.clearance is Classification.SENSITIVE


def test_consent_denied(client, idp, oidc_provider):
    response, callback = oidc_sign_in(client, oidc_provider, "ben", consent=False)
    assert "error=access_denied" in callback
    assert response.status_code == 400 and "Sign-in cancelled" in response.get_data(as_text=True)
    assert failures("denied")


def test_replayed_callback_is_refused(client, world, harbour, idp, oidc_provider):
    world.user("ben@harbourbank.example", harbour, ("submitter",))
    first, callback = oidc_sign_in(client, oidc_provider, "ben")
    assert first.status_code == 302
    replay = client.get(callback.removeprefix("http://localhost"))
    assert replay.status_code == 400 and "expired" in replay.get_data(as_text=True)
    assert failures("state")
    stranger = client.application.test_client()
    assert stranger.get(callback.removeprefix("http://localhost")).status_code == 400


def test_expired_sign_in_window_is_refused(client, app, world, harbour, idp, oidc_provider):
    world.user("ben@harbourbank.example", harbour, ("submitter",))
    start = client.get("/auth/oidc/harbour/login")
    callback = oidc_provider.authorize(start.headers["Location"], "ben")
    with client.session_transaction() as session:
        for key in [k for k in session if k.startswith("_state_")]:
            session[key] = {**session[key], "exp": time.time() - 1}  # the person took too long
    response = client.get(callback.removeprefix("http://localhost"))
    assert response.status_code == 400 and failures("state")


def test_unknown_provider_is_a_clear_404(client):
    response = client.get("/auth/oidc/nobody/login")
    assert response.status_code == 404 and "No such sign-in service" in response.get_data(as_text=True)
    assert client.get("/auth/oidc/nobody/callback?code=x&state=y").status_code == 404
    assert failures("unknown")


def test_provider_down(client, idp):
    idp.issuer = "http://127.0.0.1:9"  # nothing listens on the discard port
    idp.metadata_fetched_at = None
    db.session.commit()
    response = client.get("/auth/oidc/harbour/login")
    assert response.status_code == 502 and "not answering" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True) and failures("unreachable")


def test_wrong_issuer_in_discovery_is_refused(app, client, oidc_provider, harbour):
    from portal.federation.registration import validate_provider

    values, errors = validate_provider({"name": "x", "issuer": oidc_provider.issuer.replace("127.0.0.1", "localhost"),
                                        "client_id": "portal", "client_secret": "s", "org": "harbour-bank"})
    assert "issuer" in errors and "wrong-issuer" in errors["issuer"][0]
    result = app.test_cli_runner().invoke(args=["idps", "add", "x", "--issuer", oidc_provider.issuer.replace(
        "127.0.0.1", "localhost"), "--client-id", "portal", "--client-secret", "s", "--org", "harbour-bank"])
    assert result.exit_code != 0 and "wrong-issuer" in result.output


# --- Forged ID tokens: a man in the middle of the token endpoint ----------------------------

@pytest.fixture
def mitm(oidc_provider, harbour, world):
    import json as _json

    world.user("ben@harbourbank.example", harbour, ("submitter",))
    idp = register_idp(oidc_provider, "harbour-bank", name="mitm")
    metadata = idp.server_metadata
    proxy = TokenTamperProxy(metadata["token_endpoint"], metadata["userinfo_endpoint"])
    metadata["token_endpoint"] = proxy.url
    metadata["userinfo_endpoint"] = proxy.userinfo_url
    idp.metadata_json = _json.dumps(metadata)
    db.session.commit()
    yield proxy
    proxy.stop()


def _forge(provider, **changes):
    def rewrite(id_token):
        header, claims = provider.claims_of(id_token)
        for key, value in changes.items():
            if value is None:
                claims.pop(key, None)
            else:
                claims[key] = value
        return provider.sign(header, claims)
    return rewrite


#: case → (the forgery, the status, the audited reason, what the audited detail names)
REFUSALS = {
    "tampered-signature": (lambda p: lambda t: t[:-6] + ("AAAAAA" if not t.endswith("AAAAAA") else "BBBBBB"),
                           400, "invalid-token", "bad_signature"),
    # Another audience: refused, as the token then lacks the authorised party (azp) naming the portal.
    "wrong-audience": (lambda p: _forge(p, aud="someone-else"), 400, "invalid-token", "'azp'"),
    # ... and even with an azp naming the portal, the audience itself is checked.
    "wrong-audience-naming-the-portal": (lambda p: _forge(p, aud="someone-else", azp="portal"),
                                         400, "invalid-token", "'aud'"),
    "wrong-issuer": (lambda p: _forge(p, iss="http://evil.example"), 502, "wrong-issuer", "'iss'"),
    "missing-nonce": (lambda p: _forge(p, nonce=None), 400, "invalid-token", "'nonce'"),
    "wrong-nonce": (lambda p: _forge(p, nonce="not-the-nonce-we-sent"), 400, "invalid-token", "'nonce'"),
    "expired": (lambda p: _forge(p, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
                400, "invalid-token", "expired"),
    "alg-none": (lambda p: lambda t: b64({"alg": "none", "typ": "JWT"}) + "." + t.split(".")[1] + ".",
                 400, "invalid-token", "none"),
    "hs256-with-client-secret": (lambda p: lambda t: __import__("joserfc").jwt.encode(
        {"alg": "HS256"}, p.claims_of(t)[1], __import__("joserfc").jwk.OctKey.import_key(CLIENT_SECRET)),
        400, "invalid-token", "HS256"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_forged_id_tokens_are_refused(client, mitm, oidc_provider, case):
    """The forged token reaches the portal (through the proxy on the token endpoint), and the portal
    refuses it for the reason the forgery gives: no other failure (an unreachable provider, a
    misconfiguration) passes this test."""
    forge, status, reason, named = REFUSALS[case]
    mitm.rewrite = forge(oidc_provider)
    response, _ = oidc_sign_in(client, oidc_provider, "ben", name="mitm")
    body = response.get_data(as_text=True)
    assert len(mitm.seen) == len(mitm.sent) == 1, case  # the provider issued one token, the portal got it
    assert mitm.sent[0] != mitm.seen[0], case  # forged on the way
    assert response.status_code == status, (case, response.status_code)
    assert "Traceback" not in body
    assert client.get("/").status_code == 302, case
    refused = failures()
    assert [entry.reason for entry in refused] == [reason], case
    assert named in json.loads(refused[0].details)["detail"], (case, refused[0].details)


def test_untampered_proxy_signs_in(client, mitm, oidc_provider):
    response, _ = oidc_sign_in(client, oidc_provider, "ben", name="mitm")
    assert response.status_code == 302 and client.get("/").status_code == 200


# --- Claims where the specification puts them: the ID token, or the UserInfo endpoint -------

def test_provider_in_its_default_configuration_signs_in_with_claims_from_userinfo(client, mitm, oidc_provider):
    """oidc-provider as it ships (conformIdTokenClaims on) leaves e-mail out of the ID token; the
    portal reads it from UserInfo, so sign-in works."""
    response, _ = oidc_sign_in(client, oidc_provider, "ben", name="mitm")
    assert response.status_code == 302 and client.get("/").status_code == 200
    _, id_token_claims = oidc_provider.claims_of(mitm.seen[-1])
    assert "email" not in id_token_claims and "email_verified" not in id_token_claims
    assert mitm.userinfo_calls == 1


def test_userinfo_about_another_subject_is_refused(client, mitm, oidc_provider):
    mitm.rewrite_userinfo = lambda answer: {**answer, "sub": "someone-else"}
    response, _ = oidc_sign_in(client, oidc_provider, "ben", name="mitm")
    assert mitm.userinfo_calls == 1  # the rewritten answer reached the portal
    assert response.status_code == 400 and client.get("/").status_code == 302
    assert [entry.reason for entry in failures()] == ["invalid-token"]
    assert "another subject" in json.loads(failures()[0].details)["detail"]


def test_userinfo_cannot_override_claims_in_the_id_token(client, world, harbour, mitm, oidc_provider):
    """The ID token says ben; a UserInfo answer naming someone else's address changes nothing."""
    world.user("lucy@harbourbank.example", harbour, ("submitter",))
    mitm.rewrite = _forge(oidc_provider, email="ben@harbourbank.example", email_verified=True)
    mitm.rewrite_userinfo = lambda answer: {**answer, "email": "lucy@harbourbank.example"}
    response, _ = oidc_sign_in(client, oidc_provider, "ben", name="mitm")
    assert response.status_code == 302 and mitm.userinfo_calls == 1  # asked for the claims it still lacked
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login.success")
                               .order_by(AuditEntry.id.desc())).first()
    assert entry is not None and entry.actor_email == "ben@harbourbank.example"


def test_keycloak_like_provider_signs_in_and_refuses_an_unverified_address(client, world, harbour,
                                                                          keycloak_provider):
    register_idp(keycloak_provider, "harbour-bank", name="keycloak")
    response, _ = oidc_sign_in(client, keycloak_provider, "newcomer", name="keycloak")
    assert response.status_code in (200, 302)
    assert db.session.scalar(select(User).where(User.email == "aroha.new@harbourbank.example")) is not None
    other = client.application.test_client()
    refused, _ = oidc_sign_in(other, keycloak_provider, "unverified", name="keycloak")
    assert refused.status_code in (400, 403) and failures("unverified-email")


# --- Sessions: re-authentication and RP-initiated logout -------------------------------------

def test_sensitive_action_asks_the_provider_again(client, app, world, harbour, idp, oidc_provider):
    world.user("ben@harbourbank.example", harbour, ("submitter",))
    oidc_sign_in(client, oidc_provider, "ben")
    assert client.get("/tokens/new").status_code == 200  # just signed in: recent enough
    with client.session_transaction() as session:
        session["auth_at"] -= 3600
    response = client.get("/tokens/new")
    assert response.status_code == 302 and "/auth/oidc/harbour/login?reauth=1" in response.headers["Location"]
    start = client.get(response.headers["Location"])
    assert "max_age=0" in start.headers["Location"] and "prompt=login" in start.headers["Location"]
    callback = oidc_provider.authorize(start.headers["Location"], "ben")
    back = client.get(callback.removeprefix("http://localhost"))
    assert back.status_code == 302 and back.headers["Location"] == "/tokens/new"
    assert client.get("/tokens/new").status_code == 200


def test_rp_initiated_logout(client, world, harbour, idp, oidc_provider):
    world.user("ben@harbourbank.example", harbour, ("submitter",))
    oidc_sign_in(client, oidc_provider, "ben")
    page = client.get("/")
    assert f"form-action 'self' {oidc_provider.issuer}" in page.headers["Content-Security-Policy"]
    response = client.post("/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    location = response.headers["Location"]
    assert location.startswith(oidc_provider.issuer + "/session/end")
    assert "id_token_hint=" in location and "post_logout_redirect_uri=http%3A%2F%2Flocalhost%2Flogin" in location
    assert client.get("/").status_code == 302


# --- Open redirects through the provider (issue 13, class 4) -----------------------------------

def test_class_open_redirect_oidc_sign_in_stays_on_the_site(app, world, harbour, idp, oidc_provider):
    from tests.redirects import HOSTILE, SAME_SITE, assert_all_stay_here

    world.user("ben@harbourbank.example", harbour, ("submitter",))
    answers, refused = {}, set()
    for value in HOSTILE + list(SAME_SITE):
        browser = app.test_client()
        start = browser.get("/auth/oidc/harbour/login?next=" + value)
        if start.status_code == 400:  # a NUL in the query: refused where requests are parsed (class 8)
            assert "Location" not in start.headers and "%00" in value, value
            refused.add(value)
            continue
        assert start.status_code == 302, value
        callback = oidc_provider.authorize(start.headers["Location"], "ben")
        response = browser.get(callback.removeprefix("http://localhost"))
        assert response.status_code == 302, (value, response.get_data(as_text=True)[:300])
        answers[value] = response.headers["Location"]
    assert_all_stay_here(answers)
    assert all(answers[value] == "/" for value in HOSTILE if value not in refused)
    assert {value: answers[value] for value in SAME_SITE} == SAME_SITE


def test_class_open_redirect_oidc_reauthentication_stays_on_the_site(client, world, harbour, idp, oidc_provider):
    from tests.redirects import HOSTILE, SAME_SITE, assert_all_stay_here

    world.user("ben@harbourbank.example", harbour, ("submitter",))
    oidc_sign_in(client, oidc_provider, "ben")
    answers, refused = {}, set()
    for value in HOSTILE + list(SAME_SITE):
        start = client.get("/auth/oidc/harbour/login?reauth=1&next=" + value)
        if start.status_code == 400:  # a NUL in the query: refused where requests are parsed (class 8)
            assert "Location" not in start.headers and "%00" in value, value
            refused.add(value)
            continue
        assert start.status_code == 302 and "max_age=0" in start.headers["Location"], value
        callback = oidc_provider.authorize(start.headers["Location"], "ben")
        response = client.get(callback.removeprefix("http://localhost"))
        assert response.status_code == 302, (value, response.get_data(as_text=True)[:300])
        answers[value] = response.headers["Location"]
    assert_all_stay_here(answers)
    assert all(answers[value] == "/" for value in HOSTILE if value not in refused)
    assert {value: answers[value] for value in SAME_SITE} == SAME_SITE
