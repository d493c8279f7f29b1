"""Scale-out: nothing is kept per host.

A deployment runs several web processes and several schedulers against one database. Here two
gunicorn servers (two gthread workers each) and two ``flask scheduler`` processes share the one
database of the ``database_url`` fixture (on SQLite one file, as on one host; on PostgreSQL one
database), each process with an instance directory of its own. Readers and submitters alternate
between the servers; the schedulers must then deliver every e-mail exactly once, seal every audit
entry under a signed checkpoint, and ``flask --app app audit verify`` must pass.
"""
from __future__ import annotations

import concurrent.futures
import copy
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import requests
from sqlalchemy import exists, func, select

from portal.audit.models import AuditCheckpoint, AuditEntry, AuditLeaf
from portal.bulletins.models import Bulletin, BulletinAudience
from portal.extensions import db
from portal.outbox import Delivery, OutboxMessage
from portal.submissions.models import Submission
from portal.types import utcnow
from portal.vocabulary import Classification
from tests.conftest import TEST_SECRETS, bearer
from tests.idp import free_port
from tests.mail import SmtpSink

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the virtualenv running the tests: its python, gunicorn and flask

STARTUP_SECONDS = 30  # for a server to answer /healthz
TRAFFIC_SECONDS = 60  # for one phase of client requests
DRAIN_SECONDS = 60  # for the schedulers to deliver everything and seal every entry
COMMAND_SECONDS = 60  # for a one-shot `flask` command
CLIENTS = 8
REPORTS_PER_BANK = 6  # half before the schedulers start (a backlog), half while they run
READS_BEFORE_SCHEDULERS = 40
READS_WITH_SCHEDULERS = 80  # a few scheduler ticks long: sealing and sending while requests write
REFERENCE = re.compile(r"SAR-\d{4}-\d{6}")

REPORT = {  # docs/contract.md's example
    "recipient_org": "nz-fiu",
    "classification": "IN-CONFIDENCE",
    "typologies": ["money-laundering"],
    "narrative": "Free text: what was seen and why it is suspicious.",
    "subjects": [
        {"id": "p1", "kind": "person", "names": ["Sione Taufa"], "date_of_birth": "1987-03-14",
         "nationality": "TO", "documents": [{"type": "passport", "number": "T1234567", "country": "TO"}]},
        {"id": "a1", "kind": "account", "institution": "Harbour Bank", "number": "12-3456-7890123-00"},
        {"id": "e1", "kind": "entity", "name": "Blue Reef Trading Ltd", "registration_number": "6543210",
         "country": "NZ"},
    ],
    "transactions": [
        {"date": "2026-10-01", "amount": "9500.00", "currency": "NZD", "from": "a1", "to": "e1", "method": "cash"}
    ],
}


# --- Processes ------------------------------------------------------------------------------------

def portal_environment(database_url: str, instance: Path, smtp_port: int) -> dict[str, str]:
    """What every portal process of this deployment gets (and nothing PORTAL_* from outside)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PORTAL_")}
    runtime = instance.parent / f"runtime-{instance.name}"  # e.g. gunicorn's control socket: not shared either
    runtime.mkdir(mode=0o700, exist_ok=True)
    env.update({
        "XDG_RUNTIME_DIR": str(runtime),
        "PORTAL_ENV": "test",
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_INSTANCE_PATH": str(instance),
        "PORTAL_BASE_URL": "http://localhost",
        **{f"PORTAL_{name.upper()}": value for name, value in TEST_SECRETS.items()},
        "PORTAL_SMTP_HOST": "127.0.0.1",
        "PORTAL_SMTP_PORT": str(smtp_port),
        "PORTAL_SCHEDULER_TICK_SECONDS": "1",
        "PORTAL_AUDIT_SEAL_SECONDS": "1",
        "PORTAL_AUDIT_CHECKPOINT_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    })
    return env


class Process:
    """A portal process started from the repository root; its output goes to files in ``logs``."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.stdout_path, self.stderr_path = logs / f"{name}.out", logs / f"{name}.err"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=err)

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def output(self) -> str:
        return f"--- {self.name} stdout ---\n{self.stdout()[-4000:]}\n" \
               f"--- {self.name} stderr ---\n{self.stderr()[-8000:]}"

    def stop(self, timeout: float = 15, first: signal.Signals = signal.SIGTERM) -> None:
        """``first`` (SIGTERM: gunicorn's graceful stop; SIGINT: the scheduler's Ctrl+C, which lets a
        running job finish and release its lease), then SIGTERM, then SIGKILL."""
        for sig in dict.fromkeys((first, signal.SIGTERM, signal.SIGKILL)):
            if not self.running:
                return
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                continue


def start_web_server(name: str, port: int, env: dict[str, str], logs: Path) -> Process:
    return Process(name, [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4",
                          "--worker-class", "gthread", "--bind", f"127.0.0.1:{port}", "app:create_app()"],
                   env, logs)


def start_scheduler(name: str, env: dict[str, str], logs: Path) -> Process:
    return Process(name, [str(BIN / "flask"), "--app", "app", "scheduler"], env, logs)


def wait_until_healthy(server: Process, base: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if not server.running:
            print(server.output())
            raise AssertionError(f"{server.name} exited with status {server.popen.returncode} before answering "
                                 f"/healthz:\n{server.stderr()[-4000:]}")
        try:
            response = requests.get(f"{base}/healthz", timeout=2)
            if response.status_code == 200 and response.json() == {"status": "ok"}:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    print(server.output())
    raise AssertionError(f"{server.name} did not answer /healthz within {STARTUP_SECONDS} s:\n"
                         f"{server.stderr()[-4000:]}")


def flask_command(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=COMMAND_SECONDS)


# --- Clients --------------------------------------------------------------------------------------

class Clients:
    """A bounded pool of HTTP clients (one keep-alive session per thread) that records every answer."""

    def __init__(self) -> None:
        self.pool = concurrent.futures.ThreadPoolExecutor(CLIENTS, thread_name_prefix="client")
        self.local = threading.local()
        self.sessions: list[requests.Session] = []
        self.lock = threading.Lock()
        self.answers: list[dict[str, Any]] = []

    def _session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            with self.lock:
                self.sessions.append(self.local.session)
        return self.local.session

    def call(self, kind: str, who: str, method: str, url: str, headers: dict[str, str],
             body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self._session().request(method, url, headers=headers, json=body, timeout=30)
            answer = {"kind": kind, "who": who, "url": url, "status": response.status_code,
                      "replayed": response.headers.get("Idempotent-Replayed"),
                      "body": response.json() if response.headers.get("Content-Type", "").startswith(
                          "application/json") else response.text[:500]}
        except requests.RequestException as exc:  # a server that dropped the connection: counted, not hidden
            answer = {"kind": kind, "who": who, "url": url, "status": None, "replayed": None, "body": repr(exc)}
        with self.lock:
            self.answers.append(answer)
        return answer

    def run(self, tasks: list[Callable[[], dict[str, Any]]]) -> list[dict[str, Any]]:
        futures = [self.pool.submit(task) for task in tasks]
        done, not_done = concurrent.futures.wait(futures, timeout=TRAFFIC_SECONDS)
        for future in not_done:
            future.cancel()
        assert not not_done, f"{len(not_done)} of {len(futures)} requests did not finish in {TRAFFIC_SECONDS} s"
        return [future.result() for future in futures]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        for session in self.sessions:
            session.close()


# --- The database, seen from the test -------------------------------------------------------------

def _count(statement: Any) -> int:
    return int(db.session.scalar(statement) or 0)


def backlog() -> dict[str, int]:
    """What the schedulers still have to do: messages to fan out, deliveries to send, entries to seal,
    and sealed entries no signed checkpoint covers yet. A fresh transaction each time."""
    db.session.rollback()
    try:
        tree = _count(select(func.count()).select_from(AuditLeaf))
        return {
            "undispatched messages": _count(select(func.count()).select_from(OutboxMessage)
                                            .where(OutboxMessage.dispatched_at.is_(None))),
            "pending deliveries": _count(select(func.count()).select_from(Delivery)
                                         .where(Delivery.status == "pending")),
            "unsealed entries": _count(select(func.count()).select_from(AuditEntry)
                                       .where(~exists().where(AuditLeaf.entry_id == AuditEntry.id))),
            "sealed entries without a checkpoint": tree - _count(select(func.max(AuditCheckpoint.tree_size))),
        }
    finally:
        db.session.rollback()


def sealed() -> int:
    db.session.rollback()
    try:
        return _count(select(func.count()).select_from(AuditLeaf))
    finally:
        db.session.rollback()


def wait_for(condition: Callable[[], Any], seconds: float, schedulers: list[Process]) -> Any:
    """Poll ``condition`` until it is truthy or ``seconds`` pass (then return its last value);
    fail at once if a scheduler dies meanwhile."""
    deadline = time.monotonic() + seconds
    while True:
        for scheduler in schedulers:
            assert scheduler.running, f"{scheduler.name} exited:\n{scheduler.output()}"
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(0.25)


# --- The test -------------------------------------------------------------------------------------

def test_two_servers_and_two_schedulers_on_one_database_record_every_read_and_send_each_message_once(
        app, world, database_url, tmp_path):
    started = time.monotonic()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        timings[name] = round(time.monotonic() - started - sum(timings.values()), 1)

    # 1. The world, built in-process and committed; then the engine lets go of the database.
    fiu = world.org("nz-fiu", kind="government", sector="fiu", name="Financial Intelligence Unit")
    customs = world.org("nz-customs", kind="government", sector="customs", name="NZ Customs")
    analyst = world.user("analyst@fiu.example", fiu, ("analyst",), clearance="RESTRICTED")  # TOTP: set up by World
    banks = {}
    for slug, name in (("harbour-bank", "Harbour Bank"), ("kowhai-bank", "Kowhai Bank")):
        org = world.org(slug, name=name)
        submitter = world.user(f"risk@{slug}.example", org, ("submitter",))
        readers = [world.user(f"reader{n}@{slug}.example", org, ("viewer",)) for n in (1, 2)]
        banks[slug] = {"submitter_email": submitter.email, "submitter_headers": bearer(submitter),
                       "readers": [(r.id, r.email, bearer(r)) for r in readers]}
    bulletin = Bulletin(author_org=customs, title="Mule accounts", classification=Classification.UNCLASSIFIED,
                        tlp="GREEN", status="published", published_at=utcnow())
    for slug in banks:
        bulletin.audience.append(BulletinAudience(kind="org", value=slug))
    db.session.add(bulletin)
    db.session.commit()
    bulletin_id, analyst_email = bulletin.id, analyst.email
    reader_ids = {rid for bank in banks.values() for rid, _, _ in bank["readers"]}
    readers = [reader for bank in banks.values() for reader in bank["readers"]]
    db.session.remove()
    db.engine.dispose()

    sink = SmtpSink(free_port()).start()
    logs = tmp_path / "logs"
    logs.mkdir()

    def env(name: str) -> dict[str, str]:  # one instance directory per process: nothing shared on disk
        return portal_environment(database_url, tmp_path / f"instance-{name}", sink.port)

    processes: list[Process] = []
    schedulers: list[Process] = []
    clients = Clients()
    bodies: dict[tuple[str, str], dict[str, Any]] = {}
    created: dict[tuple[str, str], dict[str, Any]] = {}
    replays: list[dict[str, Any]] = []
    try:
        # 2. Two web servers on two ports.
        bases = []
        for name in ("server-a", "server-b"):
            port = free_port()
            processes.append(start_web_server(name, port, env(name), logs))
            bases.append(f"http://127.0.0.1:{port}")
        for server, base in zip(processes, bases, strict=True):
            wait_until_healthy(server, base)
        lap("servers up")

        def reads(phase: int, count: int) -> list[Callable[[], dict[str, Any]]]:
            tasks = []
            for n in range(count):
                _, email, headers = readers[n % len(readers)]
                base = bases[(n + n // len(readers) + phase) % 2]  # each reader alternates between the servers
                if n % 3 == 2:
                    url, kind = f"{base}/api/v1/bulletins?limit=5", "list"
                else:
                    url, kind = f"{base}/api/v1/bulletins/{bulletin_id}", "read"
                tasks.append(lambda k=kind, e=email, u=url, h=headers: clients.call(k, e, "GET", u, h))
            return tasks

        def reports(numbers: range) -> list[Callable[[], dict[str, Any]]]:
            tasks = []
            for index, (slug, bank) in enumerate(banks.items()):
                for n in numbers:
                    key = f"{slug}-report-{n}"
                    body = copy.deepcopy(REPORT)
                    body["narrative"] = f"Report {n} of {slug}: cash deposits just under the threshold."
                    bodies[(slug, key)] = body
                    base = bases[(n + index) % 2]
                    headers = {**bank["submitter_headers"], "Idempotency-Key": key}
                    tasks.append(submit(slug, key, base, headers, body))
            return tasks

        def submit(slug: str, key: str, base: str, headers: dict[str, str],
                   body: dict[str, Any]) -> Callable[[], dict[str, Any]]:
            def task() -> dict[str, Any]:
                answer = clients.call("create", slug, "POST", f"{base}/api/v1/submissions", headers, body)
                created[(slug, key)] = {**answer, "base": base}
                return answer
            return task

        # 3a. Traffic before any scheduler runs: the outbox and the audit log build up a backlog.
        half = REPORTS_PER_BANK // 2
        clients.run(reports(range(half)) + reads(0, READS_BEFORE_SCHEDULERS))
        lap("traffic before the schedulers")

        # 4. Two schedulers, then more traffic while they run: every first report's key replayed to the
        # OTHER server, the remaining reports, and more reads.
        for name in ("scheduler-1", "scheduler-2"):
            scheduler = start_scheduler(name, env(name), logs)
            processes.append(scheduler)
            schedulers.append(scheduler)
        assert wait_for(lambda: all("Scheduler running" in s.stdout() for s in schedulers) and sealed() > 0,
                        STARTUP_SECONDS, schedulers), f"the schedulers were not at work within {STARTUP_SECONDS} s"
        lap("schedulers at work")

        def replay(slug: str) -> Callable[[], dict[str, Any]]:
            key = f"{slug}-report-0"
            original = created[(slug, key)]
            other = bases[1 - bases.index(original["base"])]
            headers = {**banks[slug]["submitter_headers"], "Idempotency-Key": key}

            def task() -> dict[str, Any]:
                answer = clients.call("replay", slug, "POST", f"{other}/api/v1/submissions", headers,
                                      bodies[(slug, key)])
                replays.append({**answer, "original": original})
                return answer
            return task

        clients.run([replay(slug) for slug in banks] + reports(range(half, REPORTS_PER_BANK))
                    + reads(1, READS_WITH_SCHEDULERS))
        clients.close()
        lap("traffic with the schedulers")

        drained = wait_for(lambda: not any(backlog().values()), DRAIN_SECONDS, schedulers)
        lap("drained")
        assert drained, f"after {DRAIN_SECONDS} s the schedulers still had work: {backlog()}"
        for scheduler in schedulers:
            assert scheduler.running, f"{scheduler.name} exited:\n{scheduler.output()}"
            scheduler.stop(first=signal.SIGINT)
        lap("schedulers stopped")

        # Nothing is left for one more run of every job.
        once = flask_command(["jobs", "run-once"], env("jobs-run-once"))
        assert once.returncode == 0, once.stdout + once.stderr
        left = backlog()
        assert not any(left.values()), left
        lap("jobs run-once")
        verified = flask_command(["audit", "verify"], env("audit-verify"))
        lap("audit verify")
    except BaseException:
        for process in processes:
            print(process.output())
        raise
    finally:
        clients.close()
        for process in processes:
            process.stop()
        sink.stop()

    # 5. What the clients were told: no server error; every read answered; every report taken.
    answers = clients.answers
    failures = [a for a in answers if a["status"] is None or a["status"] >= 500]
    assert not failures, f"{len(failures)} server errors or dropped connections: {failures[:5]}\n" + "\n".join(
        process.output() for process in processes if process not in schedulers)
    assert all(a["status"] == 200 for a in answers if a["kind"] in ("read", "list")), \
        [a for a in answers if a["kind"] in ("read", "list") and a["status"] != 200][:5]
    read_ok = sum(1 for a in answers if a["kind"] == "read" and a["status"] == 200)
    list_ok = sum(1 for a in answers if a["kind"] == "list" and a["status"] == 200)
    assert read_ok and list_ok
    assert len(created) == 2 * REPORTS_PER_BANK
    assert all(a["status"] == 201 for a in created.values()), [a for a in created.values() if a["status"] != 201]
    references = {key: answer["body"]["reference"] for key, answer in created.items()}
    assert len(set(references.values())) == len(references), references  # one reference each, across servers
    assert len(replays) == len(banks)
    for answer in replays:
        assert answer["status"] == 201 and answer["replayed"] == "true", answer
        assert answer["body"]["reference"] == answer["original"]["body"]["reference"], answer
        assert answer["url"] != answer["original"]["url"]  # sent to the other server

    # Each report exists exactly once per idempotency key.
    rows = db.session.execute(select(Submission.idempotency_key, Submission.reference, func.count())
                              .group_by(Submission.idempotency_key, Submission.reference)).all()
    assert sorted((key, reference, 1) for (_, key), reference in references.items()) == sorted(map(tuple, rows))

    # Every successful read and list is in the audit log, under its reader.
    def audited(action: str) -> int:
        return _count(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action,
                                                                           AuditEntry.actor_id.in_(reader_ids)))

    assert audited("bulletin.read") == read_ok, f"{read_ok} bulletins read, {audited('bulletin.read')} audited"
    assert audited("bulletin.list") == list_ok, f"{list_ok} lists read, {audited('bulletin.list')} audited"
    assert _count(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "submission.create")) \
        == len(created)
    assert _count(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "submission.replay")) \
        == len(replays)
    total_entries = _count(select(func.count()).select_from(AuditEntry))
    assert _count(select(func.count()).select_from(AuditLeaf)) == total_entries  # every entry sealed, once
    assert _count(select(func.count()).select_from(AuditCheckpoint)) >= 1
    assert _count(select(func.max(AuditCheckpoint.tree_size))) == total_entries  # ...under a signed checkpoint

    # `audit verify`, run as its own process, passes and counts at least one entry per request made.
    assert verified.returncode == 0, verified.stdout + verified.stderr
    count = re.search(r"(\d+) entries verified", verified.stdout)
    assert count, verified.stdout
    assert int(count.group(1)) >= len(answers) and int(count.group(1)) == total_entries, (verified.stdout,
                                                                                           len(answers))

    # Every e-mail for these reports arrived exactly once, although two schedulers ran: the receipt to
    # the submitter and the notice to the FIU's analyst, and nothing else.
    messages = list(sink.messages)
    ids = [m["Message-ID"] for m in messages]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    assert not twice, f"{len(ids)} e-mails, {len(twice)} of them sent more than once, e.g. {twice[:3]}"
    received: dict[tuple[str, str], int] = {}
    for message in messages:
        text = str(message["Subject"]) + message.get_body(("plain",)).get_content()
        for reference in set(REFERENCE.findall(text)):
            received[(message["To"], reference)] = received.get((message["To"], reference), 0) + 1
    expected = {(who, reference): 1 for (slug, _), reference in references.items()
                for who in (banks[slug]["submitter_email"], analyst_email)}
    assert received == expected, {k: (received.get(k), expected.get(k)) for k in received.keys() | expected.keys()
                                  if received.get(k) != expected.get(k)}
    assert len(messages) == len(expected)
    statuses = db.session.execute(select(Delivery.status, func.count()).where(Delivery.channel == "email")
                                  .group_by(Delivery.status)).all()
    assert dict(statuses) == {"sent": len(expected)}, statuses

    # Neither a server nor a scheduler logged an unhandled error (a failed job, a failed request).
    for process in processes:
        assert "Traceback" not in process.stderr(), process.output()
    print(f"{database_url.split(':')[0]}: {len(answers)} requests ({read_ok} reads, {list_ok} lists, "
          f"{len(created)} reports, {len(replays)} replays), {len(messages)} e-mails, {total_entries} audit entries "
          f"verified, in {time.monotonic() - started:.1f} s: {timings}")
