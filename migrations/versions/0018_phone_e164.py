"""Phone numbers kept in E.164 (``+64215550123``), so that a search finds a number however it was
written: bulletin indicators of type ``phone`` get their normalised form again from the value as
written, and reports' phone identifiers from the digits they kept. A number libphonenumber cannot
place keeps its digits, as before.

Downgrade leaves the E.164 forms: they are digits with a leading ``+``, which the previous code
also produced for numbers written with their country code.
"""
import re

import phonenumbers
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

BATCH = 1000


def _e164(value: str) -> str | None:
    digits = re.sub(r"[\s().-]", "", value or "")
    if not re.fullmatch(r"\+?\d{6,15}", digits):
        return None
    try:
        number = phonenumbers.parse(digits, "NZ")
    except phonenumbers.NumberParseException:
        return digits
    if not phonenumbers.is_possible_number(number):
        return digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _renormalise(table: str, kind_column: str, source: str, target: str) -> None:
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(sa.text(
            f"SELECT id, {source} FROM {table} WHERE {kind_column} = 'phone' AND id > :last ORDER BY id LIMIT {BATCH}"),
            {"last": last}).all()
        if not rows:
            return
        for row_id, value in rows:
            if (new := _e164(value)) is not None:
                bind.execute(sa.text(f"UPDATE {table} SET {target} = :new WHERE id = :id"), {"new": new, "id": row_id})
        last = rows[-1][0]


def upgrade() -> None:
    _renormalise("bulletin_indicators", "type", "value", "normalised")
    _renormalise("submission_identifiers", "kind", "value", "value")


def downgrade() -> None:
    pass
