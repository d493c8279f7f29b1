from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import seal, unseal
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.types import UTCDateTime, utcnow

SECRET_PURPOSE = "idp-client-secret"


class IdentityProvider(db.Model):
    """An organisation's OpenID Connect provider. Its people sign in as members of that organisation."""

    __tablename__ = "identity_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # used in /auth/oidc/{name}/…
    display_name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    client_secret_sealed: Mapped[str] = mapped_column(Text)
    # Comma-separated e-mail domains this provider may sign in; empty = any domain.
    email_domains: Mapped[str] = mapped_column(Text, default="")
    # Roles and clearance never come from the provider's claims unless trusted here.
    trust_roles_claim: Mapped[bool] = mapped_column(Boolean, default=False)
    trust_clearance_claim: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    metadata_json: Mapped[str] = mapped_column(Text, default="{}")  # the discovery document, checked
    metadata_fetched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)

    @property
    def client_secret(self) -> str:
        return unseal(self.client_secret_sealed, SECRET_PURPOSE)

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        self.client_secret_sealed = seal(value, SECRET_PURPOSE)

    @property
    def server_metadata(self) -> dict[str, Any]:
        return dict(json.loads(self.metadata_json or "{}"))

    @property
    def domains(self) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in self.email_domains.split(",") if d.strip()]

    def allows_email(self, email: str) -> bool:
        domains = self.domains
        return not domains or email.rsplit("@", 1)[-1].lower() in domains


class ExternalIdentity(db.Model):
    """A provider's subject identifier linked to a portal user after their first sign-in."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("provider_id", "subject", name="uq_external_identities_provider_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("identity_providers.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
