"""Where one API read spends its time: ``GET /api/v1/bulletins?limit=50`` with a bearer token, in-process.

Loads bulletins (as bench/feed.py does: SQLite by default, ``--postgres`` for a throw-away
PostgreSQL), gathers statistics (ANALYZE), then sends the same request several times with
Flask's test client. The first warms caches and is discarded; the second is measured; the rest
give the plain (uninstrumented) wall time.

For the measured request:

- every SQL statement, timed with SQLAlchemy's ``before_cursor_execute``/``after_cursor_execute``
  events and attributed to a layer by the Python stack: the innermost frame in
  ``portal/api/auth.py`` or ``portal/security.py`` is "authentication", ``portal/policy.py``
  "policy", ``portal/audit/`` "audit", ``portal/api/pagination.py``, ``portal/search.py`` and a
  feature's ``filters.py`` "listing", a ``*_json`` function in a feature's ``api.py`` (or a
  serialisers module) "serialisation", the rest of that ``api.py`` (the view) "view"; anything
  else "other". Statements that an ORM flush emits are attributed by the table they write (so an
  audit row flushed by the view's ``commit()`` counts as "audit");
- wall time per layer, from timers around every function of those modules (Flask's hooks and views
  included): a layer's time runs while it is the innermost layer on the call stack, so it includes
  the library code and SQL it calls, excludes the other layers it calls, and the rows add up to the
  request.

Prints the table (layer, queries, query ms, total ms), then every statement (first 120 characters)
with its layer and time, flagging any statement run more than once with identical parameters.

    .venv/bin/python bench/profile_api.py [--bulletins 10000] [--reader broad|narrow] [--postgres]
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import functools
import inspect
import io
import pstats
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import benchlib as bl

PORTAL = str(bl.ROOT / "portal") + "/"
LAYERS = ("authentication", "policy", "listing", "serialisation", "audit", "view", "other")
WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


def layer_for(filename: str, function: str) -> str | None:
    """The layer of a function in a portal module, or None (not one of the layers)."""
    if not filename.startswith(PORTAL):
        return None
    rel = filename[len(PORTAL):]
    if rel in ("api/auth.py", "security.py"):
        return "authentication"
    if rel == "policy.py":
        return "policy"
    if rel.startswith("audit/"):
        return "audit"
    if rel in ("api/pagination.py", "search.py") or rel.endswith("/filters.py"):
        return "listing"
    if "serialis" in rel:
        return "serialisation"
    if rel.endswith("/api.py") and rel != "api/api.py":
        return "serialisation" if function.endswith("_json") else "view"
    return None


# --- SQL statements -----------------------------------------------------------------------------

@dataclass
class Statement:
    layer: str
    sql: str
    parameters: str
    ms: float


class SqlRecorder:
    """Times every cursor execution on any engine while ``active``, with the layer that caused it."""

    def __init__(self, table_layers: dict[str, str], clock: "LayerClock | None" = None) -> None:
        self.table_layers = table_layers
        self.clock = clock
        self.statements: list[Statement] = []
        self.active = False

    def install(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", self.before)
        event.listen(Engine, "after_cursor_execute", self.after)

    def remove(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.remove(Engine, "before_cursor_execute", self.before)
        event.remove(Engine, "after_cursor_execute", self.after)

    def layer_of_stack(self, statement: str) -> str:
        frame = sys._getframe(2)
        flushing = False
        found = None
        while frame is not None:
            code = frame.f_code
            if found is None:
                found = layer_for(code.co_filename, code.co_name)
            if code.co_name in ("flush", "_flush") and code.co_filename.endswith("sqlalchemy/orm/session.py"):
                flushing = True
            frame = frame.f_back
        if flushing and (written := WRITE.match(statement)) and written.group(1) in self.table_layers:
            return self.table_layers[written.group(1)]
        return found or "other"

    def before(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if self.active:
            conn.info.setdefault("bench_sql", []).append((self.layer_of_stack(statement), time.perf_counter()))

    def after(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        pending = conn.info.get("bench_sql")
        if self.active and pending:
            layer, started = pending.pop()
            elapsed = time.perf_counter() - started
            self.statements.append(Statement(layer, " ".join(statement.split()), repr(parameters), elapsed * 1000))
            if self.clock is not None:
                self.clock.transfer(elapsed, layer)


def table_layers() -> dict[str, str]:
    """Table name -> layer of the module that maps it (only tables of a layer, e.g. the audit trail's)."""
    from portal.extensions import db

    found = {}
    for mapper in db.Model.registry.mappers:
        module = sys.modules.get(mapper.class_.__module__)
        layer = layer_for(getattr(module, "__file__", "") or "", "")
        if layer:
            for table in mapper.tables:
                found[table.name] = layer
    return found


# --- Time per layer -----------------------------------------------------------------------------

class LayerClock:
    """Exclusive wall time per layer: timers around the layers' functions, on one call stack."""

    def __init__(self) -> None:
        self.stack: list[list[Any]] = [["other", 0.0]]
        self.totals: dict[str, float] = collections.defaultdict(float)
        self.active = False
        self.undo: list[tuple[Any, Any, Any]] = []

    def start(self) -> None:
        self.stack = [["other", time.perf_counter()]]
        self.totals.clear()
        self.active = True

    def stop(self) -> float:
        now = time.perf_counter()
        self.totals[self.stack[-1][0]] += now - self.stack[-1][1]
        self.active = False
        return sum(self.totals.values())

    def transfer(self, seconds: float, layer: str) -> None:
        """A statement the stack attributes to ``layer`` (e.g. an audit row flushed by the view's
        commit) ran while another layer was innermost: its time counts to ``layer``."""
        top = self.stack[-1][0]
        if self.active and top != layer:
            self.totals[top] -= seconds
            self.totals[layer] += seconds

    def wrap(self, function: Any, layer: str) -> Any:
        clock = self

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not clock.active or clock.stack[-1][0] == layer:
                return function(*args, **kwargs)
            now = time.perf_counter()
            top = clock.stack[-1]
            clock.totals[top[0]] += now - top[1]
            clock.stack.append([layer, now])
            try:
                return function(*args, **kwargs)
            finally:
                later = time.perf_counter()
                clock.totals[layer] += later - clock.stack.pop()[1]
                clock.stack[-1][1] = later

        timed.__bench_timed__ = True  # type: ignore[attr-defined]
        return timed

    def instrument(self, app) -> int:
        """Wrap every function of the layers' modules wherever the app refers to it."""
        wrappers: dict[int, Any] = {}

        def wrapped(value: Any) -> Any:
            return wrappers.get(id(value)) if inspect.isfunction(value) else None

        portal_modules = [m for name, m in list(sys.modules.items())
                          if m is not None and (name == "app" or name == "portal" or name.startswith("portal."))]
        for module in portal_modules:
            for value in list(vars(module).values()):
                if inspect.isfunction(value) and value.__module__ == module.__name__:
                    layer = layer_for(inspect.getfile(value), value.__name__)
                    if layer:
                        wrappers[id(value)] = self.wrap(value, layer)
                elif inspect.isclass(value) and value.__module__ == module.__name__:
                    layer = layer_for(getattr(module, "__file__", "") or "", "")
                    if not layer:
                        continue
                    for attribute, member in list(vars(value).items()):
                        if inspect.isfunction(member) and not attribute.startswith("__"):
                            self.undo.append((value, attribute, member))
                            setattr(value, attribute, self.wrap(member, layer_for(inspect.getfile(member), attribute)
                                                                or layer))
        for module in portal_modules:  # module globals, including names imported from elsewhere
            for name, value in list(vars(module).items()):
                if (replacement := wrapped(value)) is not None:
                    self.undo.append((module, name, value))
                    setattr(module, name, replacement)
        for registry in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
            for functions in registry.values():
                for position, value in enumerate(functions):
                    if (replacement := wrapped(value)) is not None:
                        self.undo.append((functions, position, value))
                        functions[position] = replacement
        for endpoint, value in list(app.view_functions.items()):
            if inspect.isfunction(value) and (layer := layer_for(inspect.getfile(value), value.__name__)):
                self.undo.append((app.view_functions, endpoint, value))
                app.view_functions[endpoint] = wrappers.get(id(value)) or self.wrap(value, layer)
        login_manager = getattr(app, "login_manager", None)
        for attribute in ("_user_callback", "_request_callback"):
            value = getattr(login_manager, attribute, None)
            if (replacement := wrapped(value)) is not None:
                self.undo.append((login_manager, attribute, value))
                setattr(login_manager, attribute, replacement)
        return len(self.undo)

    def restore(self) -> None:
        for container, key, original in reversed(self.undo):
            if isinstance(container, (list, dict)):
                container[key] = original
            else:
                setattr(container, key, original)
        self.undo.clear()


# --- The run ------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bulletins", type=int, default=10_000)
    parser.add_argument("--organisations", type=int, default=500)
    parser.add_argument("--reader", choices=["broad", "narrow"], default="broad")
    parser.add_argument("--path", default="/api/v1/bulletins?limit=50", help="an API path to GET")
    parser.add_argument("--runs", type=int, default=5, help="identical requests (>= 2; the 2nd is measured)")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N",
                        help="also profile 50 more warm requests with cProfile and print the N costliest functions")
    parser.add_argument("--cprofile-sort", default="cumulative", choices=("cumulative", "tottime"),
                        help="order of the cProfile listing")
    parser.add_argument("--database-url", default="", help="an SQLAlchemy URL (default: SQLite in a temp dir)")
    parser.add_argument("--postgres", action="store_true", help="start a throw-away PostgreSQL (pgserver) and use it")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if not 2 <= args.runs <= 100 or not args.path.startswith("/api/"):
        parser.error("--runs must be 2-100 and --path an /api/ path")

    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    url, postgres = bl.database_for(args, workdir, "profile.sqlite3")
    readers = bl.readers()
    try:
        app = bl.loaded_app(url, workdir, args.organisations, args.bulletins, rng, readers)
        reader = readers[args.reader]
        print(f"{args.bulletins:,} bulletins on {bl.backend_name(url)}, statistics gathered (ANALYZE); "
              f"reader {reader.name} ({reader.org_slug}) sees {reader.share:.1%}")
        profile(app, reader, args)
    finally:
        if postgres is not None:
            postgres.close()
        shutil.rmtree(workdir, ignore_errors=True)


def profile(app, reader: bl.Reader, args: argparse.Namespace) -> None:
    client = app.test_client()

    def get() -> tuple[float, Any]:
        started = time.perf_counter()
        response = client.get(args.path, headers=reader.bearer)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"GET {args.path} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
        return elapsed, response

    cold, _ = get()
    clock = LayerClock()
    with app.app_context():
        recorder = SqlRecorder(table_layers(), clock)
    wrapped = clock.instrument(app)
    recorder.install()
    try:
        recorder.active = True
        clock.start()
        measured, response = get()
        layered = clock.stop()
        recorder.active = False
    finally:
        recorder.remove()
        clock.restore()
    plain = [get()[0] for _ in range(args.runs - 2)]
    items = len((response.get_json() or {}).get("items", []))

    print(f"GET {args.path} as {reader.name}: 200, {items} items; cold {cold:.1f} ms, measured (run 2 of "
          f"{args.runs}, {wrapped} functions timed) {measured:.1f} ms"
          + (f", uninstrumented warm runs median {statistics.median(plain):.1f} ms" if plain else ""))
    by_layer: dict[str, list[Statement]] = collections.defaultdict(list)
    for statement in recorder.statements:
        by_layer[statement.layer].append(statement)
    print(f"{'layer':16} {'queries':>7} {'query ms':>9} {'total ms':>9}")
    for layer in LAYERS:
        statements = by_layer.get(layer, [])
        print(f"{layer:16} {len(statements):7} {sum(s.ms for s in statements):9.2f} "
              f"{clock.totals.get(layer, 0.0) * 1000:9.2f}")
    print(f"{'total':16} {len(recorder.statements):7} {sum(s.ms for s in recorder.statements):9.2f} "
          f"{layered * 1000:9.2f}")
    print("(total ms: time while the layer is innermost on the stack, its SQL and library calls included, and "
          "any statement attributed to it; 'other' is Flask, Werkzeug and the test client. Query ms is "
          "cursor.execute: on SQLite that runs to the first row, the rest are stepped while fetching.)")

    seen: dict[tuple[str, str], list[int]] = collections.defaultdict(list)
    for number, statement in enumerate(recorder.statements, 1):
        seen[(statement.sql, statement.parameters)].append(number)
    print("statements, in order:")
    for number, statement in enumerate(recorder.statements, 1):
        same = seen[(statement.sql, statement.parameters)]
        flag = f"  <-- REPEATED (identical SQL and parameters: #{', #'.join(map(str, same))})" if len(same) > 1 else ""
        print(f"  {number:3} {statement.layer:15} {statement.ms:7.2f} ms  {statement.sql[:120]}{flag}")
    repeated = [numbers for numbers in seen.values() if len(numbers) > 1]
    print(f"{len(repeated)} statement(s) run more than once with identical parameters" if repeated
          else "no statement was run twice with identical parameters")

    if args.cprofile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(50):
            get()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.cprofile_sort).print_stats(args.cprofile)
        print(f"cProfile of 50 more warm requests, {args.cprofile} costliest functions by {args.cprofile_sort} time:")
        print(out.getvalue().rstrip())


if __name__ == "__main__":
    main()
