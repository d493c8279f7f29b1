"""Feed speed at a million bulletins, as partners' systems (the API) and people (the page) read it.

Bulk-loads bulletins across 500 organisations (not through the API; each with a body of three
paragraphs, three indicators and two typologies by default, as partners' bulletins have), then — at 10,000 bulletins
and again at the full count, in one run — gathers the database's statistics (ANALYZE), starts one
gunicorn server on loopback and measures, against that one server:

- ``GET /healthz`` and ``GET /api/v1/typologies``: baselines (no database; token check only);
- for two readers with API tokens (Bearer): ``GET /api/v1/bulletins?limit=50`` (the API feed's first
  page) and ``GET /api/v1/bulletins?q=cash+courier`` (API search). "broad" is a bank (sector
  banking, NZ, clearance IN-CONFIDENCE) that may read about a third of the bulletins; "narrow" a
  Pacific police officer (kind pacific, TO) who may read about 1 %. Each reader's share is counted
  in SQL through the portal's own access policy (``portal.policy.bulletin_readable``) and printed;
- for the broad reader, signed in with a session: the HTML page ``/bulletins`` and its search.

Prints req/s and p95 for each, the CPU used meanwhile (server processes, database, this client,
the whole machine, read from /proc) and the ratios. Targets: API feed first page >= 1/3 of
``/healthz`` throughput; API feed p95 at the full count within 1.5x of its p95 at 10,000. Ends with
what limited each measurement: the server's CPU, the client's, or waiting (locks, I/O).

    .venv/bin/python bench/feed.py [--bulletins 1000000] [--requests 400] [--clients 8]
                                   [--workers 5] [--threads 1] [--postgres | --database-url URL]
                                   [--indicators 3] [--typologies 2] [--paragraphs 3]

The server is README's deployment: gunicorn's sync worker, 2 x cores + 1 processes (``--threads 4``
measures the threaded worker instead).
"""
from __future__ import annotations

import argparse
import functools
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import benchlib as bl

SMALL = 10_000
HEALTH = "/healthz"
API_FEED = "/api/v1/bulletins?limit=50"
API_SEARCH = "/api/v1/bulletins?q=cash+courier"


def plan(readers: dict[str, bl.Reader]) -> list[tuple[str, str, str, str]]:
    """(label, reader, how it authenticates, path) for each measurement, baselines first."""
    return [
        ("healthz", "-", "none", HEALTH),
        ("typologies", "broad", "bearer", "/api/v1/typologies"),
        *[(kind, name, "bearer", path) for name in readers
          for kind, path in (("api-feed", API_FEED), ("api-search", API_SEARCH))],
        ("html-feed", "broad", "session", "/bulletins"),
        ("html-search", "broad", "session", "/bulletins?q=cash+courier"),
    ]


def run_round(server: bl.Gunicorn, meter: bl.CpuMeter, readers: dict[str, bl.Reader], label: str,
              args: argparse.Namespace) -> dict[tuple[str, str], bl.Result]:
    session = None
    results = {}
    for kind, who, auth, path in plan(readers):
        if auth == "session" and session is None:  # signed in just before use: no idle time-out meanwhile
            session = bl.sign_in(server.base, readers["broad"].email)
        options = {"headers": readers[who].bearer if auth == "bearer" else None,
                   "cookies": session.cookies if session is not None and auth == "session" else None,
                   "check": bl.json_items if path.startswith("/api/") else None}
        bl.hammer(server.base, path, total=args.clients * 2, clients=args.clients,  # warm up
                  max_seconds=args.max_seconds, **options)
        result = meter.run(functools.partial(bl.hammer, server.base, path, total=args.requests,
                                             clients=args.clients, max_seconds=args.max_seconds, **options))
        results[(kind, who)] = result
        cut = "" if result.requests == args.requests else f"  (stopped at {args.max_seconds:.0f} s)"
        print(f"  {label:>9}  {kind:11} {who:6} {result.rps:8.1f} req/s  p95 {result.p95 * 1000:8.1f} ms   "
              f"{bl.cpu_columns(result.cpu)}{cut}", flush=True)
    if session is not None:
        session.close()
    return results


def ratio_rounds(server: bl.Gunicorn, meter: bl.CpuMeter, readers: dict[str, bl.Reader],
                 args: argparse.Namespace) -> list[dict[str, bl.Result]]:
    """``/healthz`` and each reader's API feed, timed one right after the other, ``--ratio-rounds``
    times: the throughput of one measurement drifts with whatever else the machine does (and
    ``/healthz``'s with the client, which is its limit), so each ratio is taken within a round and
    the rounds' median reported."""
    paired = []
    for n in range(1, args.ratio_rounds + 1):
        results = {}
        for who, path, headers in (("healthz", HEALTH, None),
                                   *[(name, API_FEED, reader.bearer) for name, reader in readers.items()]):
            results[who] = meter.run(functools.partial(bl.hammer, server.base, path, total=args.requests,
                                                       clients=args.clients, max_seconds=args.max_seconds,
                                                       headers=headers,
                                                       check=bl.json_items if path == API_FEED else None))
        print(f"  round {n}: healthz {results['healthz'].rps:7.1f} req/s, "
              + ", ".join(f"API feed {name} {results[name].rps:6.1f} req/s "
                          f"({results[name].rps / results['healthz'].rps:.2f})" for name in readers), flush=True)
        paired.append(results)
    return paired


def report_ratio_rounds(paired: list[dict[str, bl.Result]], readers: dict[str, bl.Reader], size: int) -> None:
    import statistics

    print(f"ratios at {size:,} bulletins, median of {len(paired)} rounds (each: /healthz, then each reader's "
          f"API feed):")
    for name in readers:
        ratio = statistics.median(r[name].rps / r["healthz"].rps for r in paired)
        by_cpu = statistics.median(cpu_per_request(r["healthz"]) / cpu_per_request(r[name]) for r in paired)
        print(f"  API feed first page / healthz throughput, {name:6}: {ratio:6.2f}  (target >= 0.33: "
              f"{verdict(ratio, 0.33, True)}); by CPU per request {by_cpu:.2f}")


def verdict(value: float, target: float, at_least: bool) -> str:
    """Judged on the value as printed (two decimals)."""
    if value != value:  # NaN
        return "n/a"
    value = round(value, 2)
    return "ok" if (value >= target if at_least else value <= target) else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bulletins", type=int, default=1_000_000, help="the large count (default 1,000,000)")
    parser.add_argument("--organisations", type=int, default=500)
    parser.add_argument("--requests", type=int, default=400, help="requests per measurement")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--max-seconds", type=float, default=120, help="stop any one measurement after this")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1,
                        help="gunicorn worker processes (default: the deployment's, 2 x cores + 1)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per worker (default 1: gunicorn's sync worker, as README's deployment; "
                             "gthread when > 1)")
    parser.add_argument("--indicators", type=int, default=3, help="indicators per bulletin")
    parser.add_argument("--typologies", type=int, default=2, help="typologies per bulletin")
    parser.add_argument("--paragraphs", type=int, default=3, help="paragraphs of body per bulletin (about 300 bytes each)")
    parser.add_argument("--database-url", default="", help="an SQLAlchemy URL (default: SQLite in a temp dir)")
    parser.add_argument("--postgres", action="store_true", help="start a throw-away PostgreSQL (pgserver) and use it")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--ratio-rounds", type=int, default=3,
                        help="at the full count, time /healthz and each reader's API feed this many more times, "
                             "one after the other, and report the median of the rounds' throughput ratios")
    args = parser.parse_args()
    if args.bulletins < 1 or args.requests < 2 or args.clients < 1 or args.workers < 1 or args.threads < 1:
        parser.error("--bulletins, --requests (>= 2), --clients, --workers and --threads must be positive")
    if min(args.indicators, args.typologies, args.paragraphs) < 0 or args.typologies > len(bl.BENCH_TYPOLOGIES):
        parser.error(f"--indicators and --paragraphs must be >= 0, --typologies 0-{len(bl.BENCH_TYPOLOGIES)}")

    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="bench-feed-"))
    url, postgres = bl.database_for(args, workdir, "feed.sqlite3")
    readers = bl.readers()
    try:
        app = bl.make_app(url, workdir)
        orgs = bl.migrate_and_populate(app, args.organisations, rng, readers)
        sizes = [min(SMALL, args.bulletins)] + ([args.bulletins] if args.bulletins > SMALL else [])
        probe = bl.Gunicorn(url, workdir, args.workers, args.threads)
        print(f"{args.requests} requests per measurement, {args.clients} concurrent clients (Python threads), "
              f"{probe.describe()}, {bl.backend_name(url)}; each bulletin {args.paragraphs} paragraphs, "
              f"{args.indicators} indicators, {args.typologies} typologies", flush=True)
        rounds: dict[int, dict[tuple[str, str], bl.Result]] = {}
        loaded = 0
        for size in sizes:
            started = time.perf_counter()
            bl.load_bulletins(app, orgs, loaded, size, rng, indicators=args.indicators, typologies=args.typologies,
                              paragraphs=args.paragraphs)
            loaded = size
            took = time.perf_counter() - started
            analysed = bl.analyse(app)
            total = bl.measure_shares(app, readers)
            print(f"  loaded {size:,} bulletins ({took:.0f} s); statistics gathered (ANALYZE, {analysed:.1f} s) "
                  f"before measuring; visible: " + ", ".join(f"{r.name} {r.share:.1%}" for r in readers.values())
                  + f" of {total:,}", flush=True)
            # A fresh server per count: every connection plans with the statistics just gathered.
            with bl.Gunicorn(url, workdir, args.workers, args.threads) as server:
                meter = bl.CpuMeter({"server": server.pid, "database": postgres.pid if postgres else None})
                rounds[size] = run_round(server, meter, readers, f"{size:,}", args)
                if size == sizes[-1] and args.ratio_rounds > 0:
                    paired = ratio_rounds(server, meter, readers, args)
        report(rounds, sizes, readers)
        if args.ratio_rounds > 0:
            report_ratio_rounds(paired, readers, sizes[-1])
    finally:
        if postgres is not None:
            postgres.close()
        shutil.rmtree(workdir, ignore_errors=True)


def cpu_per_request(result: bl.Result) -> float:
    """CPU seconds per request of the server, its database and this client together."""
    used = sum(result.cpu.get(name, 0.0) for name in ("server", "database", "client"))
    return used / result.rps if result.rps else float("nan")


def report(rounds: dict[int, dict[tuple[str, str], bl.Result]], sizes: list[int],
           readers: dict[str, bl.Reader]) -> None:
    small, large = sizes[0], sizes[-1]
    last = rounds[large]
    health = last[("healthz", "-")].rps
    print(f"ratios at {large:,} bulletins:")
    for name in readers:
        ratio = last[("api-feed", name)].rps / health
        print(f"  API feed first page / healthz throughput, {name:6}: {ratio:6.2f}  (target >= 0.33: "
              f"{verdict(ratio, 0.33, True)})")
    # On a shared machine other processes take cores from the server and the client alike, and the
    # throughput ratio drifts with their load. CPU per request (server, database and this client) is
    # what throughput divides when these alone share the cores: its ratio is the same figure, less
    # disturbed.
    health_cpu = cpu_per_request(last[("healthz", "-")])
    for name in readers:
        ratio = health_cpu / cpu_per_request(last[("api-feed", name)])
        print(f"  API feed / healthz, CPU per request (server+db+client), {name:6}: {ratio:6.2f}  "
              f"(healthz {health_cpu * 1000:.2f} ms, feed {cpu_per_request(last[('api-feed', name)]) * 1000:.2f} ms)")
    for name in readers:
        print(f"  API search / healthz throughput, {name:6}:          {last[('api-search', name)].rps / health:6.2f}")
    print(f"  HTML feed / healthz throughput, broad :           {last[('html-feed', 'broad')].rps / health:6.2f}")
    if large != small:
        first = rounds[small]
        for kind in ("api-feed", "api-search", "html-feed"):
            for name in readers:
                if (kind, name) not in last:
                    continue
                ratio = last[(kind, name)].p95 / first[(kind, name)].p95
                target = f"  (target <= 1.5: {verdict(ratio, 1.5, False)})" if kind == "api-feed" else ""
                print(f"  {kind} p95 at {large:,} / at {small:,}, {name:6}: {ratio:6.2f}{target}")
    else:
        print(f"  (p95 growth not measured: --bulletins {large:,} is not above {SMALL:,})")
    print(f"what limited it (at {large:,} bulletins; cores from /proc, client = this Python process):")
    for (kind, name), result in last.items():
        print(f"  {kind:11} {name:6} {bl.what_limited(result.cpu)}")
    note = bl.disturbance_note([r.cpu for results in rounds.values() for r in results.values()])
    if note:
        print(note)


if __name__ == "__main__":
    main()
