"""Sealing small secrets at rest (AES-256-GCM via ``cryptography``).

A sealed value is ``v1.<base64(nonce + ciphertext)>``; the key is derived from the portal's secret
key with HKDF and a *purpose*, so a value sealed for one purpose cannot be opened for another. The
version prefix leaves room for keys that rotate (deportee notifications bring per-record key ids).
"""
from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

PREFIX = "v1."


class SealError(ValueError):
    """The value was not sealed by this portal's key for this purpose (or was altered)."""


def _key(purpose: str) -> bytes:
    secret = current_app.extensions["portal_settings"].secret_key.encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"portal-seal", info=purpose.encode()).derive(secret)


def seal(plaintext: str, purpose: str) -> str:
    nonce = os.urandom(12)
    ciphertext = AESGCM(_key(purpose)).encrypt(nonce, plaintext.encode(), purpose.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + ciphertext).decode()


def unseal(sealed: str, purpose: str) -> str:
    if not sealed.startswith(PREFIX):
        raise SealError("not a sealed value")
    raw = base64.urlsafe_b64decode(sealed[len(PREFIX):].encode())
    try:
        return AESGCM(_key(purpose)).decrypt(raw[:12], raw[12:], purpose.encode()).decode()
    except InvalidTag as exc:
        raise SealError("cannot open: wrong key, wrong purpose or altered") from exc
