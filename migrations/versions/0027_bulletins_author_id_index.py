"""The index on a bulletin's author organisation also holds the bulletin's id
(``ix_bulletins_author_org_id_id``, in place of ``ix_bulletins_author_org_id``): the API feed's
newest bulletins of the reader's own organisation (``policy.newest_readable_bulletin_ids``) are then
a backward walk of that organisation's entries, newest first, whatever the number of its bulletins.
On PostgreSQL an index on the author alone orders an organisation's entries by their place in the
table, not by id, so the planner had to sort all of them or walk every bulletin newest first
(at 100,000 bulletins: 28 ms for a reader whose organisation wrote none). SQLite's index already
ended with the row id; the composite one is the same there.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    # Plain index statements, not a batch: on SQLite a batch may copy the table, which would drop
    # the full-text triggers of migration 0019.
    op.create_index('ix_bulletins_author_org_id_id', 'bulletins', ['author_org_id', 'id'], unique=False)
    op.drop_index('ix_bulletins_author_org_id', table_name='bulletins')


def downgrade():
    op.create_index('ix_bulletins_author_org_id', 'bulletins', ['author_org_id'], unique=False)
    op.drop_index('ix_bulletins_author_org_id_id', table_name='bulletins')
