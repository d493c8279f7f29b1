"""Sealing small secrets at rest (AES-256-GCM via ``cryptography``): identity-provider client
secrets, webhook secrets, TOTP secrets.

A sealed value is ``v2.<key id>.<base64(nonce + ciphertext)>`` under the current key of
``PORTAL_DATA_KEYS`` (``portal/keyring.py``), with the *purpose* as associated data, so a value
sealed for one purpose cannot be opened for another, and ``flask --app app keys rotate`` re-seals
it under a new key like any other encrypted record.

Values sealed by earlier versions (``v1.``: a key derived from ``PORTAL_SECRET_KEY`` with HKDF)
still open, and are re-sealed as ``v2`` by ``keys rotate``.
"""
from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from portal import keyring
from portal.config import settings

PREFIX = "v2."
LEGACY_PREFIX = "v1."


class SealError(ValueError):
    """The value was not sealed by this portal's keys for this purpose (or was altered)."""


def is_sealed(value: str | None) -> bool:
    return bool(value) and value.startswith((PREFIX, LEGACY_PREFIX))  # type: ignore[union-attr]


def key_id_of(sealed: str) -> str | None:
    """The key a ``v2`` value is sealed under; None for a legacy ``v1`` value."""
    return sealed.split(".", 2)[1] if sealed.startswith(PREFIX) else None


def seal(plaintext: str, purpose: str) -> str:
    key_id, blob = keyring.encrypt(plaintext.encode(), purpose)
    return f"{PREFIX}{key_id}.{base64.urlsafe_b64encode(blob).decode()}"


def unseal(sealed: str, purpose: str) -> str:
    if sealed.startswith(LEGACY_PREFIX):
        return _unseal_legacy(sealed, purpose)
    if not sealed.startswith(PREFIX) or sealed.count(".") < 2:
        raise SealError("not a sealed value")
    _version, key_id, encoded = sealed.split(".", 2)
    try:
        return keyring.decrypt(key_id, base64.urlsafe_b64decode(encoded.encode()), purpose).decode()
    except (keyring.DecryptError, binascii.Error) as exc:
        raise SealError(f"cannot open: {exc}") from exc


def needs_resealing(sealed: str | None) -> bool:
    """Sealed under a key other than the current one (or in the legacy form)."""
    return is_sealed(sealed) and key_id_of(sealed) != keyring.current_key_id()  # type: ignore[arg-type]


def _legacy_key(purpose: str) -> bytes:
    secret = settings().secret_key.get_secret_value().encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"portal-seal", info=purpose.encode()).derive(secret)


def _unseal_legacy(sealed: str, purpose: str) -> str:
    raw = base64.urlsafe_b64decode(sealed[len(LEGACY_PREFIX):].encode())
    try:
        return AESGCM(_legacy_key(purpose)).decrypt(raw[:12], raw[12:], purpose.encode()).decode()
    except InvalidTag as exc:
        raise SealError("cannot open: wrong key, wrong purpose or altered") from exc
