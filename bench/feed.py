"""Feed speed at a million bulletins.

Bulk-loads bulletins across 500 organisations (not through the API), starts one gunicorn server,
signs in as a mid-clearance bank user, and measures — at 10,000 bulletins and again at the full
count, in one run — the feed's first page, a full-text search, and ``GET /healthz``: requests per
second and p95 latency for each, and the ratios. Targets: feed first page >= 1/3 of /healthz
throughput; feed p95 at the full count within 1.5x of its p95 at 10,000.

    .venv/bin/python bench/feed.py [--bulletins 1000000] [--requests 400] [--clients 8]
"""
from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECTORS = {"government": ["customs", "police", "fiu", "immigration"], "private": ["banking", "ports", "freight",
                                                                                     "airports", "remittance"],
           "pacific": ["police", "customs", "regional-centre"]}
COUNTRIES = ["NZ", "NZ", "NZ", "WS", "TO", "FJ", "CK", "AU"]
WORDS = ("container seal reefer mule account courier cash transfer vessel flight wallet cocaine tobacco firearm "
         "wildlife invoice shipment broker remittance gang deportee airport port manifest").split()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build(url: str, workdir: Path, organisations: int):
    from flask_migrate import upgrade

    from app import create_app
    from portal.accounts.models import User
    from portal.accounts.passwords import hash_password
    from portal.extensions import db
    from portal.organisations.models import Organisation
    from portal.vocabulary import Classification, Role

    app = create_app({"env": "test", "database_url": url, "instance_path": str(workdir), "secret_key": "b" * 48,
                      "audit_key": "a" * 48})
    with app.app_context():
        upgrade()
        orgs = []
        for n in range(organisations):
            kind = random.choices(["government", "private", "pacific"], [1, 6, 2])[0]
            org = Organisation(slug=f"org-{n}", name=f"Organisation {n}", kind=kind,
                               sector=random.choice(SECTORS[kind]), country="NZ" if kind != "pacific" else
                               random.choice(COUNTRIES[3:]))
            orgs.append(org)
        bank = Organisation(slug="bench-bank", name="Bench Bank", kind="private", sector="banking", country="NZ")
        db.session.add_all(orgs + [bank])
        db.session.flush()
        user = User(email="reader@bench-bank.example", organisation_id=bank.id, clearance=Classification.IN_CONFIDENCE,
                    password_hash=hash_password("bench password 2026"))
        user.set_roles({Role.VIEWER})
        db.session.add(user)
        db.session.commit()
        return app, [(o.id, o.slug) for o in orgs]


def load(app, orgs, start: int, stop: int) -> None:
    """Bulk insert bulletins [start, stop) with one audience row each, in chunks."""
    import datetime as dt

    from sqlalchemy import insert

    from portal.bulletins.models import Bulletin, BulletinAudience
    from portal.extensions import db

    now = dt.datetime.now(dt.timezone.utc)
    with app.app_context():
        for chunk in range(start, stop, 20_000):
            rows, audience = [], []
            for i in range(chunk, min(chunk + 20_000, stop)):
                author_id, _ = random.choice(orgs)
                rows.append({"id": i + 1, "author_org_id": author_id, "title": " ".join(random.sample(WORDS, 5)),
                             "summary": " ".join(random.sample(WORDS, 12)), "body_html": "",
                             "classification": random.choices([0, 1, 2, 3], [4, 4, 2, 1])[0],
                             "tlp": random.choice(["CLEAR", "GREEN", "AMBER", "AMBER+STRICT"]), "status": "published",
                             "version": 1, "created_at": now - dt.timedelta(seconds=stop - i),
                             "published_at": now - dt.timedelta(seconds=stop - i), "withdrawn_reason": ""})
                kind, value = random.choice([("org", random.choice(orgs)[1]), ("sector", "banking"),
                                             ("sector", random.choice(SECTORS["private"])),
                                             ("country", random.choice(COUNTRIES))])
                audience.append({"bulletin_id": i + 1, "kind": kind, "value": value})
            db.session.execute(insert(Bulletin), rows)
            db.session.execute(insert(BulletinAudience), audience)
            db.session.commit()
        db.session.remove()


def measure(base: str, cookies, path: str, total: int, clients: int) -> tuple[float, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = total // clients

    def work() -> None:
        session = requests.Session()
        session.cookies.update(cookies)
        for _ in range(per_client):
            started = time.perf_counter()
            response = session.get(base + path, timeout=60)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, (path, response.status_code)
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    p95 = statistics.quantiles(latencies, n=20)[18]
    return len(latencies) / wall, p95


def run_round(base: str, cookies, label: str, args) -> dict[str, tuple[float, float]]:
    results = {}
    for name, path in (("healthz", "/healthz"), ("feed", "/bulletins"), ("search", "/bulletins?q=cash+courier")):
        measure(base, cookies, path, args.clients * 2, args.clients)  # warm up
        results[name] = measure(base, cookies, path, args.requests, args.clients)
        rps, p95 = results[name]
        print(f"  {label:>9} bulletins  {name:8} {rps:8.1f} req/s   p95 {p95 * 1000:7.1f} ms", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bulletins", type=int, default=1_000_000)
    parser.add_argument("--organisations", type=int, default=500)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    random.seed(2026)
    workdir = Path(tempfile.mkdtemp(prefix="bench-feed-"))
    url = args.database_url or f"sqlite:///{workdir / 'feed.sqlite3'}"
    app, orgs = build(url, workdir, args.organisations)
    small = min(10_000, args.bulletins)
    started = time.perf_counter()
    load(app, orgs, 0, small)
    port = free_port()
    env = {**os.environ, "PORTAL_ENV": "test", "PORTAL_DATABASE_URL": url, "PORTAL_INSTANCE_PATH": str(workdir),
           "PORTAL_SECRET_KEY": "b" * 48, "PORTAL_AUDIT_KEY": "a" * 48, "PORTAL_BASE_URL": f"http://127.0.0.1:{port}"}
    server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "--workers", str(args.workers), "--bind",
                               f"127.0.0.1:{port}", "--log-level", "warning", "app:create_app()"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        session = requests.Session()
        page = session.get(base + "/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        session.post(base + "/login", data={"csrf_token": token, "email": "reader@bench-bank.example",
                                            "password": "bench password 2026"}, allow_redirects=False)
        cookies = session.cookies
        print(f"{args.requests} requests per measurement, {args.clients} concurrent clients, "
              f"gunicorn with {args.workers} workers, {url.split(':')[0]}", flush=True)
        first = run_round(base, cookies, f"{small:,}", args)
        load(app, orgs, small, args.bulletins)
        print(f"  (loaded {args.bulletins:,} bulletins in {time.perf_counter() - started:.0f} s)", flush=True)
        second = run_round(base, cookies, f"{args.bulletins:,}", args)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    health_rps = second["healthz"][0]
    print(f"feed first page / healthz throughput: {second['feed'][0] / health_rps:.2f}  (target >= 0.33)")
    print(f"search / healthz throughput:          {second['search'][0] / health_rps:.2f}")
    print(f"feed p95 at {args.bulletins:,} / at {small:,}: {second['feed'][1] / first['feed'][1]:.2f}  (target <= 1.5)")
    print(f"search p95 at {args.bulletins:,} / at {small:,}: {second['search'][1] / first['search'][1]:.2f}")


if __name__ == "__main__":
    main()
