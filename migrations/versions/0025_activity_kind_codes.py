"""Activity kinds stored as small integer codes (``portal.activity.KIND_CODES``) instead of words:
the scorecard job groups every event by its kind, and a two-byte integer hashes and compares for a
fraction of what a text key costs. On PostgreSQL the covering index of the job's GROUP BY also
holds the id, by which the job reads new events. The downgrade writes the words back.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

# A copy, not an import: a migration keeps meaning what it meant when it was written.
KIND_CODES = {'share': 1, 'share-reactive': 2, 'rating': 3, 'response': 4}


def _to_codes(column: str) -> str:
    return 'CASE {} {} END'.format(column, ' '.join(f"WHEN '{word}' THEN {code}" for word, code in KIND_CODES.items()))


def _to_words(column: str, quoted: bool) -> str:
    return 'CASE {} {} END'.format(column, ' '.join(
        f"WHEN {repr(str(code)) if quoted else code} THEN '{word}'" for word, code in KIND_CODES.items()))


INDEX = 'ix_activity_events_scorecard'
INDEX_COLUMNS = ['organisation_id', 'month', 'kind', 'bucket', 'weight', 'value']


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        # One rewrite of the table, then the covering index built once, now holding the id as well
        # (the job reads events by id range: with it, its fold walks the index alone).
        op.drop_index(INDEX, table_name='activity_events')
        op.alter_column('activity_events', 'kind', type_=sa.SmallInteger(), existing_type=sa.String(length=20),
                        existing_nullable=False, postgresql_using=_to_codes('kind'))
        op.create_index(INDEX, 'activity_events', INDEX_COLUMNS, postgresql_include=['id'])
        return
    # SQLite: the codes first (held as text by the text column), then the table rebuilt with an
    # integer column, the copy casting each code.
    op.execute(f'UPDATE activity_events SET kind = {_to_codes("kind")}')
    with op.batch_alter_table('activity_events', schema=None) as batch_op:
        batch_op.alter_column('kind', type_=sa.SmallInteger(), existing_type=sa.String(length=20),
                              existing_nullable=False)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index(INDEX, table_name='activity_events')
        op.alter_column('activity_events', 'kind', type_=sa.String(length=20), existing_type=sa.SmallInteger(),
                        existing_nullable=False, postgresql_using=_to_words('kind', quoted=False))
        op.create_index(INDEX, 'activity_events', INDEX_COLUMNS)
        return
    with op.batch_alter_table('activity_events', schema=None) as batch_op:
        batch_op.alter_column('kind', type_=sa.String(length=20), existing_type=sa.SmallInteger(),
                              existing_nullable=False)
    op.execute(f'UPDATE activity_events SET kind = {_to_words("kind", quoted=True)}')
