"""Shared by the benchmark scripts: a throw-away database, bulk-loaded bulletins with two readers,
a gunicorn server on loopback, a bounded HTTP load loop, and CPU accounting from /proc.

Not a benchmark itself; ``bench/feed.py``, ``bench/scaling.py`` and ``bench/profile_api.py`` import it.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LOOPBACK = "127.0.0.1"
#: The same secrets for the loading process and the server, so both read what the other wrote.
SECRETS = {"secret_key": "b" * 48, "audit_key": "a" * 48, "blind_index_key": "i" * 48,
           "data_keys": "bench1:" + "QmVuY2hLZXlCZW5jaEtleUJlbmNoS2V5QmVuY2hLZXk="}
PASSWORD = "bench password 2026"
READ_SCOPES = ["bulletins:read"]

SECTORS = {"government": ["customs", "police", "fiu", "immigration"],
           "private": ["banking", "ports", "freight", "airports", "remittance"],
           "pacific": ["police", "customs", "regional-centre"]}
PACIFIC = ["WS", "TO", "FJ", "CK", "NU", "VU"]
WORDS = ("container seal reefer mule account courier cash transfer vessel flight wallet cocaine tobacco firearm "
         "wildlife invoice shipment broker remittance gang deportee airport port manifest").split()


# --- The two readers ---------------------------------------------------------------------------

@dataclass
class Reader:
    """A person whose view of the feed is measured; ``token`` is their clear API token."""

    name: str
    org_slug: str
    kind: str
    sector: str
    country: str
    email: str
    token: str = ""
    share: float = 0.0  # measured: visible bulletins / all bulletins, through portal.policy

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def readers() -> dict[str, Reader]:
    return {
        # A bank in New Zealand: sector banking, country NZ, clearance IN-CONFIDENCE; sees about a third.
        "broad": Reader("broad", "bench-bank", "private", "banking", "NZ", "reader@bench-bank.example"),
        # A Pacific police officer in Tonga, same clearance; sees about 1 %.
        "narrow": Reader("narrow", "bench-tonga-police", "pacific", "police", "TO", "officer@bench-tonga.example"),
    }


# Each bulletin gets one audience row, drawn from these weights. With classifications drawn 4:4:2:1
# (8/11 at or below IN-CONFIDENCE) the broad reader (banking | NZ: 0.46) sees ~0.46 x 8/11 = 33 %,
# and the narrow one (sector police 0.005 | country TO 0.06/6): ~0.015 x 8/11 = 1.1 %.
AUDIENCE_WEIGHTS: list[tuple[float, Callable[[random.Random, list[str]], tuple[str, str]]]] = [
    (0.400, lambda rng, slugs: ("sector", "banking")),
    (0.060, lambda rng, slugs: ("country", "NZ")),
    (0.250, lambda rng, slugs: ("sector", rng.choice(["ports", "freight", "airports", "remittance", "telecoms"]))),
    (0.100, lambda rng, slugs: ("sector", rng.choice(["customs", "fiu", "immigration", "corrections", "revenue"]))),
    (0.005, lambda rng, slugs: ("sector", "police")),
    (0.060, lambda rng, slugs: ("country", rng.choice(PACIFIC))),
    (0.030, lambda rng, slugs: ("country", "AU")),
    (0.095, lambda rng, slugs: ("org", rng.choice(slugs))),
]


# --- Database ----------------------------------------------------------------------------------

class ThrowawayPostgres:
    """A PostgreSQL server (the ``pgserver`` wheel) in a fresh temporary directory, stopped on close."""

    def __init__(self) -> None:
        self.runtime_dir: str | None = None
        if not os.environ.get("XDG_RUNTIME_DIR"):  # pgserver asks platformdirs for one, on import
            self.runtime_dir = os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="bench-runtime-")  # 0700
        import pgserver
        from sqlalchemy.engine import make_url

        self.dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.server = pgserver.get_server(str(self.dir / "pgdata"), cleanup_mode="stop")
        uri = make_url(self.server.get_uri())
        self.url = f"postgresql+psycopg://{uri.username or 'postgres'}@/{uri.database or 'postgres'}?host={uri.query['host']}"

    @property
    def pid(self) -> int | None:
        try:
            return self.server.get_pid()
        except Exception:  # noqa: BLE001  (only used for CPU accounting)
            return None

    def close(self) -> None:
        import atexit

        try:
            self.server.cleanup()  # stops the server
            atexit.unregister(self.server._cleanup)  # done: no second pass (it would re-create its lock file)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            if self.runtime_dir:
                shutil.rmtree(self.runtime_dir, ignore_errors=True)
                os.environ.pop("XDG_RUNTIME_DIR", None)

    def __enter__(self) -> "ThrowawayPostgres":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def database_for(args: Any, workdir: Path, filename: str) -> tuple[str, ThrowawayPostgres | None]:
    """``--postgres`` starts a throw-away server; ``--database-url`` is used as given; else SQLite."""
    if getattr(args, "postgres", False):
        if getattr(args, "database_url", ""):
            raise SystemExit("Give --postgres or --database-url, not both.")
        postgres = ThrowawayPostgres()
        return postgres.url, postgres
    return getattr(args, "database_url", "") or f"sqlite:///{workdir / filename}", None


def backend_name(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgres") else "SQLite"


def settings(url: str, workdir: Path, base_url: str = "http://127.0.0.1") -> dict[str, Any]:
    return {"env": "test", "database_url": url, "instance_path": str(workdir), "base_url": base_url, **SECRETS}


def server_environment(url: str, workdir: Path, base_url: str) -> dict[str, str]:
    """The same settings as ``settings()``, as the ``PORTAL_*`` variables gunicorn's app reads."""
    env = {**os.environ}
    for name, value in settings(url, workdir, base_url).items():
        env["PORTAL_" + name.upper()] = str(value)
    return env


def make_app(url: str, workdir: Path):
    from app import create_app

    return create_app(settings(url, workdir))


def migrate_and_populate(app, organisations: int, rng: random.Random, wanted: dict[str, Reader]) -> list[tuple[int, str]]:
    """Migrate (alembic, as ``flask db upgrade``), create ``organisations`` random organisations and
    the readers' organisations, users and API tokens (read scope). Returns (id, slug) of the random ones."""
    from flask_migrate import upgrade

    from portal.accounts.models import ApiToken, User
    from portal.accounts.passwords import hash_password
    from portal.extensions import db
    from portal.organisations.models import Organisation
    from portal.vocabulary import Classification, Role

    with app.app_context():
        logging.disable(logging.INFO)  # alembic's one line per migration
        try:
            upgrade()
        finally:
            logging.disable(logging.NOTSET)
        orgs = []
        for n in range(organisations):
            kind = rng.choices(["government", "private", "pacific"], [1, 6, 2])[0]
            orgs.append(Organisation(slug=f"org-{n}", name=f"Organisation {n}", kind=kind,
                                     sector=rng.choice(SECTORS[kind]),
                                     country="NZ" if kind != "pacific" else rng.choice(PACIFIC)))
        db.session.add_all(orgs)
        password_hash = hash_password(PASSWORD)
        expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
        for reader in wanted.values():
            org = Organisation(slug=reader.org_slug, name=f"Bench {reader.name}", kind=reader.kind,
                               sector=reader.sector, country=reader.country)
            db.session.add(org)
            db.session.flush()
            user = User(email=reader.email, organisation_id=org.id, clearance=Classification.IN_CONFIDENCE,
                        password_hash=password_hash)
            user.set_roles({Role.VIEWER})
            db.session.add(user)
            db.session.flush()
            token, clear = ApiToken.issue(user, f"bench {reader.name}", READ_SCOPES, expires)
            db.session.add(token)
            reader.token = clear
        db.session.commit()
        found = [(o.id, o.slug) for o in orgs]
        db.session.remove()
        return found


#: Indicators that ``load_bulletins(indicators=n)`` gives each bulletin, in turn (STIX has a type for each).
BENCH_INDICATORS = (("domain", "{n}.bench.example"), ("ip-address", "10.{a}.{b}.{c}"),
                    ("email", "mule{n}@bench.example"))


#: Typologies that ``load_bulletins(typologies=n)`` draws from (the shipped ones).
BENCH_TYPOLOGIES = ("drug-importation", "money-laundering", "migrant-exploitation", "illicit-tobacco", "firearms",
                    "cyber-enabled-fraud", "sanctions-evasion", "trade-based-money-laundering")


def bench_body(rng: random.Random, paragraphs: int) -> str:
    """A sanitised bulletin body as stored: ``paragraphs`` paragraphs of about 40 words (about 300
    bytes each), one with emphasis and one a short list."""
    parts = [f"<p>{' '.join(rng.choices(WORDS, k=40))}</p>" for _ in range(paragraphs)]
    if paragraphs:
        parts[0] = parts[0].replace("<p>", "<p><strong>Assessment:</strong> ", 1)
        parts.append("<ul>" + "".join(f"<li>{' '.join(rng.choices(WORDS, k=6))}</li>" for _ in range(3)) + "</ul>")
    return "".join(parts)


def load_bulletins(app, orgs: list[tuple[int, str]], start: int, stop: int, rng: random.Random,
                   chunk_size: int = 20_000, indicators: int = 0,
                   audience: tuple[str, str] | None = None, typologies: int = 0, paragraphs: int = 0) -> None:
    """Bulk insert published bulletins with ids (start, stop], one audience row each (not through the API),
    ``indicators`` indicators, ``typologies`` typologies and a body of ``paragraphs`` paragraphs each
    (``bench_body``). ``audience``: the one audience row of every bulletin (which are then
    UNCLASSIFIED or IN-CONFIDENCE), instead of random ones."""
    from sqlalchemy import insert, text

    from portal.bulletins.models import Bulletin, BulletinAudience, BulletinIndicator, BulletinTypology
    from portal.extensions import db

    weights = [w for w, _ in AUDIENCE_WEIGHTS]
    pickers = [p for _, p in AUDIENCE_WEIGHTS]
    slugs = [slug for _, slug in orgs]
    now = dt.datetime.now(dt.timezone.utc)
    with app.app_context():
        for chunk in range(start, stop, chunk_size):
            rows, audience_rows, values, codes = [], [], [], []
            for i in range(chunk, min(chunk + chunk_size, stop)):
                at = now - dt.timedelta(seconds=stop - i)
                rows.append({"id": i + 1, "author_org_id": rng.choice(orgs)[0],
                             "title": " ".join(rng.sample(WORDS, 5)), "summary": " ".join(rng.sample(WORDS, 12)),
                             "body_html": bench_body(rng, paragraphs), "classification": rng.choices([0, 1, 2, 3], [4, 4, 2, 1])[0]
                             if audience is None else rng.choice([0, 1]),
                             "tlp": rng.choice(["CLEAR", "GREEN", "AMBER", "AMBER+STRICT"]), "status": "published",
                             "version": 1, "created_at": at, "published_at": at, "readers_changed_at": at,
                             "withdrawn_reason": ""})
                kind, value = audience or rng.choices(pickers, weights)[0](rng, slugs)
                audience_rows.append({"bulletin_id": i + 1, "kind": kind, "value": value})
                for position in range(indicators):
                    kind, template = BENCH_INDICATORS[position % len(BENCH_INDICATORS)]
                    n = (i + 1) * indicators + position
                    text_value = template.format(n=n, a=n >> 16 & 255, b=n >> 8 & 255, c=n & 255)
                    values.append({"bulletin_id": i + 1, "position": position, "type": kind, "value": text_value,
                                   "normalised": text_value})
                codes.extend({"bulletin_id": i + 1, "code": code} for code in rng.sample(BENCH_TYPOLOGIES, typologies))
            db.session.execute(insert(Bulletin), rows)
            db.session.execute(insert(BulletinAudience), audience_rows)
            if values:
                db.session.execute(insert(BulletinIndicator), values)
            if codes:
                db.session.execute(insert(BulletinTypology), codes)
            db.session.commit()
        if db.engine.dialect.name == "postgresql":  # explicit ids: keep the sequence ahead of them
            db.session.execute(text("SELECT setval(pg_get_serial_sequence('bulletins', 'id'), "
                                    "(SELECT max(id) FROM bulletins))"))
            db.session.commit()
        db.session.remove()


def analyse(app) -> float:
    """Gather the planner's statistics (``ANALYZE``, both databases), as a live system keeps them."""
    from sqlalchemy import text

    from portal.extensions import db

    started = time.perf_counter()
    with app.app_context():
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.session.remove()
    return time.perf_counter() - started


def measure_shares(app, wanted: dict[str, Reader]) -> int:
    """Each reader's share of visible bulletins: an SQL count through ``portal.policy.bulletin_readable``."""
    from sqlalchemy import func, select

    from portal import policy
    from portal.accounts.models import User
    from portal.bulletins.models import Bulletin
    from portal.extensions import db

    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Bulletin)) or 0
        for reader in wanted.values():
            user = db.session.scalar(select(User).where(User.email == reader.email))
            visible = db.session.scalar(select(func.count()).select_from(Bulletin)
                                        .where(policy.bulletin_readable(user))) or 0
            reader.share = visible / total if total else 0.0
        db.session.remove()
    return total


def loaded_app(url: str, workdir: Path, organisations: int, bulletins: int, rng: random.Random,
               wanted: dict[str, Reader]):
    """An application on ``url`` with the organisations, the readers and ``bulletins`` bulletins
    loaded, statistics gathered and each reader's share measured: what a benchmark of one size needs."""
    app = make_app(url, workdir)
    orgs = migrate_and_populate(app, organisations, rng, wanted)
    load_bulletins(app, orgs, 0, bulletins, rng)
    analyse(app)
    measure_shares(app, wanted)
    return app


# --- The server --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


class Gunicorn:
    """One gunicorn server on loopback; ``gthread`` when threads > 1, else ``sync`` unless told."""

    def __init__(self, url: str, workdir: Path, workers: int, threads: int, worker_class: str = "",
                 app_spec: str = "app:create_app()", health: str = "/healthz") -> None:
        self.app_spec, self.health = app_spec, health
        self.port = free_port()
        self.base = f"http://{LOOPBACK}:{self.port}"
        self.workers, self.threads = workers, threads
        self.worker_class = worker_class or ("gthread" if threads > 1 else "sync")
        self.env = server_environment(url, workdir, self.base)
        self.process: subprocess.Popen | None = None

    def describe(self) -> str:
        threads = f" x {self.threads} threads" if self.worker_class == "gthread" else ""
        return f"gunicorn {self.worker_class}, {self.workers} workers{threads}"

    def start(self, timeout: float = 60) -> "Gunicorn":
        import requests

        probe = loopback_session()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--threads", str(self.threads),
             "--worker-class", self.worker_class, "--bind", f"{LOOPBACK}:{self.port}", "--timeout", "120",
             "--log-level", "warning", self.app_spec], cwd=ROOT, env=self.env,
            start_new_session=True)  # its own process group: stop() can end a worker stuck in a request
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {self.process.returncode} while starting")
            try:
                if (probe.get(self.base + self.health, timeout=2).status_code in (200, 401)
                        and len(child_pids(self.process.pid)) >= self.workers):
                    probe.close()
                    self.wait_until_idle(deadline)
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        probe.close()
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s")

    def wait_until_idle(self, deadline: float, quiet: float = 0.05) -> None:
        """Wait until every worker has finished starting: one answering does not mean the others
        are done importing the application, and their start-up would be counted as the first
        measurement's server CPU. Idle: the server's processes used under ``quiet`` of a core over
        half a second."""
        assert self.process is not None
        last = tree_cpu(self.process.pid, _processes())
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = tree_cpu(self.process.pid, _processes())
            if now - last < quiet * 0.5:
                return
            last = now

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # e.g. a worker still busy with medallion's page: the whole group
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def __enter__(self) -> "Gunicorn":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def loopback_session():
    """A requests session that sends ``Secure`` cookies over plain HTTP to loopback (as browsers treat
    http://127.0.0.1 as a secure context); the portal always marks its session cookie Secure, and
    requests would otherwise never send it back to an http:// address."""
    import requests

    class LoopbackSession(requests.Session):
        def prepare_request(self, request):  # noqa: ANN001, ANN201
            if not request.url.startswith(f"http://{LOOPBACK}:"):
                raise ValueError("benchmark targets must be loopback addresses")
            for cookie in self.cookies:
                cookie.secure = False
            return super().prepare_request(request)

    session = LoopbackSession()
    session.trust_env = False  # no proxy from the environment: straight to loopback
    return session


def sign_in(base: str, email: str, password: str = PASSWORD):
    """A requests session signed in through the login page (CSRF token and all); checks it worked."""
    import re

    session = loopback_session()
    page = session.get(base + "/login", timeout=30).text
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    if not found:
        raise RuntimeError("no CSRF token on /login; has the sign-in form changed?")
    answer = session.post(base + "/login", data={"csrf_token": found.group(1), "email": email, "password": password},
                          allow_redirects=False, timeout=30)
    check = session.get(base + "/bulletins", allow_redirects=False, timeout=60)
    if answer.status_code not in (302, 303) or check.status_code != 200:
        raise RuntimeError(f"signing in as {email} failed: POST /login {answer.status_code}, "
                           f"GET /bulletins {check.status_code}")
    return session


# --- Load --------------------------------------------------------------------------------------

@dataclass
class Result:
    requests: int
    wall: float
    latencies: list[float] = field(repr=False, default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # cores used, by group

    @property
    def rps(self) -> float:
        return self.requests / self.wall if self.wall else 0.0

    @property
    def p95(self) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=20)[18]


def hammer(base: str, path: str, *, total: int, clients: int, max_seconds: float,
           headers: dict[str, str] | None = None, cookies: Any = None,
           check: Callable[[Any], str | None] | None = None) -> Result:
    """GET ``path`` ``total`` times from ``clients`` threads (keep-alive sessions), stopping early at
    ``max_seconds``. Anything but 200 (or a failed ``check``) stops the run with an error."""
    import requests

    if not base.startswith(f"http://{LOOPBACK}:"):
        raise ValueError("benchmark targets must be loopback addresses")
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def work(count: int) -> None:
        with loopback_session() as session:
            if cookies is not None:
                session.cookies.update(cookies)
            for _ in range(count):
                if failures or time.monotonic() > deadline:
                    return
                started = time.perf_counter()
                try:
                    response = session.get(base + path, headers=headers, timeout=60, allow_redirects=False)
                except requests.RequestException as exc:
                    with lock:
                        failures.append(f"GET {path}: {exc}")
                    return
                elapsed = time.perf_counter() - started
                problem = (f"GET {path} answered {response.status_code}: {response.text[:300]!r}"
                           if response.status_code != 200 else check(response) if check else None)
                with lock:
                    if problem:
                        failures.append(problem)
                        return
                    latencies.append(elapsed)

    counts = [total // clients + (1 if n < total % clients else 0) for n in range(clients)]
    threads = [threading.Thread(target=work, args=(count,), daemon=True) for count in counts if count]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max_seconds + 120)
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError(failures[0])
    return Result(len(latencies), wall, latencies)


def json_items(response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]!r}"
    return None if isinstance(body, dict) and isinstance(body.get("items"), list) else f"no items: {str(body)[:200]}"


# --- CPU accounting (/proc) --------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float, float]:
    """(parent pid, own CPU seconds, CPU seconds of reaped children) of a process."""
    data = Path(f"/proc/{pid}/stat").read_text()
    fields = data[data.rindex(")") + 2:].split()  # fields[0] is field 3 (state) of proc(5)
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK, (int(fields[13]) + int(fields[14])) / TICK


def _processes() -> dict[int, tuple[int, float, float]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                found[int(entry)] = _stat(int(entry))
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile
    return found


def child_pids(parent: int) -> list[int]:
    return [pid for pid, (ppid, _, _) in _processes().items() if ppid == parent]


def tree_cpu(root: int, table: dict[int, tuple[int, float, float]]) -> float:
    """CPU seconds of ``root``'s children (live, plus those already reaped) and of root itself."""
    if root not in table:
        return 0.0
    _, own, reaped = table[root]
    return own + reaped + sum(cpu for ppid, cpu, _ in table.values() if ppid == root)


def machine_busy() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: user nice system irq softirq steal)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


class CpuMeter:
    """Cores used during a measurement by the server (a process tree), the database, this client,
    and the whole machine. ``roots`` maps a label to a tree's root pid (None: not measurable)."""

    def __init__(self, roots: dict[str, int | None], client: Callable[[], float] = time.process_time) -> None:
        self.roots = roots
        self.client = client  # CPU seconds of the load generator (default: this process, all threads)

    def snapshot(self) -> dict[str, float]:
        table = _processes()
        shot = {name: tree_cpu(pid, table) for name, pid in self.roots.items() if pid}
        shot["client"] = self.client()
        shot["machine"] = machine_busy()
        shot["wall"] = time.perf_counter()
        return shot

    @staticmethod
    def cores(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        wall = after["wall"] - before["wall"]
        return {name: (after[name] - before[name]) / wall for name in after if name != "wall" and wall > 0}

    def run(self, action: Callable[[], Result]) -> Result:
        before = self.snapshot()
        result = action()
        result.cpu = self.cores(before, self.snapshot())
        return result


def cpu_columns(cpu: dict[str, float]) -> str:
    ncpu = os.cpu_count() or 1
    parts = [f"{name} {cpu[name]:.2f}" for name in ("server", "database", "client") if name in cpu]
    return "cores: " + " ".join(parts) + f" | machine {cpu.get('machine', 0):.2f}/{ncpu}"


def other_processes(cpu: dict[str, float]) -> float:
    """Cores the rest of the machine used meanwhile (not server, database or client)."""
    return max(0.0, cpu.get("machine", 0.0) - sum(cpu.get(n, 0.0) for n in ("server", "database", "client")))


def disturbance_note(cpus: list[dict[str, float]]) -> str | None:
    worst = max((other_processes(cpu) for cpu in cpus), default=0.0)
    if worst < 0.3:
        return None
    return (f"NOTE: other processes on this machine used up to {worst:.2f} cores during the measurements; "
            "the figures are disturbed — rerun on a quiet machine before recording them.")


def what_limited(cpu: dict[str, float], client_cores: float = 1.0) -> str:
    """A verdict from cores used: the machine's CPU (and whose), the client, or waiting.

    ``client_cores``: what the load generator can use at most (one core for a Python client, whose
    threads share one interpreter lock; its thread count for wrk)."""
    ncpu = os.cpu_count() or 1
    machine = cpu.get("machine", 0.0)
    users = {name: cpu[name] for name in ("server", "database", "client") if name in cpu}
    users["other processes"] = other_processes(cpu)
    biggest = max(users, key=users.get) if users else "?"
    shares = ", ".join(f"{name} {value:.2f}" for name, value in users.items())
    if machine >= 0.85 * ncpu:
        return (f"CPU: the machine was saturated ({machine:.2f} of {ncpu} cores: {shares})"
                + (f" — mostly the {biggest}" if biggest != "?" else ""))
    if cpu.get("client", 0.0) >= 0.85 * min(client_cores, ncpu):
        return (f"the client: it used {cpu['client']:.2f} of the {min(client_cores, ncpu):g} cores it can use, "
                f"with the machine not saturated ({machine:.2f} of {ncpu}) — the server may go faster")
    return (f"waiting: only {machine:.2f} of {ncpu} cores busy ({shares}) — requests waited on locks, "
            "I/O or each other, not on CPU")
