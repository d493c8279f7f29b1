"""OpenID Connect with Authlib: discovery we check ourselves, the code flow with PKCE, state and
nonce, and the mapping of a verified identity to a portal user.

Authlib validates the ID token's signature (against the provider's JWKS), issuer, audience,
expiry and nonce. We pin what Authlib is given: the discovery document's issuer must equal the
registered issuer exactly, and only asymmetric signing algorithms are accepted (never ``none``,
never an HMAC keyed with the client secret).
"""
from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import requests
from authlib.integrations.flask_client import FlaskOAuth2App, FlaskIntegration
from flask import session
from sqlalchemy import select

from portal import permissions
from portal.accounts.models import User
from portal.config import settings
from portal.dates import time_zone_for_country
from portal.extensions import db
from portal.federation.models import ExternalIdentity, IdentityProvider
from portal.types import utcnow
from portal.vocabulary import Classification, Role

#: Signing algorithms we accept for ID tokens.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
#: Roles a trusted provider may assert; portal-wide powers are granted in the portal only.
CLAIMABLE_ROLES = frozenset(Role) - permissions.PORTAL_ROLES
ROLES_CLAIM, CLEARANCE_CLAIM = "portal_roles", "portal_clearance"
METADATA_MAX_AGE = dt.timedelta(hours=1)
SCOPE = "openid email profile"


class ProviderProblem(Exception):
    """Something about the provider or its answer that a person should be told plainly.

    ``kind`` is one of: unreachable, wrong-issuer, bad-metadata, denied, state, invalid-token,
    unverified-email, wrong-domain, other-organisation, deactivated, reauth-too-old.
    """

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail = kind, detail


def _timeout() -> int:
    return settings().oidc_timeout_seconds


def discover(issuer: str) -> dict[str, Any]:
    """Fetch and check the provider's discovery document."""
    issuer = issuer.rstrip("/")
    url = issuer + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=_timeout())
        response.raise_for_status()
        metadata = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderProblem("unreachable", f"{url}: {exc}") from exc
    if not isinstance(metadata, dict):
        raise ProviderProblem("bad-metadata", "the discovery document is not a JSON object")
    if str(metadata.get("issuer", "")).rstrip("/") != issuer:
        raise ProviderProblem("wrong-issuer", f"the provider says its issuer is {metadata.get('issuer')!r}, "
                                              f"not {issuer!r}")
    missing = [key for key in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not metadata.get(key)]
    if missing:
        raise ProviderProblem("bad-metadata", "the discovery document lacks " + ", ".join(missing))
    if "code" not in metadata.get("response_types_supported", ["code"]):
        raise ProviderProblem("bad-metadata", "the provider does not support the authorization-code flow")
    algorithms = [a for a in metadata.get("id_token_signing_alg_values_supported", ["RS256"])
                  if a in ASYMMETRIC_ALGORITHMS]
    if not algorithms:
        raise ProviderProblem("bad-metadata", "the provider signs ID tokens with no algorithm we accept")
    metadata["id_token_signing_alg_values_supported"] = algorithms
    if settings().production:
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if urlparse(metadata[key]).scheme != "https":
                raise ProviderProblem("bad-metadata", f"{key} must use https")
    keep = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint",
            "end_session_endpoint", "id_token_signing_alg_values_supported", "code_challenge_methods_supported",
            "token_endpoint_auth_methods_supported")
    return {key: metadata[key] for key in keep if key in metadata}


def refresh_metadata(provider: IdentityProvider, force: bool = False) -> dict[str, Any]:
    fresh = provider.metadata_fetched_at and utcnow() - provider.metadata_fetched_at < METADATA_MAX_AGE
    if fresh and not force and provider.server_metadata:
        return provider.server_metadata
    metadata = discover(provider.issuer)
    provider.metadata_json = json.dumps(metadata, sort_keys=True)
    provider.metadata_fetched_at = utcnow()
    return metadata


class _StateIntegration(FlaskIntegration):
    """Authlib keeps the state (and nonce, PKCE verifier) in the signed session.

    Ours expires after ``oidc_state_minutes``, and the expiry is enforced when the state is read:
    Authlib itself only prunes expired entries *other* than the one being used.
    """

    def __init__(self, name: str, minutes: int) -> None:
        super().__init__(name)
        self.expires_in = minutes * 60

    def get_state_data(self, session: Any, state: str) -> Any:
        entry = session.get(f"_state_{self.name}_{state}")
        if not entry or not isinstance(entry.get("exp"), (int, float)) or entry["exp"] < time.time():
            return None
        return super().get_state_data(session, state)


class _Registry:
    """Authlib's OAuth registry wants apps at start-up; ours come from the database at run time."""

    framework = None

    def __init__(self) -> None:
        self._clients: dict[tuple[int, str, str], FlaskOAuth2App] = {}

    def client(self, provider: IdentityProvider) -> FlaskOAuth2App:
        metadata = provider.server_metadata
        key = (provider.id, provider.updated_at.isoformat(), provider.metadata_json)
        if key not in self._clients:
            conf = settings()
            app = FlaskOAuth2App(
                framework=_StateIntegration(f"oidc-{provider.name}", conf.oidc_state_minutes),
                name=provider.name,
                client_id=provider.client_id,
                client_secret=provider.client_secret,
                client_kwargs={"scope": SCOPE, "code_challenge_method": "S256", "default_timeout": _timeout()},
                **metadata,
            )
            self._clients = {k: v for k, v in self._clients.items() if k[0] != provider.id}
            self._clients[key] = app
        return self._clients[key]


registry = _Registry()


#: Claims the portal reads. The specification lets a provider send them in the ID token or only from
#: its UserInfo endpoint (panva's oidc-provider and Okta do the latter by default), so both count.
WANTED_CLAIMS = ("email", "email_verified", "name", ROLES_CLAIM, CLEARANCE_CLAIM)


def sign_in_claims(client: FlaskOAuth2App, token: dict[str, Any]) -> dict[str, Any]:
    """The person's claims: the validated ID token's, completed from the UserInfo endpoint when it
    lacks any the portal reads (OpenID Connect Core 5.3, 5.4). The UserInfo answer must be about the
    same person: its ``sub`` must equal the ID token's (5.3.2), or the sign-in is refused. Claims in
    the ID token win over UserInfo's.

    The ID token's audience must name this portal (Core 3.1.3.7, step 3): Authlib checks the
    authorised party (``azp``) but not ``aud`` itself, so a token issued to another client that names
    the portal only as ``azp`` would otherwise pass."""
    claims = dict(token.get("userinfo") or {})
    audience = claims.get("aud")
    if client.client_id not in (audience if isinstance(audience, list) else [audience]):
        raise ProviderProblem("invalid-token", f"invalid_claim: Invalid claim 'aud': {audience!r} does not name "
                                               f"this portal's client id")
    if all(name in claims for name in WANTED_CLAIMS) or not client.server_metadata.get("userinfo_endpoint"):
        return claims
    answer = client.userinfo(token=token)
    if not isinstance(answer, dict) or not claims.get("sub") or answer.get("sub") != claims["sub"]:
        raise ProviderProblem("invalid-token", "the UserInfo answer is about another subject than the ID token")
    for name, value in answer.items():
        claims.setdefault(name, value)
    return claims


def provider_by_name(name: str) -> IdentityProvider | None:
    return db.session.scalar(select(IdentityProvider).where(IdentityProvider.name == name,
                                                            IdentityProvider.active.is_(True)))


@dataclass
class SignInOutcome:
    user: User
    created: bool
    linked: bool


def resolve_user(provider: IdentityProvider, claims: dict[str, Any]) -> SignInOutcome:
    """Map verified ID-token claims to a portal user of the provider's organisation.

    Never lets a provider sign in someone of another organisation; a first sign-in by an unknown
    person creates a pending user with no roles and the lowest clearance.
    """
    subject = str(claims.get("sub") or "")
    if not subject:
        raise ProviderProblem("invalid-token", "the ID token has no subject")
    identity = db.session.scalar(select(ExternalIdentity).where(ExternalIdentity.provider_id == provider.id,
                                                                ExternalIdentity.subject == subject))
    created = linked = False
    if identity is not None:
        user = db.session.get(User, identity.user_id)
        assert user is not None
    else:
        email = str(claims.get("email") or "").strip().lower()
        if not email or claims.get("email_verified") is not True:
            raise ProviderProblem("unverified-email", email)
        if not provider.allows_email(email):
            raise ProviderProblem("wrong-domain", email)
        found = db.session.scalar(select(User).where(User.email == email))
        if found is None:
            conf = settings()
            found = User(email=email, organisation_id=provider.organisation_id, pending=True,
                         clearance=Classification.UNCLASSIFIED, display_name=str(claims.get("name") or "")[:200],
                         locale=conf.default_language,
                         time_zone=time_zone_for_country(provider.organisation.country, conf.default_time_zone))
            db.session.add(found)
            db.session.flush()
            created = True
        elif found.organisation_id != provider.organisation_id:
            raise ProviderProblem("other-organisation", email)
        user = found
        identity = ExternalIdentity(provider_id=provider.id, subject=subject, user_id=user.id)
        db.session.add(identity)
        linked = True
    if user.organisation_id != provider.organisation_id:
        raise ProviderProblem("other-organisation", user.email)
    if not user.is_active:
        raise ProviderProblem("deactivated", user.email)
    identity.last_seen_at = utcnow()
    _apply_trusted_claims(provider, user, claims)
    return SignInOutcome(user, created, linked)


def _apply_trusted_claims(provider: IdentityProvider, user: User, claims: dict[str, Any]) -> None:
    if provider.trust_roles_claim and isinstance(claims.get(ROLES_CLAIM), list):
        roles = set()
        for value in claims[ROLES_CLAIM]:
            try:
                role = Role.parse(value)
            except ValueError:
                continue
            if role in CLAIMABLE_ROLES:
                roles.add(role)
        user.set_roles(roles | (user.roles - CLAIMABLE_ROLES))
    if provider.trust_clearance_claim and CLEARANCE_CLAIM in claims:
        try:
            user.clearance = Classification.parse(claims[CLEARANCE_CLAIM])
        except ValueError:
            pass  # above the accreditation or unknown: keep what the portal has


def logout_origin() -> str | None:
    """The provider's origin, which the sign-out form may be redirected to (CSP form-action)."""
    data = session.get("oidc") or {}
    provider = provider_by_name(data.get("provider", "")) if data else None
    endpoint = provider.server_metadata.get("end_session_endpoint") if provider else None
    if not endpoint:
        return None

    parsed = urlparse(endpoint)
    return f"{parsed.scheme}://{parsed.netloc}"
