"""Translators and wording suggestions (issue 16 item 2): which users may suggest wordings in which
language (translator_languages), and their suggestions and confirmations (wording_suggestions), of
which the accepted ones override the compiled catalogues at run time.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('translator_languages',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('granted_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'], name=op.f('fk_translator_languages_granted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_translator_languages_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'language', name=op.f('pk_translator_languages'))
    )
    op.create_table('wording_suggestions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('context', sa.String(length=100), nullable=False),
    sa.Column('msgid', sa.Text(), nullable=False),
    sa.Column('wording', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_wording_suggestions_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_wording_suggestions_decided_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wording_suggestions'))
    )
    with op.batch_alter_table('wording_suggestions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wording_suggestions_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wording_suggestions_language'), ['language'], unique=False)
        batch_op.create_index(batch_op.f('ix_wording_suggestions_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('wording_suggestions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wording_suggestions_status'))
        batch_op.drop_index(batch_op.f('ix_wording_suggestions_language'))
        batch_op.drop_index(batch_op.f('ix_wording_suggestions_author_id'))

    op.drop_table('wording_suggestions')
    op.drop_table('translator_languages')
