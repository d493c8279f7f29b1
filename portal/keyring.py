"""Encryption of personal data at rest, with keys that rotate without downtime.

Keys come from configuration (``PORTAL_DATA_KEYS``): ``id:base64key,id2:base64key`` — the first
encrypts, every listed key decrypts. Each encrypted record stores the id of its key, so after a new
key is put first, ``flask --app app keys rotate`` re-encrypts old records while the portal keeps
serving them; the old key is removed from configuration afterwards.

AES-256-GCM (``cryptography``) with a random 96-bit nonce; the associated data binds a ciphertext to
its record and field, so a value copied into another record does not decrypt.

Exact-match lookups (a passport number) go through a keyed hash — HMAC-SHA256 under
``PORTAL_BLIND_INDEX_KEY`` — so the database never holds the value, only a digest that is useless
without the key.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections import OrderedDict
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from portal.config import parse_keys, settings

class DecryptError(ValueError):
    """A record's key is not configured, or the ciphertext was altered."""


def _keys() -> OrderedDict[str, bytes]:
    cache = current_app.extensions.setdefault("portal_keyring", {})
    spec = settings().data_keys.get_secret_value()
    if cache.get("spec") != spec:
        cache.update(spec=spec, keys=parse_keys(spec))
    return cache["keys"]


def current_key_id() -> str:
    return next(iter(_keys()))


def encrypt(plaintext: bytes, context: str) -> tuple[str, bytes]:
    """(key id, nonce + ciphertext) under the current key, bound to ``context``."""
    key_id, key = next(iter(_keys().items()))
    nonce = os.urandom(12)
    return key_id, nonce + AESGCM(key).encrypt(nonce, plaintext, context.encode())


def decrypt(key_id: str, blob: bytes, context: str) -> bytes:
    key = _keys().get(key_id)
    if key is None:
        raise DecryptError(f"key {key_id!r} is not configured (was it removed before `keys rotate` finished?)")
    try:
        return AESGCM(key).decrypt(blob[:12], blob[12:], context.encode())
    except InvalidTag as exc:
        raise DecryptError("cannot decrypt: wrong key, wrong record or altered") from exc


def encrypt_json(value: Any, context: str) -> tuple[str, bytes]:
    return encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(), context)


def decrypt_json(key_id: str, blob: bytes, context: str) -> Any:
    return json.loads(decrypt(key_id, blob, context))


def blind_index(kind: str, value: str) -> str:
    """A keyed hash of a normalised value: equal values give equal digests; the digest reveals nothing."""
    key = settings().blind_index_key.get_secret_value().encode()
    return hmac.new(key, f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()
