from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.types import UTCDateTime, utcnow


class Organisation(db.Model):
    """A member of the portal: an agency or partner whose users share and receive content."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # OrganisationKind value
    sector: Mapped[str] = mapped_column(String(40), index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The chief executive (or delegate) accountable for its sharing: told, with its org-admins, when
    #: it closes a period below target. Need not be a portal user (then the e-mail carries scores only).
    executive_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    executive_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    # When its members last gained a way to read something through it (its slug, sector or country
    # changed, or it was reactivated): part of each member's TAXII date_added. Set by the hook in
    # portal/accounts/models.py, never by hand (README, "TAXII 2.1 and STIX 2.1").
    rights_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Organisation {self.slug}>"
