"""A stable UUID per bulletin (bulletins.uuid), for the standards at the edge: the MISP feed's
event uuid (and a STIX ``report--<uuid>`` id). Existing bulletins get one each here.

The column stays nullable at the database level: on SQLite, making it NOT NULL would rebuild the
bulletins table and drop its full-text triggers (0006). The model always sets one, and the unique
index keeps each distinct.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

"""
import uuid

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    # recreate='never': rebuilding bulletins on SQLite would drop its full-text triggers (0006).
    with op.batch_alter_table('bulletins', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('uuid', sa.String(length=36), nullable=True))
    connection = op.get_bind()
    ids = connection.execute(sa.text("SELECT id FROM bulletins WHERE uuid IS NULL")).scalars().all()
    if ids:
        connection.execute(sa.text("UPDATE bulletins SET uuid = :uuid WHERE id = :id"),
                           [{"uuid": str(uuid.uuid4()), "id": i} for i in ids])
    op.create_index(op.f('ix_bulletins_uuid'), 'bulletins', ['uuid'], unique=True)


def downgrade():
    op.drop_index(op.f('ix_bulletins_uuid'), table_name='bulletins')
    with op.batch_alter_table('bulletins', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('uuid')
