"""Accounts: validation of users, local sign-in with throttling, and TOTP second factor."""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

import pyotp
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from portal import permissions
from portal.accounts.models import User
from portal.accounts.passwords import hash_password, needs_rehash, verify_password
from portal.audit import trail
from portal.audit.models import AuditEntry
from portal.config import settings
from portal.dates import time_zone_for_country
from portal.extensions import db
from portal.federation.models import IdentityProvider
from portal.i18n import gettext as _
from portal.i18n import is_time_zone
from portal.organisations.models import Organisation
from portal.types import utcnow
from portal.vocabulary import Classification, Role

API_SCOPES = (
    "bulletins:read", "bulletins:write", "submissions:read", "submissions:write",
    "notifications:read", "notifications:write", "scorecards:read", "audit:read",
)


def normalise_email(value: str) -> str:
    return value.strip().lower()


def validate_user_fields(data: dict[str, Any], granter: User | None = None,
                         default_time_zone: str | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Clean roles, clearance, locale and time zone; a granter may not exceed its own clearance.
    Without a time zone, ``default_time_zone`` (the organisation's country's) or the portal's."""
    conf = settings()
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    roles: set[Role] = set()
    for raw in data.get("roles") or []:
        try:
            roles.add(Role.parse(raw))
        except ValueError as exc:
            errors.setdefault("roles", []).append(str(exc))
    values["roles"] = roles
    try:
        clearance = Classification.parse(data.get("clearance"))
        values["clearance"] = clearance
        if granter is not None and not permissions.may_grant_clearance(granter, clearance):
            errors["clearance"] = [_("You cannot grant a clearance above your own (%(own)s).",
                                     own=granter.clearance.label)]
    except ValueError as exc:
        errors["clearance"] = [str(exc)]
    if granter is not None and not all(permissions.may_grant_role(granter, r) for r in roles):
        errors.setdefault("roles", []).append(_("Only a portal administrator grants the admin or auditor role."))
    locale = str(data.get("locale") or conf.default_language)
    if locale not in conf.languages:
        errors["locale"] = [_("Choose one of the offered languages: %(langs)s.", langs=", ".join(conf.languages))]
    values["locale"] = locale
    time_zone = str(data.get("time_zone") or default_time_zone or conf.default_time_zone)
    if not is_time_zone(time_zone):
        errors["time_zone"] = [_("%(tz)s is not a time zone; use a name such as Pacific/Apia.", tz=time_zone)]
    values["time_zone"] = time_zone
    values["display_name"] = str(data.get("display_name") or "").strip()[:200]
    return values, errors


def validate_new_user(data: dict[str, Any], granter: User | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    org = data.get("organisation")
    slug = ""
    if org is None:
        slug = str(data.get("org") or "").strip().lower()
        org = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
    # A new person's time zone, unless given, is their organisation's country's (not Auckland for all).
    values, errors = validate_user_fields(
        data, granter, time_zone_for_country(org.country, settings().default_time_zone) if org is not None else None)
    if org is None:
        errors["org"] = [_("No organisation with slug %(slug)r. Create it first with `orgs add`.", slug=slug)]
    else:
        values["organisation"] = org
    try:
        email = validate_email(str(data.get("email") or ""), check_deliverability=False).normalized.lower()
        values["email"] = email
    except EmailNotValidError as exc:
        errors["email"] = [_("%(email)r is not a valid e-mail address: %(why)s", email=data.get("email"), why=str(exc))]
        return values, errors
    # Checked before whether the address exists, so that an org-admin learns that only of addresses
    # at its own organisation's domains.
    if granter is not None and org is not None and not permissions.may_add_address(
            granter, email, organisation_domains(org)):
        errors["email"] = [_("You can add addresses at your organisation's own domains only (%(domains)s). "
                             "Ask a portal administrator to add another address.",
                             domains=", ".join(sorted(organisation_domains(org))) or "—")]
    elif db.session.scalar(select(User.id).where(User.email == email)) is not None:
        errors["email"] = [_("A user with e-mail %(email)s already exists.", email=email)]
    return values, errors


def organisation_domains(org: Organisation) -> set[str]:
    """The e-mail domains an organisation's people use: its members' and its identity providers'."""
    members = db.session.scalars(select(User.email).where(User.organisation_id == org.id))
    domains = {email.rsplit("@", 1)[-1].lower() for email in members}
    for idp in db.session.scalars(select(IdentityProvider).where(IdentityProvider.organisation_id == org.id)):
        domains.update(idp.domains)
    return domains


# --- Sign-in ---------------------------------------------------------------------------------

class SignIn(enum.Enum):
    OK = "ok"
    BAD_CREDENTIALS = "bad-credentials"
    LOCKED = "locked"
    THROTTLED = "throttled"


@dataclass
class SignInResult:
    outcome: SignIn
    user: User | None = None


def address_throttled(source_ip: str) -> bool:
    """Too many failed sign-ins from this address recently (counted from the audit trail)."""
    conf = settings()
    since = utcnow() - dt.timedelta(minutes=conf.address_window_minutes)
    failures = db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "auth.login.failure",
            AuditEntry.source_ip == source_ip,
            AuditEntry.occurred_at >= since,
        )
    )
    return (failures or 0) >= conf.address_max_failures


def check_password(email: str, password: str, source_ip: str) -> SignInResult:
    """First factor. Records failures; the caller records success after the second factor."""
    conf = settings()
    email = normalise_email(email)
    if address_throttled(source_ip):
        trail.record("auth.login.failure", "user", actor_email=email, reason="address throttled")
        db.session.commit()
        return SignInResult(SignIn.THROTTLED)
    user = db.session.scalar(select(User).where(User.email == email))
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        verify_password(None, password)  # same work as a real attempt
        trail.record("auth.login.failure", "user", user.id, user.organisation.slug, actor_email=email,
                     reason="account locked")
        db.session.commit()
        return SignInResult(SignIn.LOCKED)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        if user is not None and not ok:
            user.failed_logins += 1
            if user.failed_logins >= conf.login_max_failures:
                user.locked_until = now + dt.timedelta(minutes=conf.lockout_minutes)
                user.failed_logins = 0
        why = "unknown account" if user is None else ("inactive account" if ok else "wrong password")
        trail.record("auth.login.failure", "user", user.id if user else "", user.organisation.slug if user else "",
                     actor_email=email, reason=why)
        db.session.commit()
        return SignInResult(SignIn.BAD_CREDENTIALS)
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    db.session.commit()
    return SignInResult(SignIn.OK, user)


def verify_password_for(user: User, password: str) -> bool:
    return verify_password(user.password_hash, password)


def reauthenticate(user: User, password: str, code: str | None, source_ip: str) -> SignIn:
    """A signed-in person proves it is still them (password, and the code when ``code`` is not None):
    under the same per-address throttle and account lockout as signing in, counted the same way
    (``auth.login.failure`` entries and the user's failure count). Commits its audit entries; on
    success the caller records the re-authentication."""
    if address_throttled(source_ip):
        trail.record("auth.login.failure", "user", user.id, user.organisation.slug, actor_email=user.email,
                     reason="address throttled", step="re-authentication")
        db.session.commit()
        return SignIn.THROTTLED
    if user.locked_until is not None and user.locked_until > utcnow():
        verify_password(None, password)  # same work as a real attempt
        trail.record("auth.login.failure", "user", user.id, user.organisation.slug, actor_email=user.email,
                     reason="account locked", step="re-authentication")
        db.session.commit()
        return SignIn.LOCKED
    ok = verify_password(user.password_hash, password)
    if ok and code is not None:
        ok = verify_totp(user, user.totp_secret or "", code)
    if not ok:
        _count_failure(user, "wrong password or second-factor code", step="re-authentication")
        return SignIn.BAD_CREDENTIALS
    user.failed_logins = 0
    return SignIn.OK


def record_sign_in(user: User, method: str) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    trail.record("auth.login.success", "user", user.id, user.organisation.slug, actor=user, method=method)
    db.session.commit()


def record_second_factor_failure(user: User) -> None:
    """A wrong TOTP code counts towards the same lockout as a wrong password."""
    _count_failure(user, "wrong second-factor code")


def _count_failure(user: User, reason: str, **details: Any) -> None:
    conf = settings()
    user.failed_logins += 1
    if user.failed_logins >= conf.login_max_failures:
        user.locked_until = utcnow() + dt.timedelta(minutes=conf.lockout_minutes)
        user.failed_logins = 0
    trail.record("auth.login.failure", "user", user.id, user.organisation.slug, actor_email=user.email,
                 reason=reason, **details)
    db.session.commit()


# --- TOTP ------------------------------------------------------------------------------------

TOTP_ISSUER = "Partner Sharing Portal"


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def verify_totp(user: User, secret: str, code: str) -> bool:
    """Accept the current code (±1 step for clock drift), never one already used."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    now = utcnow()
    for drift in (-1, 0, 1):
        moment = now + dt.timedelta(seconds=30 * drift)
        step = totp.timecode(moment)
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if pyotp.utils.strings_equal(totp.at(moment), code):
            user.totp_last_step = step
            if user.totp_secret_needs_sealing and secret == user.totp_secret:
                user.totp_secret = secret  # seal a secret stored in clear by an earlier version
            return True
    return False
