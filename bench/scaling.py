"""Does the API feed scale across worker processes? One gunicorn, two workers, PostgreSQL, wrk.

Starts a throw-away PostgreSQL (the ``pgserver`` wheel; or ``--database-url``), migrates it,
bulk-loads 10,000 bulletins and a broad reader (a bank: banking, NZ, IN-CONFIDENCE) with an API
token, gathers statistics (ANALYZE), and starts ONE gunicorn on loopback with two **sync** worker
processes — the deployment measured. Sync workers serve one request per process at a time, so the
ratio below isolates the one question asked (do two processes run the API feed in parallel, or does
something they share — a lock, a hot row — serialise them?) from thread scheduling and the
interpreter lock inside a process; ``bench/feed.py`` measures gthread workers.

Then, with Debian's ``wrk`` (C, so the client is not the limit), for ``/healthz`` (the baseline) and
``GET /api/v1/bulletins?limit=50`` (with ``Authorization: Bearer …``): a short warm-up, then one
connection on one thread, then 8 connections on 2 threads, each for ``--duration`` seconds. Prints
req/s for both, the ratio (target >= 1.6 for the API feed), CPU used meanwhile (from /proc), and
what limited it. Any non-2xx response fails the run (exit 1).

    .venv/bin/python bench/scaling.py [--bulletins 10000] [--duration 15] [--workers 2]
                                      [--worker-class sync] [--database-url URL | --sqlite]

Needs wrk: ``apt-get install -y wrk`` (the script exits 2, saying so, when it is missing).
"""
from __future__ import annotations

import argparse
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import benchlib as bl

FEED = "/api/v1/bulletins?limit=50"
HEALTH = "/healthz"
SETTINGS = [(1, 1), (8, 2)]  # (connections, threads)

# wrk's own "Non-2xx or 3xx responses" counts only status >= 400; this counts everything but 2xx.
LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("non2xx") end
  io.write(string.format("NON2XX %d\\n", total))
end
"""


def wrk_children_cpu() -> float:
    """CPU seconds of this process's finished children (wrk runs are waited for, gunicorn is not)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(wrk: str, script: Path, url: str, connections: int, threads: int, seconds: int,
            headers: dict[str, str]) -> dict[str, float]:
    if not url.startswith(f"http://{bl.LOOPBACK}:"):
        raise ValueError("benchmark targets must be loopback addresses")
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency",
               "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(command + [url], capture_output=True, text=True, timeout=seconds + 90)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    out = done.stdout

    def number(pattern: str, default: float | None = None) -> float:
        found = re.search(pattern, out)
        if found is None:
            if default is None:
                raise RuntimeError(f"could not read {pattern!r} from wrk's output:\n{out}")
            return default
        return float(found.group(1))

    def latency(percent: str) -> float:
        found = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\b", out, re.MULTILINE)
        if found is None:
            return float("nan")
        return float(found.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[found.group(2)]

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": number(r"Requests/sec:\s+([\d.]+)"), "requests": number(r"(\d+) requests in"),
            "non2xx": number(r"NON2XX (\d+)"), "p50": latency("50"), "p99": latency("99"),
            "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
            "timeouts": int(errors.group(4)) if errors else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bulletins", type=int, default=10_000)
    parser.add_argument("--organisations", type=int, default=500)
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run (bounded)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of untimed wrk before each path")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread only)")
    parser.add_argument("--database-url", default="", help="use this database instead of a throw-away PostgreSQL")
    parser.add_argument("--sqlite", action="store_true", help="use SQLite in a temp dir instead of PostgreSQL")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if not 1 <= args.duration <= 600 or not 0 <= args.warmup <= 60:
        parser.error("--duration must be 1-600 seconds and --warmup 0-60")
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed: install it with `apt-get install -y wrk` (as root), then run this again.",
              file=sys.stderr)
        sys.exit(2)
    if args.worker_class == "sync" and args.threads != 1:
        parser.error("--threads needs --worker-class gthread")

    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    args.postgres = not (args.database_url or args.sqlite)
    url, postgres = bl.database_for(args, workdir, "scaling.sqlite3")
    readers = {"broad": bl.readers()["broad"]}
    script = workdir / "count.lua"
    script.write_text(LUA)
    failed = False
    try:
        bl.loaded_app(url, workdir, args.organisations, args.bulletins, rng, readers)
        reader = readers["broad"]
        server = bl.Gunicorn(url, workdir, args.workers, args.threads, args.worker_class)
        print(f"{args.bulletins:,} bulletins on {bl.backend_name(url)}, statistics gathered (ANALYZE); "
              f"broad reader sees {reader.share:.1%}; one {server.describe()}; wrk {args.duration} s per run",
              flush=True)
        results: dict[tuple[str, int], tuple[dict[str, float], dict[str, float]]] = {}
        with server:
            meter = bl.CpuMeter({"server": server.pid, "database": postgres.pid if postgres else None},
                                client=wrk_children_cpu)
            for label, path, headers in (("healthz", HEALTH, {}), ("api-feed", FEED, reader.bearer)):
                if args.warmup:
                    run_wrk(wrk, script, server.base + path, 8, 2, args.warmup, headers)
                for connections, threads in SETTINGS:
                    before = meter.snapshot()
                    found = run_wrk(wrk, script, server.base + path, connections, threads, args.duration, headers)
                    cpu = meter.cores(before, meter.snapshot())
                    results[(label, connections)] = found, cpu
                    print(f"  {label:9} {connections} conn/{threads} thr {found['rps']:9.1f} req/s  "
                          f"p50 {found['p50']:7.1f} ms  p99 {found['p99']:7.1f} ms  "
                          f"non-2xx {int(found['non2xx'])}  socket errors {found['socket_errors']:.0f}   "
                          f"{bl.cpu_columns(cpu)}", flush=True)
                    if found["non2xx"] or found["timeouts"]:
                        failed = True
                        print(f"FAILED: wrk saw {int(found['non2xx'])} non-2xx responses and "
                              f"{found['timeouts']:.0f} timeouts for GET {path}; the figures are not valid.",
                              file=sys.stderr, flush=True)
                        return
        for label, target in (("healthz", None), ("api-feed", 1.6)):
            ratio = results[(label, 8)][0]["rps"] / results[(label, 1)][0]["rps"]
            met = round(ratio, 2) >= (target or 0)
            goal = f"  (target >= {target}: {'ok' if met else 'MISSED'})" if target else "  (baseline)"
            print(f"{label:9} 8 connections / 1 connection throughput: {ratio:.2f}{goal}")
        print("what limited it at 8 connections (cores from /proc; client = wrk):")
        for label in ("healthz", "api-feed"):
            print(f"  {label:9} {bl.what_limited(results[(label, 8)][1], client_cores=2)}")
        if note := bl.disturbance_note([cpu for _, cpu in results.values()]):
            print(note)
    finally:
        if postgres is not None:
            postgres.close()
        shutil.rmtree(workdir, ignore_errors=True)
        if failed:
            sys.exit(1)


if __name__ == "__main__":
    main()
