"""Configuration: defaults, PORTAL_* overrides, validation, frozen, secrets."""
from __future__ import annotations

import logging
import os
import stat

import pytest
from pydantic import ValidationError

from portal.config import ConfigError, load_settings


def test_defaults_and_environment_overrides(tmp_path):
    settings = load_settings(environ={"PORTAL_SMTP_PORT": "2525", "PORTAL_SMTP_HOST": "mail.example",
                                      "PORTAL_MAIL_FROM": "portal@example.org",
                                      "PORTAL_BASE_URL": "https://portal.example/",
                                      "PORTAL_DATABASE_URL": "postgresql://u@db/portal",
                                      "PORTAL_LANGUAGES": "en,fr"}, instance_path=tmp_path)
    assert settings.smtp_port == 2525 and settings.smtp_host == "mail.example"
    assert settings.mail_from == "portal@example.org"
    assert settings.base_url == "https://portal.example"
    assert settings.database_url == "postgresql://u@db/portal"
    assert settings.languages == ("en", "fr")
    default = load_settings(environ={}, instance_path=tmp_path)
    assert default.database_url == f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    assert default.env == "development"


def test_attachments_are_kept_in_the_database_unless_told_otherwise(tmp_path):
    assert load_settings(environ={}, instance_path=tmp_path).attachment_storage == "database"
    chosen = load_settings(environ={"PORTAL_ATTACHMENT_STORAGE": " Directory ", "PORTAL_ATTACHMENTS_DIR": "/srv/shared"},
                           instance_path=tmp_path)
    assert chosen.attachment_storage == "directory" and chosen.attachments_dir == "/srv/shared"


def test_settings_are_frozen(tmp_path):
    settings = load_settings(environ={}, instance_path=tmp_path)
    with pytest.raises(ValidationError):
        settings.secret_key = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.sectors["private"] = ()  # type: ignore[index]


DATA_KEY = "k1:" + "A" * 43 + "="


def test_production_refuses_missing_data_keys_and_malformed_ones(tmp_path):
    base = {"PORTAL_ENV": "production", "PORTAL_SECRET_KEY": "s" * 48, "PORTAL_AUDIT_KEY": "a" * 48,
            "PORTAL_BASE_URL": "https://p.example", "PORTAL_BLIND_INDEX_KEY": "b" * 48}
    with pytest.raises(ConfigError) as info:
        load_settings(environ=base, instance_path=tmp_path)
    assert "PORTAL_DATA_KEYS" in str(info.value) and "keys new" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_settings(environ={**base, "PORTAL_DATA_KEYS": "k1:" + "A" * 60}, instance_path=tmp_path)
    assert "PORTAL_DATA_KEYS" in str(info.value) and "32 bytes" in str(info.value)


def test_development_adds_new_secrets_and_keeps_existing_ones(tmp_path):
    (tmp_path / "secrets.toml").write_text('secret_key = "%s"\naudit_key = "%s"\n' % ("s" * 48, "a" * 48))
    settings = load_settings(environ={}, instance_path=tmp_path)
    assert settings.secret_key.get_secret_value() == "s" * 48
    assert settings.data_keys.get_secret_value().startswith("k") and settings.blind_index_key.get_secret_value()


def test_development_generates_secrets_once_into_instance(tmp_path):
    first = load_settings(environ={}, instance_path=tmp_path)
    second = load_settings(environ={}, instance_path=tmp_path)
    path = tmp_path / "secrets.toml"
    assert path.exists() and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert first.secret_key == second.secret_key and len(first.secret_key.get_secret_value()) >= 32
    assert first.audit_key != first.secret_key


@pytest.mark.parametrize("secret", ["", "change-me", "short"])
def test_production_refuses_missing_default_or_short_secret(tmp_path, secret):
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"PORTAL_ENV": "production", "PORTAL_SECRET_KEY": secret,
                               "PORTAL_AUDIT_KEY": "a" * 48, "PORTAL_BASE_URL": "https://p.example",
                               "PORTAL_DATA_KEYS": DATA_KEY, "PORTAL_BLIND_INDEX_KEY": "b" * 48},
                      instance_path=tmp_path)
    assert "PORTAL_SECRET_KEY" in str(info.value)
    assert not (tmp_path / "secrets.toml").exists()


def test_production_starts_with_real_secrets(tmp_path):
    settings = load_settings(environ={"PORTAL_ENV": "production", "PORTAL_SECRET_KEY": "s" * 48,
                                      "PORTAL_AUDIT_KEY": "a" * 48, "PORTAL_BASE_URL": "https://p.example",
                                      "PORTAL_DATA_KEYS": DATA_KEY, "PORTAL_BLIND_INDEX_KEY": "b" * 48},
                             instance_path=tmp_path)
    assert settings.production and settings.secure_transport


@pytest.mark.parametrize("name, value, fragment", [
    ("PORTAL_SMTP_PORT", "seventy", "PORTAL_SMTP_PORT must be a whole number"),
    ("PORTAL_SMTP_PORT", "70000", "PORTAL_SMTP_PORT must be between"),
    ("PORTAL_DATABASE_URL", "mysql://x/y", "SQLite or PostgreSQL"),
    ("PORTAL_DATABASE_URL", "::nonsense::", "not an SQLAlchemy URL"),
    ("PORTAL_BASE_URL", "ftp://x", "PORTAL_BASE_URL"),
    ("PORTAL_DEFAULT_TIME_ZONE", "Mars/Olympus", "not an IANA time zone"),
    ("PORTAL_ENV", "staging", "PORTAL_ENV"),
    ("PORTAL_ATTACHMENT_STORAGE", "s3", "PORTAL_ATTACHMENT_STORAGE must be database"),
])
def test_bad_values_fail_loudly_naming_the_variable(tmp_path, name, value, fragment):
    with pytest.raises(ConfigError) as info:
        load_settings(environ={name: value}, instance_path=tmp_path)
    assert fragment in str(info.value)


def test_create_app_refuses_to_start_in_production_without_secret(tmp_path, monkeypatch):
    from app import create_app

    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    with pytest.raises(SystemExit):
        create_app({"instance_path": str(tmp_path)})


def test_secrets_never_show_in_a_repr_a_log_line_or_an_error(tmp_path, caplog):
    secret_values = {"PORTAL_SECRET_KEY": "S" * 48, "PORTAL_AUDIT_KEY": "A" * 48, "PORTAL_BLIND_INDEX_KEY": "B" * 48,
                     "PORTAL_DATA_KEYS": DATA_KEY, "PORTAL_SMTP_PASSWORD": "smtp-password-value"}
    settings = load_settings(environ=secret_values, instance_path=tmp_path)
    with caplog.at_level(logging.INFO):
        logging.getLogger("portal.test").info("settings: %s %r", settings, settings)
    shown = repr(settings) + str(settings) + caplog.text + str(settings.model_dump())
    for value in secret_values.values():
        assert value not in shown
    assert settings.smtp_password.get_secret_value() == "smtp-password-value"
    with pytest.raises(ConfigError) as info:  # a bad value next to secrets: the message names it, shows no secret
        load_settings(environ={**secret_values, "PORTAL_SMTP_PORT": "x"}, instance_path=tmp_path)
    assert all(value not in str(info.value) for value in secret_values.values())


@pytest.mark.parametrize("given, expected", [("true", True), ("FALSE", False), (" True ", True)])
def test_switches_are_booleans_from_toml_and_from_the_environment(tmp_path, given, expected):
    assert load_settings(environ={}, instance_path=tmp_path).webhook_allow_private_addresses is False
    chosen = load_settings(environ={"PORTAL_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": given}, instance_path=tmp_path)
    assert chosen.webhook_allow_private_addresses is expected


def test_a_switch_that_is_not_true_or_false_fails_naming_the_variable(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"PORTAL_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "yes please"}, instance_path=tmp_path)
    assert "PORTAL_WEBHOOK_ALLOW_PRIVATE_ADDRESSES must be true or false" in str(info.value)


def test_every_setting_has_a_declared_type_that_its_value_has(tmp_path):
    """No number or switch kept as text: each value is an instance of the type its field declares."""
    from pydantic import SecretStr

    settings = load_settings(environ={"PORTAL_SMTP_PORT": "2525"}, instance_path=tmp_path)
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        if field.annotation in (int, bool, str, SecretStr):
            assert type(value) is field.annotation, name
    assert settings.smtp_port == 2525


def test_size_limits_follow_the_attachment_limit(tmp_path):
    """MAX_CONTENT_LENGTH is derived from attachment_max_bytes, and is at least every route's own limit."""
    from app import create_app

    small = load_settings(environ={"PORTAL_ATTACHMENT_MAX_BYTES": str(1024 * 1024)}, instance_path=tmp_path)
    large = load_settings(environ={"PORTAL_ATTACHMENT_MAX_BYTES": str(40 * 1024 * 1024)}, instance_path=tmp_path)
    assert small.request_max_bytes < large.request_max_bytes
    for conf in (small, large):
        assert conf.request_max_bytes >= max(conf.submission_body_max_bytes, conf.deportee_body_max_bytes,
                                             conf.upload_body_max_bytes) > conf.attachment_max_bytes
    app = create_app({"env": "test", "instance_path": str(tmp_path), "attachment_max_bytes": 2 * 1024 * 1024})
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024 * 3 + 2 * 1024 * 1024


def test_bodies_without_attachments_follow_the_json_limit(tmp_path):
    """PORTAL_JSON_MAX_BYTES bounds an API request's JSON and a TAXII envelope (a MISP event: twice
    that), and is the room a request with attachments has beside them; below 1 stops the portal."""
    small = load_settings(environ={"PORTAL_JSON_MAX_BYTES": str(64 * 1024)}, instance_path=tmp_path)
    large = load_settings(environ={"PORTAL_JSON_MAX_BYTES": str(4 * 1024 * 1024)}, instance_path=tmp_path)
    for conf, limit in ((small, 64 * 1024), (large, 4 * 1024 * 1024)):
        assert conf.api_body_max_bytes == conf.taxii_envelope_max_bytes == limit
        assert conf.misp_event_max_bytes == conf.submission_draft_max_bytes == 2 * limit
        assert conf.upload_body_max_bytes == conf.deportee_body_max_bytes == conf.attachment_max_bytes + limit
        assert conf.submission_body_max_bytes == conf.attachment_max_bytes * 3 + 2 * limit
        assert conf.request_max_bytes >= max(conf.api_body_max_bytes, conf.submission_body_max_bytes)
    # A deportee's photo: twice the JSON limit, but never more than its base64 fits in an attachment's room.
    assert small.deportee_photo_max_bytes == 128 * 1024
    assert large.deportee_photo_max_bytes == large.attachment_max_bytes * 3 // 4 < 8 * 1024 * 1024
    with pytest.raises(ConfigError, match="PORTAL_JSON_MAX_BYTES must be at least 1"):
        load_settings(environ={"PORTAL_JSON_MAX_BYTES": "0"}, instance_path=tmp_path)


def test_run_time_settings_read_back_as_their_declared_type(app):
    from portal import settings_store
    from portal.extensions import db
    from portal.settings_store import DEMO_LOADED, SCORECARD_WATERMARK, PortalSetting

    with app.app_context():
        assert settings_store.read(DEMO_LOADED) is False and settings_store.read(SCORECARD_WATERMARK) == 0
        settings_store.write(DEMO_LOADED, True)
        settings_store.write(SCORECARD_WATERMARK, 41)
        assert settings_store.read(DEMO_LOADED) is True and settings_store.read(SCORECARD_WATERMARK) == 41
        with pytest.raises(TypeError):
            settings_store.write(DEMO_LOADED, "yes")  # type: ignore[arg-type]
        db.session.get(PortalSetting, DEMO_LOADED.key).value = "yes"  # written before settings were typed
        assert settings_store.read(DEMO_LOADED) is True
        db.session.get(PortalSetting, SCORECARD_WATERMARK.key).value = "true"
        with pytest.raises(ValueError):
            settings_store.read(SCORECARD_WATERMARK)
        db.session.rollback()
