"""The audit trail: recorded, hash-chained, append-only, verifiable, browsable, exportable."""
from __future__ import annotations

import csv
import io
import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from portal.audit import trail
from portal.audit.models import AuditEntry
from portal.bulletins.models import Bulletin, BulletinAudience
from portal.extensions import db
from portal.types import utcnow
from portal.vocabulary import Classification
from tests.conftest import sign_in


def _fill(n: int = 5) -> None:
    for i in range(n):
        trail.record("test.event", "thing", i, source_ip="127.0.0.1", note=f"n{i}")
    db.session.commit()


def _without_triggers(*statements: str) -> None:
    """What an attacker with database access could do: bypass the append-only triggers."""
    postgres = db.engine.dialect.name == "postgresql"
    if postgres:
        db.session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
    else:
        db.session.execute(text("DROP TRIGGER audit_entries_no_update"))
        db.session.execute(text("DROP TRIGGER audit_entries_no_delete"))
    for statement in statements:
        db.session.execute(text(statement))
    if postgres:
        db.session.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER USER"))
    db.session.commit()


def _verify_cli(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def test_intact_chain_verifies(app):
    _fill()
    assert trail.verify() is None
    result = _verify_cli(app)
    assert result.exit_code == 0, result.output
    assert "intact: 5 entries" in result.output


def test_entries_record_who_what_when_where(app):
    trail.record("bulletin.read", "bulletin", 7, "nz-customs", reason="checking", source_ip="10.1.2.3")
    db.session.commit()
    entry = db.session.scalars(select(AuditEntry)).one()
    assert (entry.seq, entry.action, entry.object_type, entry.object_id, entry.object_org, entry.source_ip,
            entry.reason) == (1, "bulletin.read", "bulletin", "7", "nz-customs", "10.1.2.3", "checking")
    assert entry.occurred_at.tzinfo is not None and len(entry.entry_hash) == 64


@pytest.mark.parametrize("statement, seq, word", [
    ("UPDATE audit_entries SET reason = 'nothing to see' WHERE seq = 3", 3, "altered"),
    ("UPDATE audit_entries SET source_ip = '8.8.8.8' WHERE seq = 1", 1, "altered"),
    ("DELETE FROM audit_entries WHERE seq = 2", 2, "removed"),
    ("DELETE FROM audit_entries WHERE seq = 5", 5, "removed"),
    # Swap entries 3 and 4 (through a free slot, to dodge the primary key).
    ("UPDATE audit_entries SET seq = 99 WHERE seq = 3; UPDATE audit_entries SET seq = 3 WHERE seq = 4; "
     "UPDATE audit_entries SET seq = 4 WHERE seq = 99", 3, "reordered"),
])
def test_tampering_is_detected_and_named(app, statement, seq, word):
    _fill()
    _without_triggers(*statement.split("; "))
    problem = trail.verify()
    assert problem is not None and problem.seq == seq, problem
    assert word in problem.what
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert f"audit entry {seq}" in result.output


def test_trail_is_append_only(app):
    _fill(2)
    for statement in ("UPDATE audit_entries SET reason = 'x'", "DELETE FROM audit_entries"):
        with pytest.raises(DBAPIError):
            db.session.execute(text(statement))
            db.session.flush()
        db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 2


def test_concurrent_appends_keep_one_chain(app):
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
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 60
    assert trail.verify() is None


def test_rolled_back_change_leaves_no_entry_and_no_gap(app):
    trail.record("test.kept", source_ip="x")
    db.session.commit()
    trail.record("test.rolled-back", source_ip="x")
    db.session.rollback()
    trail.record("test.kept", source_ip="x")
    db.session.commit()
    assert db.session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)).all() == [1, 2]
    assert trail.verify() is None


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
    assert [r["action"] for r in rows] == ["bulletin.read"]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "audit.export")) == 1


def test_audit_pages_are_404_for_others(client, world):
    bank = world.org("bank-a")
    user = world.user("v@bank-a.example", bank, ("viewer", "submitter"))
    sign_in(client, user)
    for path in ("/audit", "/audit/export.csv", "/audit/our-content"):
        assert client.get(path).status_code == 404


def test_org_admin_sees_who_accessed_its_content(client, world):
    customs = world.org("customs", "government", "customs")
    bank = world.org("bank-a")
    bulletin = Bulletin(author_org=customs, title="Alert", classification=Classification.UNCLASSIFIED, tlp="GREEN",
                        status="published", published_at=utcnow())
    bulletin.audience.append(BulletinAudience(kind="org", value="bank-a"))
    db.session.add(bulletin)
    db.session.commit()
    reader = world.user("v@bank-a.example", bank)
    sign_in(client, reader)
    assert client.get(f"/bulletins/{bulletin.id}").status_code == 200
    trail.record("bulletin.read", "bulletin", 999, "someone-else", source_ip="1.1.1.1")
    db.session.commit()
    admin_client = client.application.test_client()
    sign_in(admin_client, world.user("oa@customs.example", customs, ("org-admin",)))
    page = admin_client.get("/audit/our-content").get_data(as_text=True)
    assert "v@bank-a.example" in page and f"bulletin {bulletin.id}" in page
    assert "bulletin 999" not in page


def test_pages_that_list_or_show_are_audited(client, world):
    bank = world.org("bank")
    org_admin = world.user("oa@bank.example", bank, ("org-admin",))
    other = world.user("v@bank.example", bank)
    sign_in(client, org_admin)
    client.get("/")
    client.get("/admin/users")
    client.get(f"/admin/users/{other.id}")
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions[-3:] == ["bulletin.list", "user.list", "user.read"]
