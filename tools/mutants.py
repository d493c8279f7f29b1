"""Mutation testing of the access and permission rules: does some test fail when a rule is wrong?

    python tools/mutants.py portal/policy.py -- tests/test_policy.py -k "not postgresql"

Each mutant changes one thing inside one function of the target module: a comparison (``==`` and
``!=``, ``<`` and ``<=``, ``in`` and ``not in``, …), ``and`` and ``or`` (also SQLAlchemy's ``and_`` and
``or_``), a condition dropped from an ``and``/``or``/``and_``/``or_``, a ``not`` removed, ``&`` and
``|``, ``true()`` and ``false()``, a constant (``True``/``False``, a number + 1, a string altered).
The tests after ``--`` are collected once, in one pytest session (so the migrated template databases
are made once); they must all pass unmutated. Then, for each mutant, the functions' code is swapped
in place (every reference to a function, including dictionaries of rules, sees the mutant) and the
tests run until the first failure: a failure kills the mutant. A mutant no test kills must be listed
in ``tests/mutants/equivalent.txt`` with the reason it cannot be told apart; otherwise the run exits 1.
pytest's own output goes to ``test-artifacts/mutants-<module>.log``.
"""
from __future__ import annotations

import ast
import contextlib
import copy
import importlib
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "tests" / "mutants" / "equivalent.txt"
ARTIFACTS = ROOT / "test-artifacts"

COMPARISONS: dict[type, tuple[type, ...]] = {
    ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,), ast.Lt: (ast.LtE,), ast.LtE: (ast.Lt,), ast.Gt: (ast.GtE,),
    ast.GtE: (ast.Gt,), ast.In: (ast.NotIn,), ast.NotIn: (ast.In,), ast.Is: (ast.IsNot,), ast.IsNot: (ast.Is,),
}
SWAPPED_CALLS = {"and_": "or_", "or_": "and_", "true": "false", "false": "true"}


@dataclass
class Mutant:
    qualname: str
    line: int
    before: str
    after: str
    tree: ast.Module
    key: str = ""

    def describe(self) -> str:
        return f"{self.qualname}: {self.before}  →  {self.after}"


def _call_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            return node.func.id
        if isinstance(node.func, ast.Attribute):
            return node.func.attr
    return None


def _variants(node: ast.AST) -> Iterator[ast.AST]:
    """Every one-change mutation of ``node`` itself (not of its children)."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            for other in COMPARISONS.get(type(op), ()):
                changed = copy.deepcopy(node)
                changed.ops[i] = other()
                yield changed
    elif isinstance(node, ast.BoolOp):
        changed = copy.deepcopy(node)
        changed.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield changed
        for i in range(len(node.values)):
            rest = [copy.deepcopy(v) for j, v in enumerate(node.values) if j != i]
            yield rest[0] if len(rest) == 1 else ast.BoolOp(op=copy.deepcopy(node.op), values=rest)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield copy.deepcopy(node.operand)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
        changed = copy.deepcopy(node)
        changed.op = ast.BitOr() if isinstance(node.op, ast.BitAnd) else ast.BitAnd()
        yield changed
    elif isinstance(node, ast.Call) and (name := _call_name(node)) in SWAPPED_CALLS:
        changed = copy.deepcopy(node)
        if isinstance(changed.func, ast.Name):
            changed.func.id = SWAPPED_CALLS[name]
        else:
            changed.func.attr = SWAPPED_CALLS[name]  # type: ignore[union-attr]
        yield changed
        if name in ("and_", "or_") and len(node.args) > 1:
            for i in range(len(node.args)):
                dropped = copy.deepcopy(node)
                del dropped.args[i]
                yield dropped
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            yield ast.Constant(not value)
        elif isinstance(value, int):
            yield ast.Constant(value + 1)
        elif isinstance(value, str) and value and not node_is_docstring(node):
            yield ast.Constant(value + "-mutant")


def node_is_docstring(node: ast.AST) -> bool:
    return getattr(node, "_docstring", False)


def _mark_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                first.value._docstring = True  # type: ignore[attr-defined]


def mutants_of(source: str, filename: str) -> list[Mutant]:
    """Every mutant of the code inside the module's functions (not decorators or default values)."""
    tree = ast.parse(source, filename)
    _mark_docstrings(tree)
    found: list[Mutant] = []

    def visit_function(function: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str) -> None:
        for statement in function.body:
            for node in ast.walk(statement):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                    continue  # (their bodies are walked all the same, and reach the code through the parent)
                for variant in _variants(node):
                    found.append(_replace(tree, node, variant, qualname))

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit_function(node, prefix + node.name)
            elif isinstance(node, ast.ClassDef):
                visit(node.body, prefix + node.name + ".")

    visit(tree.body, "")
    seen: dict[str, int] = {}
    for mutant in found:
        base = mutant.describe()
        seen[base] = seen.get(base, 0) + 1
        mutant.key = base if seen[base] == 1 else f"{base}  (#{seen[base]})"
    return found


def _replace(tree: ast.Module, target: ast.AST, variant: ast.AST, qualname: str) -> Mutant:
    """A copy of ``tree`` with ``target`` replaced by ``variant``."""
    before = ast.unparse(target)
    marker = id(target)
    for node in ast.walk(tree):
        node._original_id = id(node)  # type: ignore[attr-defined]
    mutated = copy.deepcopy(tree)

    class Swap(ast.NodeTransformer):
        def generic_visit(self, node: ast.AST) -> ast.AST:
            if getattr(node, "_original_id", None) == marker:
                return ast.copy_location(variant, node)
            return super().generic_visit(node)

    mutated = ast.fix_missing_locations(Swap().visit(mutated))
    return Mutant(qualname, getattr(target, "lineno", 0), before, ast.unparse(variant), mutated)


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield const
            yield from _code_objects(const)


def _functions(module: types.ModuleType) -> dict[str, types.FunctionType]:
    """The module's functions and methods by qualified name (through decorators' ``__wrapped__``)."""
    found: dict[str, types.FunctionType] = {}

    def add(value: Any) -> None:
        while value is not None:
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property):
                for part in (value.fget, value.fset, value.fdel):
                    add(part)
                return
            if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
                found.setdefault(value.__qualname__, value)
            value = getattr(value, "__wrapped__", None)

    for value in vars(module).values():
        if isinstance(value, type) and value.__module__ == module.__name__:
            for member in vars(value).values():
                add(member)
        else:
            add(value)
    return found


@contextlib.contextmanager
def applied(module: types.ModuleType, mutant: Mutant, filename: str) -> Iterator[None]:
    functions = _functions(module)
    compiled = {c.co_qualname: c for c in _code_objects(compile(mutant.tree, filename, "exec"))}
    originals = {name: f.__code__ for name, f in functions.items()}
    try:
        for name, function in functions.items():
            if name in compiled:
                function.__code__ = compiled[name]
        yield
    finally:
        for name, function in functions.items():
            function.__code__ = originals[name]


def load_equivalent(target: str) -> dict[str, str]:
    """key → reason, for the target module, from tests/mutants/equivalent.txt (``target | key | reason``)."""
    listed: dict[str, str] = {}
    if EQUIVALENT.exists():
        for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            path, key, reason = (part.strip() for part in line.split(" | ", 2))
            if path == target:
                listed[key] = reason
    return listed


class MutationRun:
    """A pytest plugin: runs the collected tests once unmutated, then against each mutant."""

    def __init__(self, target: str, only: Callable[[Mutant], bool] = lambda m: True) -> None:
        self.target = target
        self.only = only
        self.failed = False
        self.killed: list[tuple[Mutant, str]] = []
        self.survived: list[Mutant] = []
        self.baseline_ok = False

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed:
            self.failed = True
            self.failing = report.nodeid

    def _run(self, session: Any, items: list[Any]) -> str | None:
        """Run ``items`` in order; the first failing test's id, or None."""
        self.failed = False
        self.failing = None
        for index, item in enumerate(items):
            following = items[index + 1] if index + 1 < len(items) else items[0]
            item.ihook.pytest_runtest_protocol(item=item, nextitem=following)
            if self.failed:
                session._setupstate.teardown_exact(items[0])
                return self.failing
        return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: Any) -> bool:
        items = session.items
        if not items:
            raise SystemExit("no tests collected")
        module = importlib.import_module(self.target.removesuffix(".py").replace("/", "."))
        path = ROOT / self.target
        failing = self._run(session, items)
        if failing:
            print(f"The tests fail without any mutant ({failing}): fix them first.", file=sys.__stderr__)
            return True
        self.baseline_ok = True
        mutants = [m for m in mutants_of(path.read_text(encoding="utf-8"), str(path)) if self.only(m)]
        order = list(items)
        for number, mutant in enumerate(mutants, 1):
            started = time.monotonic()
            with applied(module, mutant, str(path)):
                killer = self._run(session, order)
            if killer:  # the test that killed this mutant runs first for the next (mutants come in runs)
                order.sort(key=lambda item: item.nodeid != killer)
            outcome = f"killed by {killer}" if killer else "SURVIVED"
            print(f"[{number}/{len(mutants)}] {time.monotonic() - started:5.1f}s {outcome}: {mutant.key}",
                  file=sys.__stderr__, flush=True)
            if killer:
                self.killed.append((mutant, killer))
            else:
                self.survived.append(mutant)
        session._setupstate.teardown_exact(None)
        return True


def main(argv: list[str]) -> int:
    if "--" not in argv:
        raise SystemExit(__doc__)
    split = argv.index("--")
    options, pytest_args = argv[:split], argv[split + 1:]
    target = options[0]
    only = (lambda m: any(word in m.qualname for word in options[1:])) if len(options) > 1 else (lambda m: True)
    run = MutationRun(target, only)
    # A failing Hypothesis example need not be shrunk to kill a mutant (shrinking takes minutes).
    from hypothesis import Phase, settings

    settings.register_profile("mutants", phases=(Phase.explicit, Phase.reuse, Phase.generate))
    settings.load_profile("mutants")
    basetemp = tempfile.mkdtemp(prefix="portal-tests.")  # never pytest's shared default (see the Makefile)
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"mutants-{Path(target).stem}.log"
    with open(log, "w") as out, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        pytest.main(["-q", "-p", "no:cacheprovider", f"--basetemp={basetemp}", "--tb=line", *pytest_args],
                    plugins=[run])
    if not run.baseline_ok:
        print(f"The tests did not pass unmutated; see {log}.")
        return 2
    equivalent = load_equivalent(target)
    unexplained = [m for m in run.survived if m.key not in equivalent]
    stale = sorted(set(equivalent) - {m.key for m in run.survived})
    total = len(run.killed) + len(run.survived)
    print(f"{target}: {total} mutants, {len(run.killed)} killed, {len(run.survived) - len(unexplained)} "
          f"equivalent (listed with the reason in {EQUIVALENT.relative_to(ROOT)}), {len(unexplained)} survived")
    for mutant in unexplained:
        print(f"  SURVIVED  line {mutant.line}: {mutant.key}")
    if only is not None and len(options) > 1:
        stale = []  # a partial run cannot tell a stale entry
    for key in stale:
        print(f"  listed as equivalent but killed or no longer made: {key}")
    return 1 if unexplained or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
