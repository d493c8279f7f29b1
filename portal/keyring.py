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

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
from collections import OrderedDict
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from portal.config import settings

KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class DecryptError(ValueError):
    """A record's key is not configured, or the ciphertext was altered."""


def parse_keys(spec: str) -> OrderedDict[str, bytes]:
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
