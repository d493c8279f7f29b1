"""TAXII 2.1: when each bulletin last changed for its readers (TAXII's date_added, indexed for
``added_after`` polls), the STIX id of sightings written back over TAXII, and the status resource
of each envelope written.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    # Added NOT NULL with a placeholder default, then filled: on SQLite a plain ADD COLUMN (an ALTER
    # that rebuilt the table would drop the full-text triggers of 0006); PostgreSQL then drops the
    # default (the application always sets the column).
    op.add_column('bulletins', sa.Column('readers_changed_at', sa.DateTime(), nullable=False,
                                         server_default='1970-01-01 00:00:00'))
    # The last of: created, amended or withdrawn (updated_at), published.
    op.execute("UPDATE bulletins SET readers_changed_at = CASE "
               "WHEN published_at IS NOT NULL AND (updated_at IS NULL OR published_at > updated_at) THEN published_at "
               "ELSE COALESCE(updated_at, created_at) END")
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('bulletins', 'readers_changed_at', server_default=None)
    op.create_index('ix_bulletins_readers_changed_at_id', 'bulletins', ['readers_changed_at', 'id'], unique=False)
    with op.batch_alter_table('bulletin_sightings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stix_id', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_bulletin_sightings_stix_id'), ['stix_id'])
    op.create_table('taxii_statuses',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.String(length=36), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('total_count', sa.Integer(), nullable=False),
    sa.Column('successes', sa.Text(), nullable=False),
    sa.Column('failures', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_taxii_statuses_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_taxii_statuses'))
    )
    with op.batch_alter_table('taxii_statuses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_taxii_statuses_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('taxii_statuses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_taxii_statuses_user_id'))
    op.drop_table('taxii_statuses')
    with op.batch_alter_table('bulletin_sightings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_bulletin_sightings_stix_id'), type_='unique')
        batch_op.drop_column('stix_id')
    op.drop_index('ix_bulletins_readers_changed_at_id', table_name='bulletins')
    op.drop_column('bulletins', 'readers_changed_at')  # SQLite ≥ 3.35: a plain DROP COLUMN, triggers kept
