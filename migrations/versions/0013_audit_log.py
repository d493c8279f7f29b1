"""The audit log without a global lock: immutable entries with an HMAC each, sealed by a sequencer
into a Merkle tree (leaves, perfect subtrees), signed checkpoints and their Ed25519 keys.

Existing entries move over once, in their old order (their ids are their old sequence numbers),
after the report search terms that the old trail kept in its details are removed (they can hold
names and passport numbers). The old hash chain is checked first, and the outcome is recorded in
an ``audit.migrate`` entry; the sequencer then seals every moved entry into the tree. The
downgrade rebuilds a hash chain, in log order, from whatever the log holds.

The leaf encoding below is frozen here as version 1 (``psp-audit-v1``), so that this migration
stays runnable whatever the application code becomes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01

"""
import hashlib
import hmac
import json
import os
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
CHUNK = 5000
LOG_TABLES = ("audit_entries", "audit_leaves", "audit_nodes", "audit_checkpoints")
FIELDS = ("actor_id", "actor_email", "actor_org", "action", "object_type", "object_id", "object_org", "source_ip",
          "reason", "details")


def _key():
    try:
        from portal.config import settings

        return settings().audit_key.get_secret_value().encode()
    except (ImportError, RuntimeError, KeyError):
        key = os.environ.get("PORTAL_AUDIT_KEY", "")
        if not key:
            raise RuntimeError("This migration needs the audit key: run it with `flask --app app db upgrade`, "
                               "or set PORTAL_AUDIT_KEY.") from None
        return key.encode()


def _stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # naive UTC, as stored


def _leaf_bytes(row):
    values = ["psp-audit-v1", row["uid"], _stamp(row["occurred_at"])] + [row[name] for name in FIELDS]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()


def _legacy_canonical(row):
    values = [row["seq"], _stamp(row["occurred_at"])] + [row[name] for name in FIELDS]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()


def _legacy_hash(key, prev_hash, row):
    return hmac.new(key, prev_hash.encode() + b"\n" + _legacy_canonical(row), hashlib.sha256).hexdigest()


def _without_search_terms(details):
    """(details, removed?): the ``q`` of list filters goes; the entry keeps that there was a search."""
    try:
        value = json.loads(details)
    except ValueError:
        return details, False
    if not isinstance(value, dict):
        return details, False
    removed = False
    if isinstance(value.get("filters"), dict) and "q" in value["filters"]:
        value["filters"] = {k: v for k, v in value["filters"].items() if k != "q"}
        removed = True
    for name in ("q", "query"):
        if name in value:
            del value[name]
            removed = True
    if not removed:
        return details, False
    value["searched"] = True
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False), True


def _columns(legacy):
    common = [
        sa.Column('occurred_at', sa.DateTime(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_email', sa.String(length=254), nullable=False),
        sa.Column('actor_org', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('object_type', sa.String(length=40), nullable=False),
        sa.Column('object_id', sa.String(length=64), nullable=False),
        sa.Column('object_org', sa.String(length=64), nullable=False),
        sa.Column('source_ip', sa.String(length=45), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('details', sa.Text(), nullable=False),
    ]
    if legacy:
        return ([sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False)] + common
                + [sa.Column('prev_hash', sa.String(length=64), nullable=False),
                   sa.Column('entry_hash', sa.String(length=64), nullable=False),
                   sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_entries'))])
    return ([sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
             sa.Column('uid', sa.String(length=32), nullable=False)] + common
            + [sa.Column('mac', sa.String(length=64), nullable=False),
               sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries'))])


def _table(name, columns):
    return sa.table(name, *[sa.column(c.name, c.type) for c in columns if isinstance(c, sa.Column)])


def _drop_triggers(tables):
    if op.get_bind().dialect.name == "postgresql":
        for table in tables:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        for table in tables:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")


def _create_triggers(tables, function="audit_log_append_only"):
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION {function}() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
        """)
        for table in tables:
            op.execute(f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION {function}()")
            if function == "audit_log_append_only":
                op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                           f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    else:
        for table in tables:
            for event in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def _drop_entry_indexes(names):
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        for name in names:
            batch_op.drop_index(name)


def upgrade():
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.create_table('audit_checkpoints',
    sa.Column('number', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('tree_size', sa.BigInteger(), nullable=False),
    sa.Column('root_hash', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('signed_text', sa.Text(), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_audit_checkpoints')),
    sa.UniqueConstraint('tree_size', name=op.f('uq_audit_checkpoints_tree_size'))
    )
    op.create_table('audit_leaves',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('entry_id', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.LargeBinary(), nullable=False),
    sa.Column('sealed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_leaves')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_audit_leaves_entry_id'))
    )
    op.create_table('audit_log_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('floor_id', sa.BigInteger(), nullable=False),
    sa.Column('recent', sa.Text(), nullable=False),
    sa.Column('last_sweep_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log_state'))
    )
    op.create_table('audit_nodes',
    sa.Column('level', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('level', 'idx', name=op.f('pk_audit_nodes'))
    )
    op.create_table('audit_signing_keys',
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('private_key', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('retired_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_audit_signing_keys'))
    )

    # The entries: the old table steps aside, the new one takes its name, the rows move over.
    _drop_triggers(["audit_entries"])
    _drop_entry_indexes(['ix_audit_entries_occurred_at', 'ix_audit_entries_object_org_seq',
                         'ix_audit_entries_actor_seq', 'ix_audit_entries_action_source'])
    op.rename_table('audit_entries', 'audit_entries_legacy')
    if postgres:
        op.execute("ALTER TABLE audit_entries_legacy RENAME CONSTRAINT pk_audit_entries TO pk_audit_entries_legacy")
    new_columns = _columns(legacy=False)
    op.create_table('audit_entries', *new_columns)
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entries_action_source', ['action', 'source_ip', 'occurred_at'], unique=False)
        batch_op.create_index('ix_audit_entries_actor_id', ['actor_id', 'id'], unique=False)
        batch_op.create_index('ix_audit_entries_object_org_id', ['object_org', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_occurred_at'), ['occurred_at'], unique=False)
    _move_entries_forward(bind, _table('audit_entries_legacy', _columns(legacy=True)), _table('audit_entries', new_columns))
    op.drop_table('audit_entries_legacy')
    op.drop_table('audit_chain_head')
    if postgres:
        op.execute("SELECT setval(pg_get_serial_sequence('audit_entries', 'id'), "
                   "(SELECT COALESCE(MAX(id), 0) + 1 FROM audit_entries), false)")
    _create_triggers(LOG_TABLES)


def _move_entries_forward(bind, legacy, entries):
    key = _key()
    prev_hash, last_seq, moved, removed, problem = GENESIS, 0, 0, 0, None
    while True:
        rows = bind.execute(sa.select(legacy).where(legacy.c.seq > last_seq).order_by(legacy.c.seq)
                            .limit(CHUNK)).mappings().all()
        if not rows:
            break
        batch = []
        for row in rows:
            if problem is None:
                if row["seq"] != last_seq + 1:
                    problem = f"entry {last_seq + 1} missing"
                elif row["prev_hash"] != prev_hash or _legacy_hash(key, prev_hash, row) != row["entry_hash"]:
                    problem = f"entry {row['seq']} altered or reordered"
            prev_hash, last_seq = row["entry_hash"], row["seq"]
            details, stripped = _without_search_terms(row["details"])
            removed += stripped
            entry = {name: row[name] for name in FIELDS}
            entry.update(id=row["seq"], uid=secrets.token_hex(16), occurred_at=row["occurred_at"], details=details)
            entry["mac"] = hmac.new(key, _leaf_bytes(entry), hashlib.sha256).hexdigest()
            batch.append(entry)
        bind.execute(entries.insert(), batch)
        moved += len(batch)
    if moved:
        import datetime as dt

        details = json.dumps({"legacy_chain": "intact" if problem is None else f"broken: {problem}",
                              "legacy_entries": moved, "search_terms_removed": removed}, sort_keys=True)
        entry = {"id": last_seq + 1, "uid": secrets.token_hex(16),
                 "occurred_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), "actor_id": None,
                 "actor_email": "", "actor_org": "", "action": "audit.migrate", "object_type": "audit_log",
                 "object_id": "", "object_org": "", "source_ip": "migration", "reason": "", "details": details}
        entry["mac"] = hmac.new(key, _leaf_bytes(entry), hashlib.sha256).hexdigest()
        bind.execute(entries.insert(), [entry])


def downgrade():
    bind = op.get_bind()
    _drop_triggers(LOG_TABLES)
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    _drop_entry_indexes(['ix_audit_entries_occurred_at', 'ix_audit_entries_object_org_id',
                         'ix_audit_entries_actor_id', 'ix_audit_entries_action_source'])
    op.rename_table('audit_entries', 'audit_entries_new')
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_entries_new RENAME CONSTRAINT pk_audit_entries TO pk_audit_entries_new")
    legacy_columns = _columns(legacy=True)
    op.create_table('audit_entries', *legacy_columns)
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entries_action_source', ['action', 'source_ip', 'occurred_at'], unique=False)
        batch_op.create_index('ix_audit_entries_actor_seq', ['actor_id', 'seq'], unique=False)
        batch_op.create_index('ix_audit_entries_object_org_seq', ['object_org', 'seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_occurred_at'), ['occurred_at'], unique=False)
    seq, head = _move_entries_back(bind, _table('audit_entries_new', _columns(legacy=False)),
                                   _table('audit_entries', legacy_columns))
    bind.execute(sa.text("INSERT INTO audit_chain_head (id, seq, last_hash) VALUES (1, :seq, :head)"),
                 {"seq": seq, "head": head})
    op.drop_table('audit_entries_new')
    op.drop_table('audit_signing_keys')
    op.drop_table('audit_nodes')
    op.drop_table('audit_log_state')
    op.drop_table('audit_leaves')
    op.drop_table('audit_checkpoints')
    _create_triggers(["audit_entries"], function="audit_entries_append_only")


def _move_entries_back(bind, entries, legacy):
    """Sealed entries in leaf order, then the rest in id order, chained again."""
    key = _key()
    leaves = sa.table('audit_leaves', sa.column('seq', sa.BigInteger()), sa.column('entry_id', sa.BigInteger()))
    order = sa.case((leaves.c.seq.is_(None), 1), else_=0)
    statement = (sa.select(entries).outerjoin(leaves, leaves.c.entry_id == entries.c.id)
                 .order_by(order, leaves.c.seq, entries.c.id))
    seq, prev_hash, batch = 0, GENESIS, []
    for row in bind.execute(statement).mappings().all():
        seq += 1
        entry = {name: row[name] for name in FIELDS}
        entry.update(seq=seq, occurred_at=row["occurred_at"], prev_hash=prev_hash)
        entry["entry_hash"] = prev_hash = _legacy_hash(key, prev_hash, entry)
        batch.append(entry)
        if len(batch) >= CHUNK:
            bind.execute(legacy.insert(), batch)
            batch = []
    if batch:
        bind.execute(legacy.insert(), batch)
    return seq, prev_hash
