"""Human references (``SAR-2026-000123``): one counter row per prefix and year, taken under a row
lock so that concurrent processes never hand out the same number."""
from __future__ import annotations

from sqlalchemy import Integer, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.types import utcnow


class ReferenceCounter(db.Model):
    """The last number given for a prefix and year (``SAR-2026``)."""

    __tablename__ = "reference_counters"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


def next_reference(prefix: str, digits: int = 6) -> str:
    """The next reference for ``prefix`` this year, in the caller's transaction."""
    name = f"{prefix}-{utcnow().year}"
    # An UPDATE takes the row lock first (PostgreSQL) or the write lock (SQLite); creating the row
    # the first time is raced safely with a savepoint.
    bumped = db.session.execute(update(ReferenceCounter).where(ReferenceCounter.name == name)
                                .values(value=ReferenceCounter.value + 1)).rowcount
    if not bumped:
        try:
            with db.session.begin_nested():
                db.session.add(ReferenceCounter(name=name, value=1))
        except IntegrityError:
            db.session.execute(update(ReferenceCounter).where(ReferenceCounter.name == name)
                               .values(value=ReferenceCounter.value + 1))
    value = db.session.scalar(select(ReferenceCounter.value).where(ReferenceCounter.name == name))
    return f"{name}-{value:0{digits}d}"
