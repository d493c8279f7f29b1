"""The audit log: appended without waiting, sealed into a Merkle tree, signed, verifiable by the
portal and by organisations offline; browsable and exportable."""
from __future__ import annotations

import base64
import csv
import datetime as dt
import importlib.util
import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError

from portal.audit import log as audit_log
from portal.audit import merkle, trail
from portal.audit.models import AuditCheckpoint, AuditEntry, AuditLeaf
from portal.audit.verify import verify
from portal.bulletins.models import Bulletin, BulletinAudience
from portal.config import settings
from portal.extensions import db
from portal.types import utcnow
from portal.vocabulary import Classification
from tests.conftest import bearer, sign_in

ROOT = Path(__file__).resolve().parent.parent
LOG_TABLES = ("audit_entries", "audit_leaves", "audit_nodes", "audit_checkpoints")


def _tool():
    spec = importlib.util.spec_from_file_location("verify_audit_proof", ROOT / "tools" / "verify_audit_proof.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fill(n: int = 5, action: str = "test.event") -> None:
    for i in range(n):
        trail.record(action, "thing", i, source_ip="127.0.0.1", note=f"n{i}")
    db.session.commit()


def _sealed(n: int = 5) -> None:
    """n entries, sealed under a signed checkpoint (the first run also creates the signing key)."""
    _fill(n)
    audit_log.seal()
    assert db.session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 1


def _as_attacker(*statements: str, params: dict | None = None) -> None:
    """What someone with write access to the database could do: bypass the append-only triggers."""
    postgres = db.engine.dialect.name == "postgresql"
    if postgres:
        for table in LOG_TABLES:
            db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    else:
        saved = db.session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                        "AND name LIKE 'audit_%'")).all()
        for name, _ in saved:
            db.session.execute(text(f"DROP TRIGGER {name}"))
    for statement in statements:
        db.session.execute(text(statement), params or {})
    if postgres:
        for table in LOG_TABLES:
            db.session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    else:
        for _, sql in saved:
            db.session.execute(text(sql))
    db.session.commit()


def _verify_cli(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def test_intact_log_verifies_sealed_and_unsealed_entries(app):
    _fill()
    report = verify()
    assert report.problem is None and (report.sealed, report.unsealed) == (0, 5)
    audit_log.seal()
    _fill(2)
    report = verify()
    # 5 sealed under one checkpoint; 2 new, and the signing key's creation, wait to be sealed.
    assert report.problem is None and (report.sealed, report.unsealed, report.checkpoints) == (5, 3, 1)
    result = _verify_cli(app)
    assert result.exit_code == 0, result.output
    assert "intact: 8 entries verified" in result.output


def test_entries_record_who_what_when_where(app):
    trail.record("bulletin.read", "bulletin", 7, "nz-customs", reason="checking", source_ip="10.1.2.3")
    db.session.commit()
    entry = db.session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.object_type, entry.object_id, entry.object_org, entry.source_ip,
            entry.reason) == ("bulletin.read", "bulletin", "7", "nz-customs", "10.1.2.3", "checking")
    assert entry.occurred_at.tzinfo is not None and len(entry.mac) == 64 and len(entry.uid) == 32
    leaf = json.loads(trail.leaf_bytes(entry))
    assert leaf[0] == "psp-audit-v1" and leaf[1] == entry.uid and leaf[7] == "bulletin"


def test_appending_is_one_insert_and_reads_or_updates_nothing(app):
    """A request's entries go in one INSERT; no shared row is read or updated (no global lock)."""
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split()[0].upper() + " " + statement.split()[2].strip('"'))

    trail.record("test.one", source_ip="x")
    trail.record("test.two", source_ip="x")
    trail.record("test.three", source_ip="x")
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert statements == ["INSERT audit_entries"], statements
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 3


def test_rolled_back_change_leaves_no_entry(app):
    trail.record("test.kept", source_ip="x")
    db.session.commit()
    trail.record("test.rolled-back", source_ip="x")
    db.session.rollback()
    trail.record("test.kept", source_ip="x")
    db.session.commit()
    assert db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all() == ["test.kept", "test.kept"]
    assert verify().problem is None


def test_concurrent_appends_are_all_sealed_once(app):
    def worker(n: int) -> None:
        with app.app_context():
            for i in range(15):
                trail.record("test.concurrent", "thing", f"{n}-{i}", source_ip="127.0.0.1")
                db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.expire_all()
    assert audit_log.seal().sealed == 60
    assert audit_log.seal().sealed == 1  # the signing key's creation, recorded by the first run
    assert db.session.scalar(select(func.count(func.distinct(AuditLeaf.entry_id)))) == 61
    assert verify().problem is None


def test_sequencer_finds_entries_committed_out_of_id_order(app):
    """On PostgreSQL a lower id can commit after a higher one was sealed: the sequencer looks for
    entries without a leaf, not for ids above the last one."""
    now = utcnow()

    def entry_with_id(entry_id: int) -> None:
        entry = trail.record("test.late", source_ip="x")
        db.session.info.pop(trail.PENDING)
        db.session.execute(AuditEntry.__table__.insert().values(id=entry_id, **entry))
        db.session.commit()

    def sealed() -> set[int]:
        return set(db.session.scalars(select(AuditLeaf.entry_id)))

    entry_with_id(100)
    audit_log.seal(now)
    entry_with_id(50)  # committed late, below what was sealed
    audit_log.seal(now + dt.timedelta(seconds=1))
    assert {50, 100} <= sealed()
    # Long after (past the look-back), a straggler below the floor is found by the periodic sweep.
    later = now + dt.timedelta(seconds=settings(app).audit_lookback_seconds + 5)
    audit_log.seal(later)
    entry_with_id(60)
    audit_log.seal(later + dt.timedelta(seconds=1))
    assert 60 not in sealed()  # below the floor: not looked at by every run…
    audit_log.seal(later + dt.timedelta(minutes=settings(app).audit_sweep_minutes + 1))
    assert 60 in sealed()  # …but by the sweep
    assert verify(later + dt.timedelta(seconds=2)).problem is None


def test_checkpoints_are_written_when_the_tree_grew_at_most_once_per_interval(app):
    now = utcnow()
    _fill(3)
    assert audit_log.seal(now).checkpoint == 3
    _fill(2)
    assert audit_log.seal(now + dt.timedelta(seconds=10)).checkpoint is None  # too soon
    assert audit_log.seal(now + dt.timedelta(seconds=61)).checkpoint == 6  # 5 + the key's creation
    assert audit_log.seal(now + dt.timedelta(seconds=200)).checkpoint is None  # nothing new
    checkpoint = audit_log.latest_checkpoint()
    origin, size, root = checkpoint.signed_text.split("\n")[:3]
    assert origin == "localhost/audit-log" and size == "6" and base64.b64decode(root).hex() == checkpoint.root_hash
    assert checkpoint.root_hash == audit_log.root_at(6).hex()


def _swap_leaves(a: int, b: int) -> list[str]:
    return [f"UPDATE audit_leaves SET seq = -1 WHERE seq = {a}", f"UPDATE audit_leaves SET seq = {a} WHERE seq = {b}",
            f"UPDATE audit_leaves SET seq = {b} WHERE seq = -1"]


@pytest.mark.parametrize("statements, where, word", [
    (["UPDATE audit_entries SET reason = 'nothing to see' WHERE id = 3"], "audit entry 3 (leaf 2)", "altered"),
    (["UPDATE audit_entries SET source_ip = '8.8.8.8' WHERE id = 1"], "audit entry 1 (leaf 0)", "altered"),
    (["DELETE FROM audit_entries WHERE id = 2"], "audit entry 2 (leaf 1)", "removed"),
    (["DELETE FROM audit_leaves WHERE seq = 1"], "leaf 1", "removed"),
    # The newest entries and every trace of them in the tree: the checkpoint still covers them.
    (["DELETE FROM audit_entries WHERE id = 5", "DELETE FROM audit_leaves WHERE seq = 4",
      "DELETE FROM audit_nodes WHERE idx >= 2"], "leaf 4", "removed"),
    (_swap_leaves(1, 2), "checkpoint 1", "reordered"),
    (["UPDATE audit_nodes SET hash = (SELECT hash FROM audit_leaves WHERE seq = 0) WHERE level = 2"],
     "audit tree node 2/0", "altered"),
    (["UPDATE audit_checkpoints SET root_hash = '" + "0" * 64 + "'"], "checkpoint 1", "rewritten"),
    (["UPDATE audit_checkpoints SET signature = 'AAAA'"], "checkpoint 1", "rewritten"),
    (["UPDATE audit_checkpoints SET tree_size = 4"], "checkpoint 1", "rewritten"),
])
def test_tampering_with_sealed_entries_is_detected_and_named(app, statements, where, word):
    _sealed(5)
    _as_attacker(*statements)
    problem = verify().problem
    assert problem is not None and problem.where == where, problem
    assert word in problem.what
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert where in result.output


def test_an_entry_inserted_without_the_audit_key_is_detected(app):
    _fill(2)
    forged = trail.record("bulletin.read", "bulletin", 1, "customs", source_ip="10.9.9.9")
    db.session.info.pop(trail.PENDING)
    forged["mac"] = "0" * 64
    db.session.execute(AuditEntry.__table__.insert().values(**forged))
    db.session.commit()
    problem = verify().problem
    assert problem is not None and problem.where == "audit entry 3 (not yet sealed)" and "inserted" in problem.what
    audit_log.seal()  # sealing does not make it genuine
    problem = verify().problem
    assert problem is not None and problem.where == "audit entry 3 (leaf 2)" and "altered" in problem.what


def test_a_copied_entry_is_detected(app):
    _sealed(3)
    _as_attacker("INSERT INTO audit_entries (id, uid, occurred_at, actor_id, actor_email, actor_org, action, "
                 "object_type, object_id, object_org, source_ip, reason, details, mac) SELECT 99, uid, occurred_at, "
                 "actor_id, actor_email, actor_org, action, object_type, object_id, object_org, source_ip, reason, "
                 "details, mac FROM audit_entries WHERE id = 2")
    problem = verify().problem
    assert problem is not None and problem.where == "audit entry 99" and "copy of audit entry 2" in problem.what


def test_a_checkpoint_dropped_from_the_middle_or_the_end_is_detected(app):
    now = utcnow()
    _fill(3)
    audit_log.seal(now)
    _fill(2)
    audit_log.seal(now + dt.timedelta(seconds=61))
    _fill(2)
    audit_log.seal(now + dt.timedelta(seconds=122))
    assert verify(now + dt.timedelta(seconds=123)).problem is None
    _as_attacker("DELETE FROM audit_checkpoints WHERE number = 3")
    # The newest checkpoint gone: noticed once its entries should have been covered.
    later = now + dt.timedelta(seconds=122 + 200)
    problem = verify(later).problem
    assert problem is not None and "no checkpoint covers it" in problem.what, problem
    _as_attacker("DELETE FROM audit_checkpoints WHERE number = 1")
    problem = verify(now + dt.timedelta(seconds=123)).problem
    assert problem is not None and problem.where == "checkpoint 1" and "removed" in problem.what


def test_an_unsealed_entry_older_than_the_bound_fails_verification(app):
    _fill(1)
    bound = settings(app).audit_unsealed_bound_seconds
    assert verify(utcnow() + dt.timedelta(seconds=bound - 5)).problem is None
    problem = verify(utcnow() + dt.timedelta(seconds=bound + 5)).problem
    assert problem is not None and problem.where == "audit entry 1 (not yet sealed)" and "sequencer" in problem.what


@pytest.mark.parametrize("table", LOG_TABLES)
def test_log_tables_are_append_only(app, table):
    _sealed(2)
    before = db.session.scalar(text(f"SELECT count(*) FROM {table}"))
    for statement in (f"UPDATE {table} SET {'reason' if table == 'audit_entries' else 'hash'} = "
                      f"{'reason' if table == 'audit_entries' else 'hash'}", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError):
            db.session.execute(text(statement))
            db.session.flush()
        db.session.rollback()
    assert db.session.scalar(text(f"SELECT count(*) FROM {table}")) == before > 0


def test_rotated_key_checkpoints_still_verify_and_both_keys_are_published(app, client, world):
    now = utcnow()
    _fill(3)
    audit_log.seal(now)
    first_key = audit_log.latest_checkpoint().key_id
    result = app.test_cli_runner().invoke(args=["audit", "keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert app.test_cli_runner().invoke(args=["audit", "keys", "new"]).exit_code == 1  # one is active already
    _fill(2)
    audit_log.seal(now + dt.timedelta(seconds=61))
    second = audit_log.latest_checkpoint()
    assert second.key_id != first_key
    assert verify(now + dt.timedelta(seconds=62)).problem is None
    auditor = world.user("aud@fiu.example", world.org("fiu", "government", "fiu"), ("auditor",))
    keys = client.get("/api/v1/audit/public-keys", headers=bearer(auditor)).get_json()["items"]
    assert {k["key_id"] for k in keys} == {first_key, second.key_id}
    assert [k["key_id"] for k in keys if k["retired_at"]] == [first_key]


def test_readyz_reports_the_sealing_lag(client, app):
    _fill(2)
    body = client.get("/readyz").get_json()
    assert body["status"] == "ok" and body["audit"]["tree_size"] == 0 and body["audit"]["unsealed_for_seconds"] >= 0
    audit_log.seal()
    body = client.get("/readyz").get_json()
    assert body["audit"]["tree_size"] == 2 and body["audit"]["checkpoint_size"] == 2


def _published_bulletin(author, reader_org: str) -> Bulletin:
    bulletin = Bulletin(author_org=author, title="Alert", classification=Classification.UNCLASSIFIED, tlp="GREEN",
                        status="published", published_at=utcnow())
    bulletin.audience.append(BulletinAudience(kind="org", value=reader_org))
    db.session.add(bulletin)
    db.session.commit()
    return bulletin


def test_proof_endpoints_answer_org_admins_and_auditors_only(client, world):
    customs = world.org("customs", "government", "customs")
    _sealed(4)
    for roles, status in ((("org-admin",), 200), (("auditor",), 200), (("viewer", "publisher", "analyst"), 404),
                          (("admin",), 404)):
        user = world.user(f"{'-'.join(roles)}@customs.example", customs, roles)
        for path in ("/api/v1/audit/public-keys", "/api/v1/audit/checkpoints",
                     "/api/v1/audit/consistency?from=4&to=4"):
            assert client.get(path, headers=bearer(user)).status_code == status, (roles, path)
        expected = 200 if "org-admin" in roles else 404
        assert client.get("/api/v1/audit/our-content", headers=bearer(user)).status_code == expected
    scoped = world.user("scoped@customs.example", customs, ("auditor",))
    assert client.get("/api/v1/audit/checkpoints",
                      headers=bearer(scoped, ("bulletins:read",))).status_code == 403
    assert client.get("/api/v1/audit/checkpoints", headers=bearer(scoped, ("audit:read",))).status_code == 200


def test_consistency_proofs_verify_between_checkpoints(client, world):
    now = utcnow()
    auditor = world.user("aud@fiu.example", world.org("fiu", "government", "fiu"), ("auditor",))
    headers = bearer(auditor)
    sizes = []
    for step in range(4):
        _fill(3 + step)
        audit_log.seal(now + dt.timedelta(seconds=61 * step))
        sizes.append(audit_log.latest_checkpoint().tree_size)
    checkpoints = client.get("/api/v1/audit/checkpoints", headers=headers).get_json()["items"]
    assert [c["tree_size"] for c in checkpoints] == sizes[::-1]  # newest first
    roots = {c["tree_size"]: bytes.fromhex(c["root_hash"]) for c in checkpoints}
    for m in sizes:
        for n in sizes:
            if m <= n:
                body = client.get(f"/api/v1/audit/consistency?from={m}&to={n}", headers=headers).get_json()
                proof = [bytes.fromhex(p) for p in body["proof"]]
                assert merkle.verify_consistency(m, n, roots[m], roots[n], proof), (m, n)
    for query, field in (("from=2&to=3", "from"), (f"from={sizes[1]}&to={sizes[0]}", "from"), ("from=x&to=3", "from"),
                         (f"from={sizes[0]}&to=999999999999999999999", "to")):
        answer = client.get(f"/api/v1/audit/consistency?{query}", headers=headers)
        assert answer.status_code == 400 and field in answer.get_json()["error"]["fields"], query


def test_our_content_rows_carry_proofs_an_organisation_verifies_offline(client, world, tmp_path):
    """Who accessed our content, each row provable against a signed checkpoint with the stand-alone
    verifier and the published public key — and a row altered afterwards no longer verifies."""
    customs = world.org("customs", "government", "customs")
    bank = world.org("bank-a")
    reader = world.user("v@bank-a.example", bank)
    bulletin = _published_bulletin(customs, "bank-a")
    reader_headers = bearer(reader)
    for _ in range(3):
        assert client.get(f"/api/v1/bulletins/{bulletin.id}", headers=reader_headers).status_code == 200
    trail.record("bulletin.read", "bulletin", 999, "someone-else", source_ip="1.1.1.1")
    db.session.commit()
    audit_log.seal()
    assert client.get(f"/api/v1/bulletins/{bulletin.id}", headers=reader_headers).status_code == 200  # unsealed
    admin = bearer(world.user("oa@customs.example", customs, ("org-admin",)))
    page = client.get("/api/v1/audit/our-content", headers=admin).get_json()
    reads = [row for row in page["items"] if row["action"] == "bulletin.read"]
    assert len(reads) == 4 and {r["object_id"] for r in reads} == {str(bulletin.id)}
    assert {r["actor_email"] for r in reads} == {"v@bank-a.example"}
    assert [r["leaf_index"] is None for r in reads] == [True, False, False, False]  # newest first
    for row in reads:
        leaf = json.loads(base64.b64decode(row["leaf"]))
        assert leaf[0] == "psp-audit-v1" and leaf[6] == "bulletin.read" and leaf[8] == str(bulletin.id)
    keys = client.get("/api/v1/audit/public-keys", headers=admin).get_json()
    tool = _tool()
    checks = tool.verify_checkpoint(page["checkpoint"], keys) + tool.verify_entries(page, keys)
    assert checks and all(c.status in ("PASS", "WAIT") for c in checks), checks
    assert [c.status for c in checks].count("WAIT") == 1
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    (tmp_path / "cp.json").write_text(json.dumps(page["checkpoint"]))
    (tmp_path / "page.json").write_text(json.dumps(page))
    command = [sys.executable, str(ROOT / "tools" / "verify_audit_proof.py"), "--keys", str(tmp_path / "keys.json"),
               "--checkpoint", str(tmp_path / "cp.json"), "--entries", str(tmp_path / "page.json")]
    assert subprocess.run(command, capture_output=True, text=True).returncode == 0
    # The operator rewrites who read it: the organisation's own check fails.
    sealed = next(row for row in reads if row["leaf_index"] is not None)
    leaf = json.loads(base64.b64decode(sealed["leaf"]))
    leaf[4] = "someone.else@bank-a.example"
    sealed["leaf"] = base64.b64encode(json.dumps(leaf, separators=(",", ":")).encode()).decode()
    (tmp_path / "page.json").write_text(json.dumps(page))
    assert subprocess.run(command, capture_output=True, text=True).returncode == 1


def test_our_content_reads_its_proof_nodes_in_a_constant_number_of_queries(client, world):
    customs = world.org("customs", "government", "customs")
    for i in range(40):
        trail.record("bulletin.read", "bulletin", i, "customs", source_ip="10.0.0.1")
        db.session.commit()
    audit_log.seal()
    admin = bearer(world.user("oa@customs.example", customs, ("org-admin",)))
    counts = []
    statements: list[str] = []

    def listener(*args) -> None:
        statements.append(args[2])

    assert client.get("/api/v1/audit/our-content?limit=1", headers=admin).status_code == 200  # the token's first use
    for limit in (2, 40):
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get(f"/api/v1/audit/our-content?limit={limit}", headers=admin).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_auditor_browses_filters_and_exports(client, world):
    fiu = world.org("fiu", "government", "fiu")
    auditor = world.user("aud@fiu.example", fiu, ("auditor",))
    trail.record("bulletin.read", "bulletin", 1, "nz-customs", source_ip="10.0.0.1", actor_email="x@y.example")
    trail.record("submission.read", "submission", "SAR-2026-000001", "bank", source_ip="10.0.0.2")
    db.session.commit()
    sign_in(client, auditor)
    page = client.get("/audit").get_data(as_text=True)
    assert "bulletin.read" in page and "submission.read" in page
    filtered = client.get("/audit?action=submission").get_data(as_text=True)
    assert "submission.read" in filtered and "<code>bulletin.read</code>" not in filtered
    export = client.get("/audit/export.csv?action=bulletin")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [r["action"] for r in rows] == ["bulletin.read"] and len(rows[0]["mac"]) == 64
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "audit.export")) == 1


def test_audit_pages_are_404_for_others(client, world):
    bank = world.org("bank-a")
    user = world.user("v@bank-a.example", bank, ("viewer", "submitter"))
    sign_in(client, user)
    for path in ("/audit", "/audit/export.csv", "/audit/our-content"):
        assert client.get(path).status_code == 404


def test_org_admin_sees_who_accessed_its_content_sealed_or_not(client, world):
    customs = world.org("customs", "government", "customs")
    bank = world.org("bank-a")
    bulletin = _published_bulletin(customs, "bank-a")
    reader = world.user("v@bank-a.example", bank)
    sign_in(client, reader)
    assert client.get(f"/bulletins/{bulletin.id}").status_code == 200
    trail.record("bulletin.read", "bulletin", 999, "someone-else", source_ip="1.1.1.1")
    db.session.commit()
    admin_client = client.application.test_client()
    sign_in(admin_client, world.user("oa@customs.example", customs, ("org-admin",)))
    page = admin_client.get("/audit/our-content").get_data(as_text=True)  # nothing sealed yet
    assert "v@bank-a.example" in page and f"bulletin {bulletin.id}" in page
    assert "bulletin 999" not in page


def test_report_search_terms_never_reach_the_trail(client, world):
    fiu = world.org("fiu", "government", "fiu")
    analyst = world.user("an@fiu.example", fiu, ("analyst",), clearance="SENSITIVE")
    sign_in(client, analyst)
    assert client.get("/submissions?q=Sione+Taufa+T1234567").status_code == 200
    assert client.get("/api/v1/submissions?q=T1234567", headers=bearer(analyst)).status_code == 200
    details = db.session.scalars(select(AuditEntry.details).where(AuditEntry.action == "submission.list")).all()
    assert len(details) == 2 and not any("Sione" in d or "T1234567" in d for d in details)
    assert json.loads(details[0])["searched"] is True


def test_pages_that_list_or_show_are_audited(client, world):
    bank = world.org("bank")
    org_admin = world.user("oa@bank.example", bank, ("org-admin",))
    other = world.user("v@bank.example", bank)
    sign_in(client, org_admin)
    client.get("/")
    client.get("/admin/users")
    client.get(f"/admin/users/{other.id}")
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-3:] == ["bulletin.list", "user.list", "user.read"]
