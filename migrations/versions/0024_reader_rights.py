"""TAXII 2.1: when each user and each organisation last gained a way to read something
(``rights_changed_at``), so that an ``added_after`` poll finds the older bulletins a reader's widened
rights open to it.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01

"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

TABLES = ('users', 'organisations')


def upgrade():
    # Nobody knows when an existing reader's rights last widened: the upgrade's instant is the safe
    # answer (each reader's next added_after poll sends its whole collection once; it misses nothing).
    if op.get_bind().dialect.name == 'sqlite':
        # A plain ADD COLUMN (no table rebuild) needs a constant default; then filled.
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        for table in TABLES:
            op.add_column(table, sa.Column('rights_changed_at', sa.DateTime(), nullable=False,
                                           server_default='1970-01-01 00:00:00'))
            op.execute(sa.table(table, sa.column('rights_changed_at', sa.DateTime()))
                       .update().values(rights_changed_at=now))
    else:
        # Existing rows take the transaction's instant; rows inserted outside the application too.
        for table in TABLES:
            op.add_column(table, sa.Column('rights_changed_at', sa.DateTime(), nullable=False,
                                           server_default=sa.text("timezone('utc', now())")))


def downgrade():
    for table in reversed(TABLES):
        op.drop_column(table, 'rights_changed_at')  # SQLite ≥ 3.35: a plain DROP COLUMN
