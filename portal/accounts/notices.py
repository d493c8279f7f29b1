"""Messages to a person about their own account, through the outbox like every other message.

Two topics: ``account`` (a change made to the account by someone else, such as an org-admin
resetting the second factor) and ``password_reset`` (the link asked for on the sign-in page). They
go to the person alone, at once, whatever their preferences (:data:`portal.outbox.PERSONAL_EVENTS`),
and never to their organisation's webhooks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from portal.accounts.models import PasswordReset, User
from portal.crypto import SealError, unseal
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.outbox import OutboxMessage, Subject, register_personal_event, register_topic
from portal.types import utcnow
from portal.vocabulary import Classification


@dataclass(frozen=True)
class AccountChange:
    user: User
    kind: str


#: What happened to an account: (title, what the person should do).
CHANGES = {
    "second-factor-reset": (
        _l("Your second factor was reset"),
        _l("An administrator of your organisation reset your authenticator app and recovery codes, and "
           "signed you out everywhere. Sign in with your password: you will set up your authenticator app "
           "again. If you did not ask for this, tell your organisation's administrator at once."),
    ),
    "password-reset": (
        _l("Your password was changed"),
        _l("Your password was changed with a link sent to this address, and you were signed out "
           "everywhere. If you did not do this, tell your organisation's administrator at once."),
    ),
}


def change_id(user: User, kind: str) -> str:
    return f"{user.id}:{kind}"


class AccountTopic:
    def load(self, object_id: str) -> AccountChange | None:
        user_id, _sep, kind = object_id.partition(":")
        if not user_id.isdigit() or kind not in CHANGES:
            return None
        user = db.session.get(User, int(user_id))
        return AccountChange(user, kind) if user is not None else None

    def load_many(self, object_ids: list[str]) -> dict[str, Any]:
        return {object_id: change for object_id in object_ids if (change := self.load(object_id)) is not None}

    def addressed_to(self, change: AccountChange, message: OutboxMessage):
        return select(User).where(User.id == change.user.id, User.active.is_(True))

    def readable(self, user: User, change: AccountChange) -> bool:
        return user.id == change.user.id and user.is_active

    def describe(self, change: AccountChange) -> Subject:
        title, summary = CHANGES[change.kind]
        return Subject(reference=change.user.email, path="/profile", title=str(title), summary=str(summary),
                       classification=Classification.UNCLASSIFIED)


class PasswordResetTopic:
    def load(self, object_id: str) -> PasswordReset | None:
        return db.session.get(PasswordReset, int(object_id)) if object_id.isdigit() else None

    def load_many(self, object_ids: list[str]) -> dict[str, Any]:
        numbers = [int(i) for i in object_ids if i.isdigit()]
        rows = db.session.scalars(select(PasswordReset).where(PasswordReset.id.in_(numbers or [0])))
        return {str(row.id): row for row in rows}

    def addressed_to(self, reset: PasswordReset, message: OutboxMessage):
        return select(User).where(User.id == reset.user_id, User.active.is_(True))

    def readable(self, user: User, reset: PasswordReset) -> bool:
        # Checked again when the e-mail is sent: a link already used or expired is not sent.
        return user.id == reset.user_id and user.is_active and reset.token_sealed is not None \
            and reset.usable(utcnow())

    def describe(self, reset: PasswordReset) -> Subject:
        try:
            token = unseal(reset.token_sealed or "", PasswordReset.SEAL_PURPOSE)
        except SealError:
            token = ""
        minutes = max(1, round((reset.expires_at - reset.created_at).total_seconds() / 60))
        return Subject(
            reference=reset.user.email, path=f"/login/reset/{token}",
            title=str(_l("Choose a new password")),
            summary=str(_l("Someone (we hope you) asked to reset the password of this account. Open the link "
                           "below within %(minutes)s minutes to choose a new one; it works once. Your "
                           "authenticator app stays as it is. If you did not ask, ignore this e-mail: your "
                           "password is unchanged.", minutes=minutes)),
            classification=Classification.UNCLASSIFIED,
            facts=((_l("The link works until"), reset.expires_at, reset.user.time_zone),))


def register() -> None:
    register_topic("account", AccountTopic())
    register_topic("password_reset", PasswordResetTopic())
    register_personal_event("account.changed", _l("A change to your account"), ("inbox", "email"))
    register_personal_event("account.password_reset", _l("A link to reset your password"), ("email",))
