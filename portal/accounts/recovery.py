"""One-time recovery codes: the way back in when the authenticator app is lost.

Ten codes are made when a person sets up the second factor (at sign-in or from the profile) and
shown once; each may be given instead of the six-digit code, once. Making new ones (from the
profile, after re-authenticating) invalidates the old. Only a keyed hash of each code is stored
(:func:`portal.keyring.blind_index`), so it is found by an indexed look-up, never by trying every
stored hash, and is useless to anyone holding the database without the key.
"""
from __future__ import annotations

import secrets

from sqlalchemy import delete, func, select

from portal.accounts.models import RecoveryCode, User
from portal.extensions import db
from portal.keyring import blind_index
from portal.types import utcnow

COUNT = 10
#: Crockford's base 32 without look-alikes: 10 characters carry 50 random bits.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_KIND = "recovery-code"


def normalise(code: str) -> str:
    """What a person typed, as stored: case, spaces and dashes ignored; I/L read as 1, O as 0."""
    text = "".join(ch for ch in code.lower() if ch.isalnum())
    return text.translate(str.maketrans({"i": "1", "l": "1", "o": "0"}))


def _digest(user: User, code: str) -> str:
    return blind_index(_KIND, f"{user.id}:{normalise(code)}")


def looks_like_recovery_code(code: str) -> bool:
    text = normalise(code)
    return len(text) == 10 and all(ch in ALPHABET for ch in text)


def issue(user: User) -> list[str]:
    """Ten new codes for ``user`` (any old ones stop working), in the caller's transaction. Returns
    the clear codes, to be shown once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id),
                       execution_options={"synchronize_session": False})
    codes = []
    for _index in range(COUNT):
        raw = "".join(secrets.choice(ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_digest(user, raw)))
    return codes


def use(user: User, code: str) -> bool:
    """Spend one of ``user``'s unused codes; False when ``code`` is none of them. The caller commits."""
    if not looks_like_recovery_code(code):
        return False
    row = db.session.scalar(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                       RecoveryCode.code_hash == _digest(user, code),
                                                       RecoveryCode.used_at.is_(None)))
    if row is None:
        return False
    row.used_at = utcnow()
    return True


def remaining(user: User) -> int:
    return int(db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0)


def discard(user: User) -> None:
    """All of ``user``'s codes stop working (the second factor was reset)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id),
                       execution_options={"synchronize_session": False})
