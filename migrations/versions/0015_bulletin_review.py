"""The two-person rule, tracked: who changed the version waiting for review (bulletin_editors), and
a published bulletin's change waiting for review (bulletins.pending_change), so that recipients go
on reading the approved version meanwhile.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bulletin_editors',
    sa.Column('bulletin_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletins.id'], name=op.f('fk_bulletin_editors_bulletin_id_bulletins'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_bulletin_editors_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('bulletin_id', 'user_id', name=op.f('pk_bulletin_editors'))
    )
    # recreate='never': rebuilding bulletins on SQLite would drop its full-text triggers (0006).
    with op.batch_alter_table('bulletins', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('pending_change', sa.Text(), nullable=True))
    # Whoever wrote a version of a bulletin not yet approved is an editor of what waits for review.
    op.execute(
        "INSERT INTO bulletin_editors (bulletin_id, user_id) "
        "SELECT id, created_by_id FROM bulletins "
        "WHERE status IN ('draft', 'pending-review') AND created_by_id IS NOT NULL "
        "UNION "
        "SELECT v.bulletin_id, v.created_by_id FROM bulletin_versions v JOIN bulletins b ON b.id = v.bulletin_id "
        "WHERE b.status IN ('draft', 'pending-review') AND b.approved_by_id IS NULL AND v.created_by_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table('bulletins', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('pending_change')
    op.drop_table('bulletin_editors')
