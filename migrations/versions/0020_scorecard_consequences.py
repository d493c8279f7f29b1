"""Scorecards with consequences: periods up to FY2026/27 (scorecards.period widened), open items
on each scorecard, closed periods, below-target notices (once per organisation and period), kept
accountability reports, each organisation's accountable executive, and e-mail deliveries to an
address outside the portal.

Existing months stay as they were counted (UTC) until ``flask --app app scorecards recompute
--period …`` recounts a period in the reporting time zone.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scorecard_closed_periods',
    sa.Column('period', sa.String(length=12), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('period', name=op.f('pk_scorecard_closed_periods'))
    )
    op.create_table('scorecard_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=12), nullable=False),
    sa.Column('overall', sa.Float(), nullable=False),
    sa.Column('target', sa.Float(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_scorecard_notices_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scorecard_notices')),
    sa.UniqueConstraint('organisation_id', 'period', name='uq_scorecard_notices_org_period')
    )
    with op.batch_alter_table('scorecard_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scorecard_notices_organisation_id'), ['organisation_id'], unique=False)
    op.create_table('accountability_reports',
    sa.Column('period', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('period', name=op.f('pk_accountability_reports'))
    )
    with op.batch_alter_table('scorecards', schema=None) as batch_op:
        batch_op.alter_column('period', existing_type=sa.String(length=7), type_=sa.String(length=12),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('open_items', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('executive_name', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('executive_email', sa.String(length=254), server_default='', nullable=False))
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('address')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('executive_email')
        batch_op.drop_column('executive_name')
    op.execute("DELETE FROM scorecards WHERE length(period) > 7")
    with op.batch_alter_table('scorecards', schema=None) as batch_op:
        batch_op.drop_column('open_items')
        batch_op.alter_column('period', existing_type=sa.String(length=12), type_=sa.String(length=7),
                              existing_nullable=False)
    op.drop_table('accountability_reports')
    with op.batch_alter_table('scorecard_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scorecard_notices_organisation_id'))
    op.drop_table('scorecard_notices')
    op.drop_table('scorecard_closed_periods')
