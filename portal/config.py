"""Configuration: defaults from ``config/defaults.toml``, overridden by ``PORTAL_*`` variables.

Parsed once at start-up (``create_app``) into a frozen, typed :class:`Settings` (a pydantic model:
whole numbers are ``int``, switches ``bool``, secrets ``SecretStr`` that never show in a ``repr``,
a log line or a traceback); nothing changes it afterwards. Code reads it through one accessor,
:func:`settings`. Bad values stop the portal with a message naming the variable. Production refuses
to start without real secrets; development generates them into ``instance/secrets.toml`` on first
run. Settings an administrator changes at run time live in the database (:mod:`portal.settings_store`).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import re
import secrets
import tomllib
from pathlib import Path
from types import MappingProxyType
from collections import OrderedDict
from typing import TYPE_CHECKING, Annotated, Any, Mapping
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from pydantic import BaseModel, ConfigDict, PlainSerializer, SecretStr, SkipValidation, ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from portal.vocabulary import TLP, Classification

if TYPE_CHECKING:
    from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = ROOT / "config" / "defaults.toml"
ENV_PREFIX = "PORTAL_"
#: Values that must never be accepted as a production secret.
WEAK_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "development", "default"})
MIN_SECRET_LENGTH = 32
#: A data key's id (``PORTAL_DATA_KEYS``): stored beside each ciphertext, so short and plain.
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
#: Where attachments' bytes are kept (portal.attachments): in the database, or under attachments_dir.
ATTACHMENT_STORAGES = ("database", "directory")


class ConfigError(SystemExit):
    """A configuration value is missing or wrong; the message says which and how to fix it.

    A ``SystemExit`` so that ``flask`` and servers stop with the message alone (exit status 1),
    not a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"Configuration error: {message}")


def _thawed(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thawed(v) for v in value]
    return value


#: A TOML table, kept as the read-only proxy :func:`_frozen` built (dumped as plain dicts and lists).
Table = Annotated[Mapping[str, Any], SkipValidation, PlainSerializer(_thawed)]

#: Where the built settings hang on the Flask app; read them with :func:`settings`, never by this key.
EXTENSION = "portal_settings"


class Settings(BaseModel):
    """Every setting of ``config/defaults.toml``, typed. Frozen: ``create_app`` builds it once."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    env: str
    secret_key: SecretStr
    audit_key: SecretStr
    data_keys: SecretStr
    blind_index_key: SecretStr
    database_url: str
    base_url: str
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password: SecretStr
    smtp_security: str
    mail_from: str
    smtp_timeout_seconds: int
    email_ceiling_classification: str
    email_ceiling_tlp: str
    webhook_ceiling_classification: str
    webhook_ceiling_tlp: str
    webhook_allow_private_addresses: bool
    delivery_max_attempts: int
    delivery_retry_seconds: int
    delivery_retry_cap_seconds: int
    delivery_failing_after: int
    delivery_batch_size: int
    scheduler_tick_seconds: int
    audit_seal_seconds: int
    audit_seal_batch: int
    audit_checkpoint_seconds: int
    audit_unsealed_bound_seconds: int
    audit_lookback_seconds: int
    audit_sweep_minutes: int
    audit_log_origin: str
    session_idle_minutes: int
    session_absolute_hours: int
    reauth_minutes: int
    oidc_state_minutes: int
    oidc_timeout_seconds: int
    login_max_failures: int
    lockout_minutes: int
    address_max_failures: int
    address_window_minutes: int
    password_reset_minutes: int
    proxy_hops: int
    attachment_storage: str
    attachments_dir: str
    attachment_max_bytes: int
    json_max_bytes: int
    attachment_types: tuple[str, ...]
    default_language: str
    default_time_zone: str
    reporting_time_zone: str
    languages: tuple[str, ...]
    countries: tuple[str, ...]
    sectors: Table
    typologies: tuple[tuple[str, str], ...]
    submission_recipient_sectors: tuple[str, ...]
    submission_triage_hours: int
    submission_max_narrative: int
    submission_outcomes: tuple[tuple[str, str], ...]
    goaml: Table
    deportee_routes: Table
    oversight_orgs: tuple[str, ...]
    resilience: Table
    scorecards: Table
    deportee_reminder_hours: int
    deportee_escalate_hours: int
    deportee_retention_months: int
    instance_path: str

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def webhooks_may_reach_private_addresses(self) -> bool:
        return self.webhook_allow_private_addresses or not self.production

    @property
    def secure_transport(self) -> bool:
        return self.base_url.startswith("https://")

    # Size limits, derived here and nowhere else. An attachment is at most attachment_max_bytes; a body
    # without one (an API request's JSON, a TAXII envelope) at most json_max_bytes; a request that
    # carries attachments has that much room for the form or JSON around them.
    @property
    def api_body_max_bytes(self) -> int:
        """An API request's JSON body, unless its operation declares a larger limit (below)."""
        return self.json_max_bytes

    @property
    def taxii_envelope_max_bytes(self) -> int:
        """A TAXII envelope a writer sends (the API root announces it as ``max_content_length``)."""
        return self.json_max_bytes

    @property
    def misp_event_max_bytes(self) -> int:
        """A MISP event's JSON export (an API body, an uploaded file or pasted text): each attribute
        comes with its metadata, so twice a plain body's room."""
        return 2 * self.json_max_bytes

    @property
    def upload_body_max_bytes(self) -> int:
        """One attachment uploaded as multipart/form-data (or a form with one file), and its fields."""
        return self.attachment_max_bytes + self.json_max_bytes

    @property
    def deportee_body_max_bytes(self) -> int:
        """A deportee notification's JSON: its fields and one document."""
        return self.attachment_max_bytes + self.json_max_bytes

    @property
    def deportee_photo_max_bytes(self) -> int:
        """A deportee's photo: twice a plain body's room (2 MiB by default), and never more than
        fits, in base64 (4/3 of its size), in the attachment's share of a notification's body."""
        return min(2 * self.json_max_bytes, self.attachment_max_bytes * 3 // 4)

    @property
    def submission_draft_max_bytes(self) -> int:
        """A report's own JSON without attachments (a saved draft): twice a plain body's room."""
        return 2 * self.json_max_bytes

    @property
    def submission_body_max_bytes(self) -> int:
        """A report's JSON, which may carry its attachments in base64 (4/3 of their size): room for two
        of the largest, and for the report around them."""
        return self.attachment_max_bytes * 3 + self.submission_draft_max_bytes

    @property
    def request_max_bytes(self) -> int:
        """Flask's ``MAX_CONTENT_LENGTH``: the largest body any route accepts; each route's own limit
        (above) refuses earlier."""
        return max(self.api_body_max_bytes, self.taxii_envelope_max_bytes, self.misp_event_max_bytes,
                   self.upload_body_max_bytes, self.deportee_body_max_bytes, self.submission_body_max_bytes)

    def all_sectors(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for values in self.sectors.values():
            for value in values:
                seen.setdefault(value, None)
        return tuple(seen)


def _frozen(value: Any) -> Any:
    """A read-only copy of a TOML table (code lists must not change while the portal runs)."""
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def settings(app: Flask | None = None) -> Settings:
    """The portal's settings: those of ``app``, else of the current application."""
    return (app if app is not None else current_app).extensions[EXTENSION]


def install(app: Flask, value: Settings) -> None:
    """Hang ``value`` on ``app`` (``create_app`` does; tests swapping a setting do too)."""
    app.extensions[EXTENSION] = value


BOOLEANS = {"true": True, "false": False}


def _coerce(name: str, value: Any, target: Any) -> Any:
    """Convert an environment string (or a TOML value) to the type the field declares."""
    if target is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in BOOLEANS:
            return BOOLEANS[value.strip().lower()]
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be true or false, not {value!r}.")
    try:
        if target is int:
            if isinstance(value, bool):
                raise TypeError(name)
            return int(value)
        if target == tuple[str, ...]:
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(str(v) for v in value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be a whole number, not {value!r}.") from exc


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    instance_path: str | Path | None = None,
) -> Settings:
    """Read defaults, a ``PORTAL_CONFIG_FILE`` if given, ``PORTAL_*`` variables, then overrides."""
    environ = os.environ if environ is None else environ
    with DEFAULTS_FILE.open("rb") as fh:
        raw: dict[str, Any] = tomllib.load(fh)
    extra = environ.get(ENV_PREFIX + "CONFIG_FILE")
    if extra:
        try:
            with open(extra, "rb") as fh:
                raw.update(tomllib.load(fh))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{ENV_PREFIX}CONFIG_FILE {extra!r} cannot be read: {exc}") from exc

    fields = Settings.model_fields
    for name in fields:
        env_name = ENV_PREFIX + name.upper()
        if env_name in environ and name not in ("sectors", "instance_path", "goaml", "typologies", "submission_outcomes",
                                                              "deportee_routes", "resilience", "scorecards"):
            raw[name] = environ[env_name]
    if overrides:
        unknown = set(overrides) - set(fields)
        if unknown:
            raise ConfigError(f"Unknown settings: {', '.join(sorted(unknown))}.")
        raw.update(overrides)

    instance = Path(instance_path or environ.get(ENV_PREFIX + "INSTANCE_PATH") or ROOT / "instance")
    raw["instance_path"] = str(instance)
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name in ("typologies", "submission_outcomes"):
            values[name] = tuple((str(code), str(label)) for code, label in raw.get(name, []))
            continue
        if name in ("goaml", "resilience", "scorecards"):
            values[name] = _frozen(dict(raw.get(name, {})))
            continue
        if name == "deportee_routes":
            values[name] = MappingProxyType({str(k).upper(): tuple(v) for k, v in
                                             dict(raw.get("deportee_routes", {})).items()})
            continue
        if name == "sectors":
            values[name] = MappingProxyType(
                {kind: tuple(v) for kind, v in dict(raw.get("sectors", {})).items()}
            )
            continue
        if name not in raw:
            raise ConfigError(f"Setting {name!r} is missing from {DEFAULTS_FILE}.")
        target = str if field.annotation is SecretStr else field.annotation
        values[name] = _coerce(name, raw[name], target)

    values["env"] = values["env"].strip().lower()
    if not values["database_url"]:
        values["database_url"] = f"sqlite:///{instance / 'portal.sqlite3'}"
    values["base_url"] = values["base_url"].rstrip("/")
    if not values["audit_log_origin"]:
        values["audit_log_origin"] = urlparse(values["base_url"]).netloc + "/audit-log"
    values["attachment_storage"] = values["attachment_storage"].strip().lower()
    if not values["attachments_dir"]:
        values["attachments_dir"] = str(instance / "attachments")
    values.update(_secrets(values, instance))
    for name in (*SECRET_NAMES, "smtp_password"):
        values[name] = SecretStr(values[name])
    try:
        built = Settings(**values)
    except ValidationError as exc:  # a type the coercion above let through: name the variables
        names = ", ".join(ENV_PREFIX + str(error["loc"][0]).upper() for error in exc.errors())
        raise ConfigError(f"{names}: {exc}") from None
    validate(built)
    return built


SECRET_NAMES = ("secret_key", "audit_key", "data_keys", "blind_index_key")


def new_data_key() -> str:
    """A data-encryption key as configuration holds it: ``<key id>:<base64 of 32 random bytes>``."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S")
    return f"k{stamp}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}"


def parse_keys(spec: str) -> OrderedDict[str, bytes]:
    """The data keys of ``PORTAL_DATA_KEYS`` (``id:base64key,…``) by id, the encrypting key first;
    ValueError names what is wrong."""
    keys: OrderedDict[str, bytes] = OrderedDict()
    for item in (part.strip() for part in spec.split(",") if part.strip()):
        key_id, sep, encoded = item.partition(":")
        if not sep or not KEY_ID.match(key_id):
            raise ValueError("each key is '<id>:<base64 of 32 bytes>', the id being letters, digits, - or _")
        try:
            raw = base64.urlsafe_b64decode(encoded.encode() + b"=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"key {key_id!r} is not base64") from exc
        if len(raw) != 32:
            raise ValueError(f"key {key_id!r} must be 32 bytes (AES-256), not {len(raw)}")
        if key_id in keys:
            raise ValueError(f"key id {key_id!r} is listed twice")
        keys[key_id] = raw
    if not keys:
        raise ValueError("at least one key is needed: generate one with `flask --app app keys new`")
    return keys


def _generate(name: str) -> str:
    return new_data_key() if name == "data_keys" else secrets.token_urlsafe(48)


def _secrets(values: dict[str, Any], instance: Path) -> dict[str, str]:
    """Production takes secrets from the environment only; development generates them once (and
    adds any that a newer version needs, keeping those already there)."""
    if values["env"] == "production":
        for name in SECRET_NAMES:
            value = values[name]
            if value.strip().lower() in WEAK_SECRETS or len(value) < MIN_SECRET_LENGTH:
                raise ConfigError(
                    f"{ENV_PREFIX}{name.upper()} is missing, a default, or shorter than "
                    f"{MIN_SECRET_LENGTH} characters. Production will not start without a real "
                    f"secret: generate one with `python -c 'import secrets; "
                    f"print(secrets.token_urlsafe(48))'`"
                    + (" (for DATA_KEYS: `flask --app app keys new`)." if name == "data_keys" else ".")
                )
        return {name: values[name] for name in SECRET_NAMES}
    if all(values[name] for name in SECRET_NAMES):
        return {name: values[name] for name in SECRET_NAMES}
    path = instance / "secrets.toml"
    stored: dict[str, Any] = {}
    if path.exists():
        with path.open("rb") as fh:
            stored = tomllib.load(fh)
    missing = [name for name in SECRET_NAMES if not stored.get(name)]
    if missing:
        stored.update({name: _generate(name) for name in missing})
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("# Development secrets generated on first run. Never commit this file.\n")
            for key in SECRET_NAMES:
                fh.write(f'{key} = "{stored[key]}"\n')
    return {name: values[name] or stored[name] for name in SECRET_NAMES}


def validate(settings: Settings) -> None:
    """Fail loudly, naming the variable, on any value the portal cannot run with."""
    problems: list[str] = []
    if settings.env not in ("development", "production", "test"):
        problems.append(f"{ENV_PREFIX}ENV must be development, production or test, not {settings.env!r}.")
    try:
        url = make_url(settings.database_url)
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            problems.append(f"{ENV_PREFIX}DATABASE_URL must be an SQLite or PostgreSQL URL.")
    except ArgumentError:
        problems.append(f"{ENV_PREFIX}DATABASE_URL {settings.database_url!r} is not an SQLAlchemy URL.")
    parsed = urlparse(settings.base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        problems.append(f"{ENV_PREFIX}BASE_URL must be an http(s) address, not {settings.base_url!r}.")
    elif settings.production and parsed.scheme != "https":
        problems.append(f"{ENV_PREFIX}BASE_URL must use https in production.")
    if not 0 < settings.smtp_port < 65536:
        problems.append(f"{ENV_PREFIX}SMTP_PORT must be between 1 and 65535.")
    if settings.smtp_security not in ("none", "starttls", "tls"):
        problems.append(f"{ENV_PREFIX}SMTP_SECURITY must be none, starttls or tls.")
    for name in ("session_idle_minutes", "session_absolute_hours", "reauth_minutes", "oidc_state_minutes",
                 "oidc_timeout_seconds", "smtp_timeout_seconds", "delivery_max_attempts", "delivery_retry_seconds",
                 "delivery_retry_cap_seconds", "delivery_failing_after", "delivery_batch_size",
                 "scheduler_tick_seconds", "login_max_failures", "audit_seal_seconds", "audit_seal_batch",
                 "audit_checkpoint_seconds", "audit_unsealed_bound_seconds", "audit_lookback_seconds",
                 "audit_sweep_minutes",
                 "lockout_minutes", "address_max_failures", "address_window_minutes", "password_reset_minutes",
                 "attachment_max_bytes", "json_max_bytes"):
        if getattr(settings, name) < 1:
            problems.append(f"{ENV_PREFIX}{name.upper()} must be at least 1.")
    if not settings.audit_log_origin.strip() or "\n" in settings.audit_log_origin:
        problems.append(f"{ENV_PREFIX}AUDIT_LOG_ORIGIN must be one line naming this log, e.g. portal.example.govt.nz/audit-log.")
    if settings.attachment_storage not in ATTACHMENT_STORAGES:
        problems.append(f"{ENV_PREFIX}ATTACHMENT_STORAGE must be database (attachments in the database, which every "
                        f"host shares) or directory (files under {ENV_PREFIX}ATTACHMENTS_DIR, a directory every host "
                        f"must share), not {settings.attachment_storage!r}.")
    if settings.proxy_hops < 0:
        problems.append(f"{ENV_PREFIX}PROXY_HOPS must be 0 or more.")
    try:
        ZoneInfo(settings.default_time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"{ENV_PREFIX}DEFAULT_TIME_ZONE {settings.default_time_zone!r} is not an IANA time zone.")
    try:
        ZoneInfo(settings.reporting_time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"{ENV_PREFIX}REPORTING_TIME_ZONE {settings.reporting_time_zone!r} is not an IANA time zone.")
    if settings.default_language not in settings.languages:
        problems.append(f"{ENV_PREFIX}DEFAULT_LANGUAGE must be one of {', '.join(settings.languages)}.")
    try:
        parse_keys(settings.data_keys.get_secret_value())
    except ValueError as exc:
        problems.append(f"{ENV_PREFIX}DATA_KEYS: {exc}")
    for key in ("assessor_orgs", "tiers", "areas", "reassess_reminder_days"):
        if key not in settings.resilience:
            problems.append(f"The [resilience] table of the configuration lacks {key!r}.")
    for key in ("response_target_hours", "weights", "targets"):
        if key not in settings.scorecards:
            problems.append(f"The [scorecards] table of the configuration lacks {key!r}.")
    for name in ("deportee_reminder_hours", "deportee_escalate_hours", "deportee_retention_months"):
        if getattr(settings, name) < 1:
            problems.append(f"{ENV_PREFIX}{name.upper()} must be at least 1.")
    for name in ("submission_triage_hours", "submission_max_narrative"):
        if getattr(settings, name) < 1:
            problems.append(f"{ENV_PREFIX}{name.upper()} must be at least 1.")
    if not settings.submission_outcomes:
        problems.append("submission_outcomes must list at least one outcome.")
    for key in ("rentity_id", "currency_local", "report_code", "report_code_with_transactions", "submission_code",
                "default_indicator", "funds", "transmode", "indicators"):
        if key not in settings.goaml:
            problems.append(f"The [goaml] table of the configuration lacks {key!r}.")
    for code in settings.countries:
        if len(code) != 2 or not code.isupper() or not code.isalpha():
            problems.append(f"Country {code!r} is not an ISO 3166-1 alpha-2 code in upper case.")
    for channel in ("email", "webhook"):
        try:
            Classification.parse(getattr(settings, f"{channel}_ceiling_classification"))
        except ValueError as exc:
            problems.append(f"{ENV_PREFIX}{channel.upper()}_CEILING_CLASSIFICATION: {exc}")
        try:
            TLP.parse(getattr(settings, f"{channel}_ceiling_tlp"))
        except ValueError as exc:
            problems.append(f"{ENV_PREFIX}{channel.upper()}_CEILING_TLP: {exc}")
    if problems:
        raise ConfigError("Configuration problems:\n  - " + "\n  - ".join(problems))
