"""Plural messages in the translators' review (issue 16 item 2): a suggestion or confirmation of a
plural message (``ngettext``) keeps its English plural (``msgid_plural``) and one wording per plural
form of the language (``plural_wordings``, a JSON list in ``msgstr[n]`` order). Existing rows are
singular messages: an empty plural and no forms.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('wording_suggestions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('msgid_plural', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('plural_wordings', sa.JSON(), nullable=True))


def downgrade():
    # Plural suggestions cannot be kept as singular ones: their forms would be lost, and a singular
    # wording of a plural message would override the wrong catalogue entry.
    op.execute("DELETE FROM wording_suggestions WHERE msgid_plural <> ''")
    with op.batch_alter_table('wording_suggestions', schema=None) as batch_op:
        batch_op.drop_column('plural_wordings')
        batch_op.drop_column('msgid_plural')
