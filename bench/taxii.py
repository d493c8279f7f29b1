"""TAXII 2.1 collections: the portal against medallion, and pages at a million bulletins (issue 15, "Measure").

(a) ``--objects`` (default 100,000) STIX objects visible to one reader (a bank; every bulletin is
    addressed to its sector, three indicators each: identity, three indicators and a report per
    bulletin). The portal serves them from its TAXII collection with the access policy and the
    audit trail on; medallion (the OASIS TAXII 2.1 reference server, ``pip install medallion``)
    serves the very same objects, fetched from the portal, from its memory backend. Both run under
    the same gunicorn (one worker, as medallion keeps its ``next`` pages in process memory). Measured:
    the first page of 1,000 objects, one request after another, on both (pages/s, p95: medallion's
    memory backend filters, sorts and copies the whole collection for every page, so a whole walk of
    it would take hours); for the portal also a whole walk in pages of 1,000 (objects/s) and the
    first page from several clients at once. Target: the portal's throughput >= medallion's.
(b) ``--bulletins`` (default 1,000,000) bulletins with their objects (``--indicators`` 8 each: ten
    objects a bulletin, so that the page at 10,000 bulletins is full too) in the database and a reader
    (a Pacific police officer) who may read about 1 % of them: the first page of 1,000 objects at
    10,000 bulletins and again at the full count, in one run. Target: p95 at the full count within
    1.5x of p95 at 10,000. (The constant number of queries per page is tested in tests/test_taxii.py.)

    .venv/bin/python bench/taxii.py [--objects 100000] [--bulletins 1000000] [--requests 60]
                                    [--clients 4] [--threads 4] [--postgres | --database-url URL]
                                    [--skip-medallion] [--skip-scale]
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

import benchlib as bl

COLLECTION = "0b6d8f0e-5b8a-4c53-9d3e-1f2a3b4c5d01"  # portal.taxii.views.BULLETINS_COLLECTION
PAGE = 1000
INDICATORS = 3
OBJECTS_PER_BULLETIN = INDICATORS + 2  # the author's identity, the indicators, the report
DEFINITIONS = 12  # the portal's own identity, extension and marking definitions
SMALL = 10_000
ACCEPT = {"Accept": "application/taxii+json;version=2.1"}


def walk(base: str, path: str, headers: dict[str, str], auth=None) -> tuple[list[dict], list[dict], float]:
    """Every object of a collection, page by page (``next``), with its date_added from the manifest."""
    session = bl.loopback_session()
    objects: list[dict] = []
    started = time.perf_counter()
    cursor = None
    while True:
        params = {"limit": PAGE, **({"next": cursor} if cursor else {})}
        response = session.get(base + path + "objects/", params=params, headers={**headers, **ACCEPT}, auth=auth,
                               timeout=300)
        response.raise_for_status()
        body = response.json()
        objects.extend(body.get("objects", []))
        if not body.get("more"):
            break
        cursor = body["next"]
    took = time.perf_counter() - started
    session.close()
    return objects, [], took


def portal_manifest(base: str, path: str, headers: dict[str, str]) -> list[dict]:
    session = bl.loopback_session()
    entries: list[dict] = []
    cursor = None
    while True:
        params = {"limit": PAGE, **({"next": cursor} if cursor else {})}
        body = session.get(base + path + "manifest/", params=params, headers={**headers, **ACCEPT}, timeout=300).json()
        entries.extend(body.get("objects", []))
        if not body.get("more"):
            break
        cursor = body["next"]
    session.close()
    return entries


def first_pages(base: str, path: str, headers: dict[str, str], count: int, timeout: float) -> bl.Result:
    """``count`` GETs of ``path``, one after another, each allowed ``timeout`` seconds."""
    import requests

    session = bl.loopback_session()
    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(count):
        began = time.perf_counter()
        try:
            response = session.get(base + path, headers={**headers, **ACCEPT}, timeout=timeout)
        except requests.Timeout:
            break
        response.raise_for_status()
        latencies.append(time.perf_counter() - began)
    wall = time.perf_counter() - started
    session.close()
    return bl.Result(len(latencies), wall, latencies)


def medallion_config(workdir: Path, objects: list[dict], manifest: list[dict]) -> Path:
    data = {
        "/discovery": {"title": "bench", "default": "api1", "api_roots": ["api1"]},
        "api1": {
            "information": {"title": "bench", "versions": ["application/taxii+json;version=2.1"],
                            "max_content_length": 10_485_760},
            "status": [],
            "collections": [{"id": COLLECTION, "title": "Bulletins", "can_read": True, "can_write": False,
                             "media_types": ["application/stix+json;version=2.1"], "objects": objects,
                             "manifest": manifest}],
        },
    }
    data_file = workdir / "medallion-data.json"
    data_file.write_text(json.dumps(data))
    config = workdir / "medallion.json"
    config.write_text(json.dumps({
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                    "filename": str(data_file)},
        "users": {"bench": "bench-password"},
        "taxii": {"max_page_size": PAGE},
    }))
    return config


def part_a(args: argparse.Namespace, workdir: Path) -> None:
    rng = random.Random(args.seed)
    url, postgres = bl.database_for(args, workdir, "taxii-a.sqlite3")
    readers = bl.readers()
    reader = readers["broad"]
    bulletins = max(1, args.objects // OBJECTS_PER_BULLETIN)
    try:
        app = bl.make_app(url, workdir)
        orgs = bl.migrate_and_populate(app, 50, rng, readers)
        started = time.perf_counter()
        bl.load_bulletins(app, orgs, 0, bulletins, rng, indicators=INDICATORS, audience=("sector", "banking"))
        bl.analyse(app)
        print(f"(a) loaded {bulletins:,} bulletins for {reader.name} ({time.perf_counter() - started:.0f} s), "
              f"{bl.backend_name(url)}", flush=True)
        path = f"/taxii2/portal/collections/{COLLECTION}/"
        with bl.Gunicorn(url, workdir, 1, args.threads) as portal:
            objects, _, first_walk = walk(portal.base, path, reader.bearer)
            manifest = portal_manifest(portal.base, path, reader.bearer)
            print(f"  portal serves {len(objects):,} objects ({first_walk:.1f} s for the first walk)", flush=True)
            meter = bl.CpuMeter({"server": portal.pid, "database": postgres.pid if postgres else None})
            portal_walk = min(walk(portal.base, path, reader.bearer)[2] for _ in range(args.walks))
            page_path = f"{path}objects/?limit={PAGE}"
            bl.hammer(portal.base, page_path, total=args.clients, clients=args.clients, max_seconds=120,
                      headers={**reader.bearer, **ACCEPT})
            portal_page = meter.run(lambda: bl.hammer(portal.base, page_path, total=args.requests, clients=args.clients,
                                                      max_seconds=args.max_seconds, headers={**reader.bearer, **ACCEPT}))
            portal_sequential = first_pages(portal.base, page_path, reader.bearer, args.sequential, 600)
        print(f"  portal, whole walk in pages of {PAGE:,}: {len(objects) / portal_walk:,.0f} objects/s; first page, "
              f"{args.clients} clients: {portal_page.rps:.1f} pages/s, p95 {portal_page.p95 * 1000:.0f} ms   "
              f"{bl.cpu_columns(portal_page.cpu)}", flush=True)
        if args.skip_medallion:
            return
        # medallion 3.0 takes an extension definition's "version" (1.0.0) for a timestamp and fails: its
        # bundle leaves out the portal's two extension definitions (2 of the objects).
        kept = [o for o in objects if o["type"] != "extension-definition"]
        config = medallion_config(workdir, kept, [m for m in manifest if not m["id"].startswith("extension-definition")])
        medallion = bl.Gunicorn(url, workdir, 1, args.threads, app_spec=f"medallion:load_app({str(config)!r})",
                                health="/taxii2/")
        import requests

        basic = {"Authorization": requests.auth._basic_auth_str("bench", "bench-password")}
        medallion.start(timeout=300)  # loading the bundle takes a while
        try:
            mpath = f"/api1/collections/{COLLECTION}/"
            # medallion's memory backend filters and sorts the whole collection for every page (and
            # deep-copies it): a walk of 100,000 objects would take hours, so its first page is timed,
            # one request after another, and so is the portal's, the same way.
            meter = bl.CpuMeter({"server": medallion.pid})
            medallion_page = meter.run(lambda: first_pages(medallion.base, f"{mpath}objects/?limit={PAGE}", basic,
                                                           args.sequential, args.medallion_timeout))
        finally:
            medallion.stop()
        print(f"  first page of {PAGE:,}, one request after another ({args.sequential}): portal "
              f"{portal_sequential.rps:8.2f} pages/s (p95 {portal_sequential.p95 * 1000:8.0f} ms)   medallion "
              f"{medallion_page.rps:8.3f} pages/s (p95 {medallion_page.p95 * 1000:8.0f} ms)"
              + ("" if medallion_page.requests == args.sequential else
                 f"  (medallion answered {medallion_page.requests} of {args.sequential} within "
                 f"{args.medallion_timeout:.0f} s: a lower bound)"))
        ratio = portal_sequential.rps / medallion_page.rps if medallion_page.rps else float("inf")
        print(f"  portal / medallion throughput: {ratio:.1f}  (target >= 1: {'ok' if ratio >= 1 else 'MISSED'})",
              flush=True)
    finally:
        if postgres is not None:
            postgres.close()


def part_b(args: argparse.Namespace, workdir: Path) -> None:
    rng = random.Random(args.seed + 1)
    url, postgres = bl.database_for(args, workdir, "taxii-b.sqlite3")
    readers = bl.readers()
    reader = readers["narrow"]
    path = f"/taxii2/portal/collections/{COLLECTION}/objects/?limit={PAGE}"
    try:
        app = bl.make_app(url, workdir)
        orgs = bl.migrate_and_populate(app, 500, rng, readers)
        sizes = [min(SMALL, args.bulletins)] + ([args.bulletins] if args.bulletins > SMALL else [])
        results = {}
        loaded = 0
        for size in sizes:
            started = time.perf_counter()
            bl.load_bulletins(app, orgs, loaded, size, rng, indicators=args.indicators)
            loaded = size
            took = time.perf_counter() - started
            bl.analyse(app)
            bl.measure_shares(app, readers)
            with bl.Gunicorn(url, workdir, args.workers, args.threads) as server:
                probe = bl.loopback_session()
                count = len(probe.get(server.base + path, headers={**reader.bearer, **ACCEPT}, timeout=300)
                            .json().get("objects", []))
                probe.close()
                bl.hammer(server.base, path, total=args.clients, clients=args.clients, max_seconds=120,
                          headers={**reader.bearer, **ACCEPT})
                meter = bl.CpuMeter({"server": server.pid, "database": postgres.pid if postgres else None})
                result = meter.run(lambda: bl.hammer(server.base, path, total=args.requests, clients=args.clients,
                                                     max_seconds=args.max_seconds, headers={**reader.bearer, **ACCEPT}))
            results[size] = result
            print(f"(b) {size:>9,} bulletins (loaded in {took:.0f} s), {reader.name} reads {reader.share:.1%}: "
                  f"first page {count:,} objects, {result.rps:6.1f} pages/s, p95 {result.p95 * 1000:7.1f} ms   "
                  f"{bl.cpu_columns(result.cpu)}", flush=True)
        if len(sizes) == 2:
            ratio = results[sizes[1]].p95 / results[sizes[0]].p95
            print(f"  p95 at {sizes[1]:,} / at {sizes[0]:,}: {ratio:.2f}  (target <= 1.5: "
                  f"{'ok' if round(ratio, 2) <= 1.5 else 'MISSED'})")
    finally:
        if postgres is not None:
            postgres.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=100_000, help="(a) objects visible to the reader")
    parser.add_argument("--bulletins", type=int, default=1_000_000, help="(b) the large count")
    parser.add_argument("--requests", type=int, default=60, help="requests per page measurement")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--walks", type=int, default=2, help="(a) whole walks per server (the best counts)")
    parser.add_argument("--max-seconds", type=float, default=180)
    parser.add_argument("--workers", type=int, default=2, help="(b) gunicorn workers")
    parser.add_argument("--indicators", type=int, default=8,
                        help="(b) indicators per bulletin (8: 10 objects each, so that the reader's page at "
                             "10,000 bulletins is full too)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL (pgserver)")
    parser.add_argument("--skip-medallion", action="store_true")
    parser.add_argument("--sequential", type=int, default=3, help="(a) first pages timed one after another")
    parser.add_argument("--medallion-timeout", type=float, default=900, help="(a) seconds for one medallion page")
    parser.add_argument("--skip-scale", action="store_true", help="run (a) only")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.database_url:
        parser.error("--database-url: each part needs a database of its own; use SQLite (default) or --postgres")
    workdir = Path(tempfile.mkdtemp(prefix="bench-taxii-"))
    try:
        print(f"pages of {PAGE:,} objects; {args.requests} requests per page measurement, {args.clients} clients",
              flush=True)
        (workdir / "a").mkdir()
        (workdir / "b").mkdir()
        part_a(args, workdir / "a")
        if not args.skip_scale:
            part_b(args, workdir / "b")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
