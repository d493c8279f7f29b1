"""Full-text search over bulletins: FTS5 with triggers on SQLite; a generated tsvector and a GIN
index on PostgreSQL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

"""
import unicodedata

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# Accents and macrons folded with translate() (immutable, unlike unaccent), as the query is in Python.
ACCENTED = "áàâäãåāăąéèêëēĕęěíìîïīĭįóòôöõōŏőúùûüūŭůűųñńçćčšśžźżýÿ"
PLAIN = "".join(unicodedata.normalize("NFKD", ch)[0] for ch in ACCENTED)
PG_DOCUMENT = ("to_tsvector('simple', translate(lower(coalesce(title, '') || ' ' || coalesce(summary, '') || ' ' || "
               f"coalesce(body_html, '')), '{ACCENTED}', '{PLAIN}'))")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE bulletins ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({PG_DOCUMENT}) STORED")
        op.execute("CREATE INDEX ix_bulletins_search_vector ON bulletins USING gin (search_vector)")
        return
    op.execute("CREATE VIRTUAL TABLE bulletins_fts USING fts5(title, summary, body_html, content='bulletins', "
               "content_rowid='id', tokenize='unicode61 remove_diacritics 2')")
    op.execute("""CREATE TRIGGER bulletins_fts_insert AFTER INSERT ON bulletins BEGIN
        INSERT INTO bulletins_fts(rowid, title, summary, body_html) VALUES (new.id, new.title, new.summary, new.body_html);
    END""")
    op.execute("""CREATE TRIGGER bulletins_fts_delete AFTER DELETE ON bulletins BEGIN
        INSERT INTO bulletins_fts(bulletins_fts, rowid, title, summary, body_html)
        VALUES ('delete', old.id, old.title, old.summary, old.body_html);
    END""")
    op.execute("""CREATE TRIGGER bulletins_fts_update AFTER UPDATE OF title, summary, body_html ON bulletins BEGIN
        INSERT INTO bulletins_fts(bulletins_fts, rowid, title, summary, body_html)
        VALUES ('delete', old.id, old.title, old.summary, old.body_html);
        INSERT INTO bulletins_fts(rowid, title, summary, body_html) VALUES (new.id, new.title, new.summary, new.body_html);
    END""")
    op.execute("INSERT INTO bulletins_fts(bulletins_fts) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_bulletins_search_vector")
        op.execute("ALTER TABLE bulletins DROP COLUMN IF EXISTS search_vector")
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS bulletins_fts_{trigger}")
    op.execute("DROP TABLE IF EXISTS bulletins_fts")
