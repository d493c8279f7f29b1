"""The command line of docs/contract.md: ``flask --app app orgs|users|tokens|demo|audit|jobs …``.

Errors go to stderr with a non-zero exit and say what to fix (click.ClickException does both).
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from portal import attachments, crypto, keyring
from portal.accounts.models import ApiToken, User
from portal.accounts.passwords import hash_password, password_problem
from portal.accounts.service import API_SCOPES, validate_new_user
from portal.audit import log as audit_log
from portal.audit import signing, trail
from portal.audit.verify import verify
from portal.config import new_data_key, settings
from portal.demo.world import load_demo
from portal.deportees import service
from portal.extensions import db
from portal.federation.models import IdentityProvider
from portal.federation.registration import apply, validate_provider
from portal.jobs import run_due_jobs
from portal.organisations.models import Organisation
from portal.organisations.service import validate_new_organisation
from portal.scorecards import compute, periods
from portal.types import utcnow

orgs_cli = AppGroup("orgs", help="Manage organisations.")
users_cli = AppGroup("users", help="Manage users.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")
audit_cli = AppGroup("audit", help="The audit trail.")
jobs_cli = AppGroup("jobs", help="Scheduled jobs.")
demo_cli = AppGroup("demo", help="Demonstration data.")
idps_cli = AppGroup("idps", help="OpenID Connect identity providers.")
keys_cli = AppGroup("keys", help="Keys that encrypt personal data.")
attachments_cli = AppGroup("attachments", help="Where attachments' bytes are kept.")
scorecards_cli = AppGroup("scorecards", help="Sharing-maturity scorecards.")


def _fail(message: str) -> None:
    db.session.rollback()
    raise click.ClickException(message)


@orgs_cli.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="The organisation's full name.")
@click.option("--kind", required=True, help="government, private or pacific.")
@click.option("--sector", required=True, help="For example customs, banking, police.")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 code, e.g. NZ, WS.")
def orgs_add(slug: str, name: str, kind: str, sector: str, country: str) -> None:
    """Create an organisation."""
    values, errors = validate_new_organisation(
        {"slug": slug, "name": name, "kind": kind, "sector": sector, "country": country}
    )
    if errors:
        _fail(_describe(errors))
    org = Organisation(**values)
    db.session.add(org)
    db.session.flush()
    trail.record("organisation.create", "organisation", org.id, org.slug, source_ip="cli", slug=org.slug)
    db.session.commit()
    click.echo(f"Created organisation {org.slug} ({org.name}).")


@users_cli.command("add")
@click.argument("email")
@click.option("--org", "org_slug", required=True, help="Slug of the user's organisation.")
@click.option("--role", "roles", multiple=True, help="A role; repeat for several.")
@click.option("--clearance", required=True, help="UNCLASSIFIED, IN-CONFIDENCE, SENSITIVE or RESTRICTED.")
@click.option("--password", default=None, help="A local password (at least 12 characters).")
@click.option("--name", "display_name", default="", help="The person's name.")
@click.option("--locale", default=None, help="Language code, e.g. en, mi, sm, to, fj, fr.")
@click.option("--time-zone", default=None, help="IANA time zone, e.g. Pacific/Apia.")
def users_add(email: str, org_slug: str, roles: tuple[str, ...], clearance: str, password: str | None,
              display_name: str, locale: str | None, time_zone: str | None) -> None:
    """Create an active user."""
    conf = settings()
    values, errors = validate_new_user({
        "email": email, "org": org_slug, "roles": list(roles), "clearance": clearance,
        "display_name": display_name, "locale": locale or conf.default_language,
        "time_zone": time_zone,  # none given: the organisation's country's
    })
    if password is not None and (problem := password_problem(password)):
        errors.setdefault("password", []).append(problem)
    if errors:
        _fail(_describe(errors))
    user = User(**{k: v for k, v in values.items() if k != "roles"})
    user.set_roles(values["roles"])
    if password:
        user.password_hash = hash_password(password)
    db.session.add(user)
    db.session.flush()
    trail.record("user.create", "user", user.id, user.organisation.slug, source_ip="cli",
                 email=user.email, roles=sorted(r.value for r in user.roles), clearance=user.clearance.label)
    db.session.commit()
    click.echo(f"Created user {user.email} in {user.organisation.slug}.")


@tokens_cli.command("add")
@click.argument("email")
@click.option("--scope", "scopes", multiple=True, help="A scope; repeat for several. None: the user's rights.")
@click.option("--expires-days", type=click.IntRange(1, 3650), default=90, show_default=True)
@click.option("--name", default="command line", help="What the token is for.")
def tokens_add(email: str, scopes: tuple[str, ...], expires_days: int, name: str) -> None:
    """Print a new API token, alone, on stdout."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        _fail(f"No user with e-mail {email!r}. Create one first with `flask --app app users add`.")
    assert user is not None
    if not user.may_read:
        _fail(f"User {user.email} is not active or awaits approval; a token for them would not work.")
    unknown = [s for s in scopes if s not in API_SCOPES]
    if unknown:
        _fail(f"Unknown scope(s) {', '.join(unknown)}: use one of {', '.join(API_SCOPES)}.")
    token, clear = ApiToken.issue(user, name, list(scopes), utcnow() + dt.timedelta(days=expires_days))
    db.session.add(token)
    db.session.flush()
    trail.record("token.create", "api_token", token.id, user.organisation.slug, actor=user, source_ip="cli",
                 scopes=token.scopes, expires_at=token.expires_at)
    db.session.commit()
    click.echo(clear)


@idps_cli.command("add")
@click.argument("name")
@click.option("--issuer", required=True, help="The provider's issuer URL (its discovery document is fetched).")
@click.option("--client-id", required=True, help="The client ID the provider issued to the portal.")
@click.option("--client-secret", required=True, help="The client secret the provider issued to the portal.")
@click.option("--org", "org_slug", required=True, help="Slug of the organisation whose people sign in with it.")
@click.option("--display-name", default="", help='Shown as "Sign in with …" (default: the organisation\'s name).')
@click.option("--email-domain", "domains", multiple=True, help="Only e-mail addresses of this domain; repeatable.")
def idps_add(name: str, issuer: str, client_id: str, client_secret: str, org_slug: str, display_name: str,
             domains: tuple[str, ...]) -> None:
    """Register an OpenID Connect identity provider for an organisation."""
    values, errors = validate_provider({"name": name, "issuer": issuer, "client_id": client_id,
                                        "client_secret": client_secret, "org": org_slug,
                                        "display_name": display_name, "email_domains": ",".join(domains)})
    if errors:
        _fail(_describe(errors))
    provider = IdentityProvider()
    apply(provider, values)
    db.session.add(provider)
    db.session.flush()
    trail.record("identity_provider.create", "identity_provider", provider.id, org_slug, source_ip="cli",
                 name=provider.name, issuer=provider.issuer)
    db.session.commit()
    base = settings().base_url
    click.echo(f"Registered {provider.name} for {org_slug}. Give the provider this redirect URI: "
               f"{base}/auth/oidc/{provider.name}/callback")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Exit 0 when the audit log is intact; 1, naming the first problem, otherwise. Never seals."""
    report = verify()
    if report.problem is not None:
        click.echo(f"Audit log broken at {report.problem}.", err=True)
        sys.exit(1)
    click.echo(f"Audit trail intact: {report.entries} entries verified ({report.sealed} sealed under "
               f"{report.checkpoints} signed checkpoint(s), {report.unsealed} awaiting sealing).")


@audit_cli.command("seal")
def audit_seal() -> None:
    """Seal waiting entries and sign a checkpoint if one is due (what the scheduler does every few seconds)."""
    result = audit_log.seal_under_lease()
    if result is None:
        _fail("Another process is sealing the audit log right now; try again in a few seconds.")
    click.echo(f"Sealed {result.sealed} entries; the tree holds {result.tree_size}"
               + (f"; signed a checkpoint of size {result.checkpoint}." if result.checkpoint else "."))


audit_keys_cli = AppGroup("keys", help="The Ed25519 keys that sign the audit log's checkpoints.")
audit_cli.add_command(audit_keys_cli)


@audit_keys_cli.command("new")
def audit_keys_new() -> None:
    """Create the first signing key (refused when one is active: use rotate)."""
    _new_signing_key(rotate=False)


@audit_keys_cli.command("rotate")
def audit_keys_rotate() -> None:
    """Create a new signing key and retire the active one (its public key stays published)."""
    _new_signing_key(rotate=True)


def _new_signing_key(rotate: bool) -> None:
    try:
        previous = signing.active_key()
        key = signing.create_key(retire_current=rotate)
    except signing.SigningKeyProblem as exc:
        _fail(str(exc))
    trail.record("audit.key.rotate" if rotate else "audit.key.create", "audit_signing_key", key.key_id,
                 source_ip="cli", retired=previous.key_id if previous is not None and rotate else None)
    db.session.commit()
    click.echo(f"Signing key {key.key_id} is active; public key (base64): {key.public_key}"
               + (f"; key {previous.key_id} is retired." if previous is not None and rotate else ""))


@click.command("scheduler")
def scheduler_command() -> None:
    """Run due jobs as they fall due (APScheduler), until stopped. One per deployment is enough;
    more are safe, since every job runs under a database lease."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    app = current_app._get_current_object()
    tick = settings(app).scheduler_tick_seconds

    seal_every = settings(app).audit_seal_seconds

    def tick_once() -> None:
        with app.app_context():
            run_due_jobs()

    def seal_once() -> None:
        with app.app_context():
            try:
                audit_log.seal_under_lease()
            except Exception:  # logged by the sequencer; tried again at the next tick
                pass

    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(tick_once, "interval", seconds=tick, max_instances=1, coalesce=True, id="portal-jobs")
    # The audit sequencer has a loop of its own, so it never waits behind a long job.
    scheduler.add_job(seal_once, "interval", seconds=seal_every, max_instances=1, coalesce=True, id="audit-seal")
    click.echo(f"Scheduler running: looking for due jobs every {tick} s, sealing the audit log every "
               f"{seal_every} s. Stop with Ctrl+C.")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


@jobs_cli.command("run-once")
def jobs_run_once() -> None:
    """Run every due scheduled job once and exit."""
    ran = run_due_jobs()
    if audit_log.seal_under_lease() is not None:  # after the jobs, so that their entries are sealed too
        ran.append(audit_log.SEAL_JOB.name)
    click.echo(f"Ran {len(ran)} due job(s)" + (": " + ", ".join(ran) if ran else "."))


@demo_cli.command("load")
def demo_load() -> None:
    """Load the demonstration organisations, users and content (once)."""
    if settings().production:
        _fail("Refusing to load demonstration data in production.")
    created = load_demo()
    if created:
        click.echo("Loaded the demonstration world. Accounts are listed in README.md.")
    else:
        click.echo("The demonstration world is already loaded.")


@keys_cli.command("new")
def keys_new() -> None:
    """Print a new data-encryption key, as PORTAL_DATA_KEYS takes it (put it first to start using it)."""
    click.echo(new_data_key())


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt personal data held under older keys with the first key of PORTAL_DATA_KEYS.
    Safe while the portal runs: records are re-encrypted in small committed batches."""
    try:
        current = keyring.current_key_id()
        notifications, updates = service.rotate()
        secrets = service.reseal_secrets()
    except (keyring.DecryptError, crypto.SealError) as exc:
        _fail(f"{exc}. Keep every old key in PORTAL_DATA_KEYS until rotation has finished.")
    click.echo(f"Re-encrypted {notifications} notification(s), {updates} update note(s) and {secrets} secret(s) "
               f"under key {current}. Keys other than {current} may now be removed from PORTAL_DATA_KEYS.")


@attachments_cli.command("import-directory")
def attachments_import_directory() -> None:
    """Copy attachments' files from PORTAL_ATTACHMENTS_DIR into the database store (idempotent).

    Run it on every host that kept files of its own; files already in the database are skipped."""
    directory = Path(settings().attachments_dir)
    if not directory.is_dir():
        _fail(f"{directory} is not a directory: set PORTAL_ATTACHMENTS_DIR to where the files are kept.")
    done = attachments.import_directory()
    click.echo(f"Copied {len(done.copied)} file(s) from {directory} into the database; "
               f"{len(done.already)} were there already.")
    if done.missing:
        click.echo(f"{len(done.missing)} attachment(s) have no file under {directory}: run this command on the "
                   f"host that kept them (first: {done.missing[0]}).", err=True)
    if done.damaged:
        click.echo(f"{len(done.damaged)} file(s) differ from their attachment's SHA-256 and were not copied: "
                   + ", ".join(done.damaged), err=True)
        sys.exit(1)


@orgs_cli.command("set-executive")
@click.argument("slug")
@click.option("--name", required=True, help="The accountable executive's name.")
@click.option("--email", required=True, help="Their e-mail address (need not be a portal user's).")
def orgs_set_executive(slug: str, name: str, email: str) -> None:
    """Name the executive told when the organisation closes a period below its sharing target."""
    org = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        _fail(f"No organisation {slug!r}: see flask --app app orgs add.")
    email = email.strip()
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        _fail(f"--email {email!r} is not an e-mail address.")
    org.executive_name, org.executive_email = name.strip()[:200], email
    trail.record("organisation.executive", "organisation", org.id, org.slug, source_ip="cli")
    db.session.commit()
    click.echo(f"{org.slug}: accountable executive {org.executive_name} <{org.executive_email}>.")


@scorecards_cli.command("recompute")
@click.option("--period", "period_keys", multiple=True, required=True,
              help="2026-11, 2026-Q4 or FY2026/27; repeat for several.")
def scorecards_recompute(period_keys: tuple[str, ...]) -> None:
    """Recount periods in the reporting time zone and rescore them (closed ones too). Idempotent."""
    for key in period_keys:
        try:
            periods.months_of(key)
        except ValueError:
            _fail(f"--period {key!r} is not a period: use YYYY-MM, YYYY-QN or FYYYYY/YY (e.g. FY2026/27).")
    for key in period_keys:
        try:
            written = compute.recompute(key)
        except compute.ConcurrentRun as exc:
            _fail(str(exc))
        trail.record("scorecards.recompute", "organisation", source_ip="cli", period=key)
        db.session.commit()
        changed = ", ".join(f"{p}: {n}" for p, n in written.items() if n) or "nothing changed"
        click.echo(f"Recomputed {key} ({periods.zone().key}): {changed}.")


def _describe(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{field}: {' '.join(str(m) for m in messages)}" for field, messages in errors.items())


def init_app(app: Flask) -> None:
    for group in (orgs_cli, users_cli, tokens_cli, audit_cli, jobs_cli, demo_cli, idps_cli, keys_cli,
                  attachments_cli, scorecards_cli, scheduler_command):
        app.cli.add_command(group)

