"""Configuration: defaults, PORTAL_* overrides, validation, frozen, secrets."""
from __future__ import annotations

import dataclasses
import os
import stat

import pytest

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
    with pytest.raises(dataclasses.FrozenInstanceError):
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
    assert settings.secret_key == "s" * 48 and settings.data_keys.startswith("k") and settings.blind_index_key


def test_development_generates_secrets_once_into_instance(tmp_path):
    first = load_settings(environ={}, instance_path=tmp_path)
    second = load_settings(environ={}, instance_path=tmp_path)
    path = tmp_path / "secrets.toml"
    assert path.exists() and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert first.secret_key == second.secret_key and len(first.secret_key) >= 32
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
