"""Activity events' ``bucket`` and ``weight`` stored as small integers (two bytes, as ``kind``):
both lie in the scorecard job's covering index (``ix_activity_events_scorecard``), which a
recount walks entry by entry; narrower entries make a smaller index to walk. A bucket is -1 to
the number of response-time buckets, a weight 1 or -1. The downgrade widens them again.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

COLUMNS = ('bucket', 'weight')


def _alter(to: sa.types.TypeEngine, existing: sa.types.TypeEngine) -> None:
    if op.get_bind().dialect.name == 'postgresql':
        # One statement, so one rewrite of the table for both columns; the indexes holding them are
        # rebuilt with it.
        sql_type = to.compile(dialect=op.get_bind().dialect)
        op.execute('ALTER TABLE activity_events {}'.format(
            ', '.join(f'ALTER COLUMN {column} TYPE {sql_type}' for column in COLUMNS)))
        return
    with op.batch_alter_table('activity_events', schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.alter_column(column, type_=to, existing_type=existing, existing_nullable=False)


def upgrade():
    _alter(sa.SmallInteger(), sa.Integer())


def downgrade():
    _alter(sa.Integer(), sa.SmallInteger())
