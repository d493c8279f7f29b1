"""Settings an administrator changes at run time, kept in the database (unlike ``config/``)."""
from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class PortalSetting(db.Model):
    __tablename__ = "portal_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


def get_setting(key: str, default: str = "") -> str:
    row = db.session.get(PortalSetting, key)
    return row.value if row is not None else default


def set_setting(key: str, value: str) -> None:
    row = db.session.get(PortalSetting, key)
    if row is None:
        db.session.add(PortalSetting(key=key, value=value))
    else:
        row.value = value
