"""The Ed25519 keys that sign the audit log's checkpoints, and the checkpoint text they sign.

A key's private half is sealed under the data keys (``portal/crypto.py``), so it rotates with them
and a copy of the database alone cannot sign. One key is active; ``flask --app app audit keys
rotate`` makes a new one active and retires the old, whose public half stays published so that
every checkpoint it signed still verifies.
"""
from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select

from portal import crypto
from portal.audit.models import AuditSigningKey
from portal.extensions import db
from portal.types import utcnow

PURPOSE = "audit-signing-key"


class SigningKeyProblem(RuntimeError):
    """There is no active signing key, or there already is one."""


def key_id_for(public_raw: bytes) -> str:
    """A key's id: the first 16 hex digits of SHA-256 of its raw public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def _raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def active_key() -> AuditSigningKey | None:
    return db.session.scalar(select(AuditSigningKey).where(AuditSigningKey.retired_at.is_(None))
                             .order_by(AuditSigningKey.created_at.desc()).limit(1))


def all_keys() -> list[AuditSigningKey]:
    return list(db.session.scalars(select(AuditSigningKey).order_by(AuditSigningKey.created_at)))


def create_key(retire_current: bool = False) -> AuditSigningKey:
    """A new active key (the caller commits). Refuses when one is active and ``retire_current`` is
    false; otherwise retires it."""
    current = active_key()
    if current is not None and not retire_current:
        raise SigningKeyProblem(f"Signing key {current.key_id} is already active: use `audit keys rotate` to replace it.")
    now = utcnow()
    if current is not None:
        current.retired_at = now
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
    public = _raw_public(private)
    key_id = key_id_for(public)
    row = AuditSigningKey(key_id=key_id, public_key=base64.b64encode(public).decode(),
                          private_key=crypto.seal(base64.b64encode(raw_private).decode(), f"{PURPOSE}:{key_id}"),
                          created_at=now)
    db.session.add(row)
    db.session.flush()
    return row


def sign(row: AuditSigningKey, text: str) -> str:
    raw = base64.b64decode(crypto.unseal(row.private_key, f"{PURPOSE}:{row.key_id}"))
    return base64.b64encode(Ed25519PrivateKey.from_private_bytes(raw).sign(text.encode())).decode()


def signature_valid(public_key_b64: str, text: str, signature_b64: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), text.encode())
        return True
    except (InvalidSignature, ValueError):
        return False


def checkpoint_text(origin: str, size: int, root: bytes) -> str:
    """A C2SP tlog-checkpoint body: origin, tree size in decimal, root hash in base64, each on a line."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def parse_checkpoint_text(text: str) -> tuple[str, int, bytes] | None:
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "" or not lines[0] or not lines[1].isdigit():
        return None
    if lines[1] != str(int(lines[1])):  # no leading zeros
        return None
    try:
        root = base64.b64decode(lines[2], validate=True)
    except ValueError:
        return None
    return (lines[0], int(lines[1]), root) if len(root) == 32 else None
