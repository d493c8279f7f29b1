"""The fixed cost of an authenticated API call, in-process, against ``/healthz``.

Builds a throw-away database (SQLite by default, ``--postgres`` for a throw-away PostgreSQL) with the
two readers of bench/feed.py and a few thousand bulletins, gathers statistics (ANALYZE), then calls
the application as a WSGI server would — ``app(environ, start_response)`` in a loop, no HTTP, no
test client — and prints the time per call (wall time, and this process's CPU time, which other
processes on a shared machine disturb far less) of:

- ``GET /healthz`` (no database, no token): the baseline;
- ``GET /api/v1/typologies`` with a bearer token: the token lookup, the scope check, the audit entry
  and the commit, around a view that does almost nothing. Its excess over ``/healthz`` is the
  *fixed cost of an authenticated API call*;
- ``GET /api/v1/bulletins?limit=50`` (the API feed's first page) for the broad and the narrow reader.

Each figure is also printed as a ratio to ``/healthz`` measured in the same run (rounds interleave
the endpoints, so a busy machine disturbs them alike). ``--profile N`` then profiles 200 calls of
``--profile-path`` with cProfile and prints the N costliest functions (``pyinstrument``, if
installed, is used instead with ``--pyinstrument``).

    .venv/bin/python bench/request_cost.py [--calls 2000] [--bulletins 5000] [--postgres]
                                           [--profile 40] [--profile-path /api/v1/typologies]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import benchlib as bl

HEALTH = "/healthz"


def wsgi_caller(app, path: str, headers: dict[str, str] | None) -> Callable[[], tuple[str, bytes]]:
    """A function that calls the WSGI application once for GET ``path`` and returns (status, body)."""
    from werkzeug.test import EnvironBuilder

    base = EnvironBuilder(path=path, headers=headers or {}, environ_base={"REMOTE_ADDR": bl.LOOPBACK}).get_environ()
    wsgi = app.wsgi_app if hasattr(app, "wsgi_app") else app
    seen: list[str] = []

    def start_response(status: str, response_headers: list, exc_info: Any = None):
        seen.append(status)
        return lambda data: None

    def call() -> tuple[str, bytes]:
        seen.clear()
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO(b"")
        iterable = wsgi(environ, start_response)
        try:
            body = b"".join(iterable)
        finally:
            if hasattr(iterable, "close"):
                iterable.close()
        return seen[0], body

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="calls per endpoint (in rounds of 100)")
    parser.add_argument("--bulletins", type=int, default=5000)
    parser.add_argument("--organisations", type=int, default=200)
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile 200 calls of --profile-path and print the N costliest functions")
    parser.add_argument("--profile-path", default="/api/v1/typologies")
    parser.add_argument("--profile-reader", choices=["broad", "narrow"], default="broad")
    parser.add_argument("--profile-sort", choices=["tottime", "cumulative"], default="tottime")
    parser.add_argument("--pyinstrument", action="store_true", help="profile with pyinstrument (if installed)")
    parser.add_argument("--database-url", default="", help="an SQLAlchemy URL (default: SQLite in a temp dir)")
    parser.add_argument("--postgres", action="store_true", help="start a throw-away PostgreSQL (pgserver)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if not 100 <= args.calls <= 100_000:
        parser.error("--calls must be 100-100000")

    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="bench-cost-"))
    url, postgres = bl.database_for(args, workdir, "cost.sqlite3")
    readers = bl.readers()
    try:
        app = bl.loaded_app(url, workdir, args.organisations, args.bulletins, rng, readers)
        print(f"{args.bulletins:,} bulletins on {bl.backend_name(url)}, statistics gathered (ANALYZE); "
              + ", ".join(f"{r.name} sees {r.share:.1%}" for r in readers.values()))
        measure(app, readers, args)
        if args.profile:
            profile(app, readers[args.profile_reader], args)
    finally:
        if postgres is not None:
            postgres.close()
        shutil.rmtree(workdir, ignore_errors=True)


def measure(app, readers: dict[str, bl.Reader], args: argparse.Namespace) -> None:
    endpoints = [
        ("healthz", wsgi_caller(app, HEALTH, None)),
        ("typologies", wsgi_caller(app, "/api/v1/typologies", readers["broad"].bearer)),
        ("me", wsgi_caller(app, "/api/v1/me", readers["broad"].bearer)),
        ("api-feed broad", wsgi_caller(app, "/api/v1/bulletins?limit=50", readers["broad"].bearer)),
        ("api-feed narrow", wsgi_caller(app, "/api/v1/bulletins?limit=50", readers["narrow"].bearer)),
    ]
    for name, call in endpoints:  # warm up, and check each answers 200
        for _ in range(20):
            status, body = call()
            if not status.startswith("200"):
                raise SystemExit(f"{name} answered {status}: {body[:300]!r}")
    times: dict[str, list[float]] = {name: [] for name, _ in endpoints}
    cpu: dict[str, list[float]] = {name: [] for name, _ in endpoints}  # CPU ms per call, per batch of 100
    rounds = args.calls // 100
    for _ in range(rounds):  # interleaved: a disturbance hits every endpoint alike
        for name, call in endpoints:
            cpu_started = time.process_time()
            for _ in range(100):
                started = time.perf_counter()
                call()
                times[name].append((time.perf_counter() - started) * 1000)
            cpu[name].append((time.process_time() - cpu_started) * 10)
    health = statistics.median(times["healthz"])
    health_cpu = statistics.median(cpu["healthz"])
    print(f"{'endpoint':18} {'wall median ms':>14} {'p90 ms':>7} {'CPU ms':>7} {'x healthz':>9} "
          f"{'CPU minus healthz':>17}")
    for name, _ in endpoints:
        values = sorted(times[name])
        cpu_ms = statistics.median(cpu[name])
        print(f"{name:18} {statistics.median(values):14.3f} {values[int(len(values) * 0.9)]:7.3f} {cpu_ms:7.3f} "
              f"{cpu_ms / health_cpu:9.1f} {cpu_ms - health_cpu:17.3f}")
    fixed = statistics.median(cpu["typologies"]) - health_cpu
    print(f"fixed cost of an authenticated API call (typologies - healthz, CPU time of this process, median of "
          f"{rounds} batches of 100 calls each, in-process WSGI loop): {fixed:.3f} ms "
          f"(wall: {statistics.median(times['typologies']) - health:.3f} ms)")
    print("(CPU time, not wall time, is the figure to compare: the machine may be shared; the x healthz "
          "ratios are CPU time over /healthz's in this run.)")


def profile(app, reader: bl.Reader, args: argparse.Namespace) -> None:
    call = wsgi_caller(app, args.profile_path, reader.bearer)
    for _ in range(20):
        call()
    if args.pyinstrument:
        try:
            from pyinstrument import Profiler
        except ImportError:
            raise SystemExit("pyinstrument is not installed; leave out --pyinstrument for cProfile") from None
        profiler = Profiler(interval=0.0001)
        profiler.start()
        for _ in range(200):
            call()
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
        return
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(200):
        call()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(args.profile_sort).print_stats(args.profile)
    print(f"cProfile of 200 calls of GET {args.profile_path} as {reader.name}, {args.profile} costliest "
          f"functions by {args.profile_sort}:")
    print(out.getvalue().rstrip())


if __name__ == "__main__":
    main()
