"""Mutation testing of the access and permission rules: does some test fail when a rule is wrong?

    python tools/mutants.py portal/policy.py -- tests/test_policy.py -k "not postgresql"
    python tools/mutants.py --declarations portal/bulletins/schemas.py -- tests/test_schema_rules.py

Each mutant changes one thing inside one function of the target module: a comparison (``==`` and
``!=``, ``<`` and ``<=``, ``in`` and ``not in``, …), ``and`` and ``or`` (also SQLAlchemy's ``and_`` and
``or_``), a condition dropped from an ``and``/``or``/``and_``/``or_``, a ``not`` removed, ``&`` and
``|``, ``true()`` and ``false()``, a constant (``True``/``False``, a number + 1, a string altered).
The tests after ``--`` are collected once, in one pytest session (so the migrated template databases
are made once); they must all pass unmutated. Then, for each mutant, the functions' code is swapped
in place (every reference to a function, including dictionaries of rules, sees the mutant) and the
tests run until the first failure: a failure kills the mutant. A mutant no test kills must be listed
in ``tests/mutants/equivalent.txt`` with the reason it cannot be told apart; otherwise the run exits 1.
pytest's own output goes to ``test-artifacts/mutants-<module path>.log`` (``mutants-portal-policy.log``).

``--declarations`` mutates what a payload declaration says instead (``portal/payloads.py`` and the
features' ``schemas.py``): a number in a declaration one more and one less (``text(300)``,
``max_length=``, ``ge=``, ``le=``, a constant such as ``MAX_TITLE``), a bound loosened or tightened
(``ge`` and ``gt``, ``le`` and ``lt``), a constraint keyword dropped (``max_length=``, ``pattern=``,
``required=True``, ``default_factory=``), a required field given a default and a field with a default
made required, a pattern or a choice (``Literal[...]``, a module's tuple of choices) altered, and,
inside the validators and functions, the same changes as above. Descriptions, examples and the
translated sentences are not rules, and are left alone. A declaration is made when its module runs,
so each mutant re-runs the module (and the schema modules that import from it) in place, and every
model class already imported elsewhere (a service's ``from … import BulletinInput``, an ``@operation``'s
``body=``) is given the mutant's validator, fields and schema; everything is put back afterwards.
A mutant whose module cannot even be built (pydantic refuses the declaration) counts as killed.
"""
from __future__ import annotations

import ast
import contextlib
import copy
import functools
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


# --- Declarations (``--declarations``) -------------------------------------------------------------

#: Keyword arguments that only document (never mutated).
DOC_KEYWORDS = frozenset({"description", "examples", "json_schema_extra", "title", "alias"})
#: Keyword arguments that are rules: each is dropped in one mutant.
RULE_KEYWORDS = frozenset({"max_length", "min_length", "pattern", "ge", "le", "gt", "lt", "required", "nullable",
                           "default_factory", "multiple_of"})
RENAMED_KEYWORDS = {"ge": "gt", "gt": "ge", "le": "lt", "lt": "le"}
#: Classes that document answers (never validate input): not mutated.
ANSWER_BASES = frozenset({"BaseModel", "Answer", "Page"})


def _is_answer_class(node: ast.ClassDef) -> bool:
    bases = {ast.unparse(b) for b in node.bases}
    return bool(bases & ANSWER_BASES) or node.name.endswith(("Out", "Page"))


def _skipped_subtrees(tree: ast.AST) -> set[int]:
    """ids of nodes inside documentation: descriptions, examples, translated sentences, ``__all__``."""
    skipped: set[int] = set()

    def skip(node: ast.AST) -> None:
        skipped.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in DOC_KEYWORDS:
            skip(node.value)
        elif isinstance(node, ast.Call) and _call_name(node) in ("_", "gettext", "ngettext", "lazy_gettext"):
            for part in [*node.args, *(k.value for k in node.keywords)]:  # wording, not rules
                skip(part)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            skip(node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            skip(node)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            skipped.update(id(n) for part in (node.left, node.right) for n in ast.walk(part))
        elif isinstance(node, ast.ClassDef) and _is_answer_class(node):
            skip(node)
    return skipped


def _rule_strings(tree: ast.Module, skipped: set[int]) -> set[int]:
    """ids of the string constants that are rules: patterns, ``Literal[...]`` choices, ``Tag(...)``
    names, and the items of a module's tuples of choices (``STATUSES = ("draft", …)``) that some
    input declaration uses (not only an answer's)."""
    found: set[int] = set()
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) not in skipped
            and isinstance(node.ctx, ast.Load)}
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "pattern":
            found.update(id(n) for n in ast.walk(node.value))
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) in ("Literal", "typing.Literal"):
            found.update(id(n) for n in ast.walk(node.slice))
        elif isinstance(node, ast.Call) and _call_name(node) == "Tag":
            found.update(id(n) for n in ast.walk(node))
    for statement in tree.body:
        if (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Tuple)
                and any(isinstance(t, ast.Name) and t.id in used for t in statement.targets)):
            found.update(id(n) for n in statement.value.elts if isinstance(n, ast.Constant))
    return found


def _declaration_variants(node: ast.AST, rule_strings: set[int]) -> Iterator[ast.AST]:
    """One-change mutations of ``node`` inside a declaration (a class body, a module-level name)."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            yield ast.Constant(not value)
        elif isinstance(value, int):
            yield ast.Constant(value + 1)
            yield ast.Constant(value - 1)
        elif isinstance(value, str) and id(node) in rule_strings and not node_is_docstring(node):
            yield ast.Constant(value + "-mutant")
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        yield ast.BinOp(left=copy.deepcopy(node), op=ast.Add(), right=ast.Constant(1))
        yield ast.BinOp(left=copy.deepcopy(node), op=ast.Sub(), right=ast.Constant(1))
    elif isinstance(node, ast.Call):
        for i, keyword in enumerate(node.keywords):
            if keyword.arg in RULE_KEYWORDS:
                dropped = copy.deepcopy(node)
                del dropped.keywords[i]
                yield dropped
            if keyword.arg in RENAMED_KEYWORDS:
                renamed = copy.deepcopy(node)
                renamed.keywords[i].arg = RENAMED_KEYWORDS[keyword.arg]
                yield renamed
        if _call_name(node) == "Field" and node.args:  # Field(None, …) → Field(…): required
            required = copy.deepcopy(node)
            required.args = required.args[1:]
            yield required
    elif isinstance(node, (ast.Compare, ast.BoolOp, ast.UnaryOp)):  # (``A | None`` is a type, not a rule)
        yield from _variants(node)


def _required_field(value: ast.expr | None) -> bool:
    """``Field(…)`` with neither a default nor a default factory: the field it declares is required."""
    return (isinstance(value, ast.Call) and _call_name(value) == "Field" and not value.args
            and not any(k.arg in ("default", "default_factory") for k in value.keywords))


def declaration_mutants(source: str, filename: str) -> list[Mutant]:
    """Every mutant of the module's declarations: its models' fields, its module-level names (types,
    limits, choices) and the code of its functions and validators."""
    tree = ast.parse(source, filename)
    _mark_docstrings(tree)
    skipped = _skipped_subtrees(tree)
    rule_strings = _rule_strings(tree, skipped)
    found: list[Mutant] = []

    def nodes(root: ast.AST) -> Iterator[ast.AST]:
        """``root`` and what it holds, not going into functions, lambdas or classes (walked apart)."""
        stack = [root]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(child for child in reversed(list(ast.iter_child_nodes(node)))
                         if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)))

    def mutate(root: ast.AST, qualname: str, in_function: bool) -> None:
        for node in nodes(root):
            if id(node) in skipped:
                continue
            variants = _variants(node) if in_function else _declaration_variants(node, rule_strings)
            for variant in variants:
                found.append(_replace(tree, node, variant, qualname))

    def functions_in(root: ast.AST, prefix: str) -> None:
        """The code of every function and lambda inside ``root`` (validators, ``worded`` sentences)."""
        for node in ast.walk(root):
            if id(node) in skipped:
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for statement in node.body:
                    mutate(statement, prefix + node.name, True)
            elif isinstance(node, ast.Lambda):
                mutate(node.body, prefix + "<lambda>", True)

    for statement in tree.body:
        if id(statement) in skipped:
            continue
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions_in(statement, "")
        elif isinstance(statement, ast.ClassDef):
            for inner in statement.body:
                if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    functions_in(inner, statement.name + ".")
                    continue
                named = isinstance(inner, ast.AnnAssign) and isinstance(inner.target, ast.Name)
                name = f"{statement.name}.{inner.target.id}" if named else statement.name  # type: ignore[union-attr]
                mutate(inner, name, False)
                functions_in(inner, name + ".")
                if named and inner.simple:  # required ↔ with a default
                    changed = copy.deepcopy(inner)
                    if _required_field(inner.value):  # `x: T = Field(description=…)`: required as it is
                        changed.value.args = [ast.Constant(None)]  # type: ignore[union-attr]
                    else:
                        changed.value = None if inner.value is not None else ast.Constant(None)
                    found.append(_replace(tree, inner, changed, name))
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            name = ", ".join(ast.unparse(t) for t in targets)
            mutate(statement.value, name, False)
            functions_in(statement.value, name + ".")

    seen: dict[str, int] = {}
    for mutant in found:
        base = mutant.describe()
        seen[base] = seen.get(base, 0) + 1
        mutant.key = base if seen[base] == 1 else f"{base}  (#{seen[base]})"
    return found


def _dependents(target: str) -> list[str]:
    """The declaration modules that import from ``target`` (directly or through another), in an order
    in which each comes after what it imports."""
    name = target.removesuffix(".py").replace("/", ".")
    candidates = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "portal").rglob("schemas.py"))
    imports = {path: {m for m in _imported((ROOT / path).read_text(encoding="utf-8"))} for path in candidates}
    chosen: list[str] = []
    wanted = {name}
    changed = True
    while changed:
        changed = False
        for path in candidates:
            module = path.removesuffix(".py").replace("/", ".")
            if path not in chosen and path != target and imports[path] & wanted:
                chosen.append(path)
                wanted.add(module)
                changed = True
    # imported before importer
    order: list[str] = []
    while len(order) < len(chosen):
        for path in chosen:
            if path not in order and not any(p.removesuffix(".py").replace("/", ".") in imports[path]
                                             for p in chosen if p not in order and p != path):
                order.append(path)
    return order


def _imported(source: str) -> set[str]:
    return {node.module for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom) and node.module}


#: What a pydantic model's validation, fields and JSON Schema live in.
def _model_state(cls: type) -> dict[str, Any]:
    return {k: v for k, v in vars(cls).items()
            if k.startswith("__pydantic") or k in ("model_config", "__class_vars__", "__private_attributes__",
                                                   "__signature__", "model_fields", "model_computed_fields")}


class Unbuildable(Exception):
    """The mutated declarations cannot even be made (pydantic, or Python, refuses them)."""


@contextlib.contextmanager
def rebuilt(module: types.ModuleType, mutant: Mutant, filename: str, dependents: list[types.ModuleType]) -> Iterator[None]:
    """Run the mutated module (and its dependents, unmutated) in place; give the classes and functions
    already imported elsewhere the mutant's internals; put everything back afterwards."""
    from pydantic import BaseModel

    modules = [module, *dependents]
    saved = {m.__name__: dict(vars(m)) for m in modules}
    names = {id(m): m.__name__ for m in modules}
    classes: list[tuple[type, dict[str, Any]]] = []
    codes: list[tuple[types.FunctionType, types.CodeType]] = []
    # A tagged union's tags are registered in payloads.UNION_TAGS when a schema module runs: while a
    # module that registers them runs again, the set holds only what it registers now.
    from portal import payloads

    tags, registry = set(payloads.UNION_TAGS), payloads.UNION_TAGS
    if any("UNION_TAGS.update(" in Path(saved[names[id(m)]]["__file__"]).read_text(encoding="utf-8") for m in modules):
        registry.clear()
    try:
        try:
            exec(compile(mutant.tree, filename, "exec"), vars(module))
            for dependent in dependents:
                path = saved[names[id(dependent)]]["__file__"]
                exec(compile(Path(path).read_text(encoding="utf-8"), path, "exec"), vars(dependent))
        except Exception as refused:
            raise Unbuildable(f"{type(refused).__name__}: {refused}"[:200]) from refused
        for m in modules:
            now = vars(m)
            for name, old in saved[names[id(m)]].items():
                new = now.get(name)
                if new is old or new is None:
                    continue
                if isinstance(old, type) and issubclass(old, BaseModel) and isinstance(new, type):
                    before = {k: v for k, v in vars(old).items() if k in _model_state(new) or k in _model_state(old)}
                    classes.append((old, before))
                    for key in set(_model_state(old)) - set(_model_state(new)):
                        with contextlib.suppress(AttributeError, TypeError):
                            delattr(old, key)
                    for key, value in _model_state(new).items():
                        setattr(old, key, value)
                    now[name] = old  # one class under each name, wherever it was imported from
                elif (isinstance(old, types.FunctionType) and isinstance(new, types.FunctionType)
                      and old.__code__.co_freevars == new.__code__.co_freevars):
                    codes.append((old, old.__code__))
                    old.__code__ = new.__code__
                    now[name] = old
        yield
    finally:
        for old, before in reversed(classes):
            for key in set(_model_state(old)) - set(before):
                with contextlib.suppress(AttributeError, TypeError):
                    delattr(old, key)
            for key, value in before.items():
                setattr(old, key, value)
        for function, code in reversed(codes):
            function.__code__ = code
        for m in modules:
            vars(m).clear()
            vars(m).update(saved[names[id(m)]])
        registry.clear()
        registry.update(tags)


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


def _clear_caches(module: types.ModuleType) -> None:
    """Empty the target module's ``functools`` caches: a function built once (a prepared criterion,
    a statement) would otherwise keep answering with what the unmutated code built."""
    for value in list(vars(module).values()):
        members = vars(value).values() if isinstance(value, type) else (value,)
        for member in members:
            if isinstance(member, functools._lru_cache_wrapper):  # functools.cache and lru_cache
                member.cache_clear()


@contextlib.contextmanager
def applied(module: types.ModuleType, mutant: Mutant, filename: str) -> Iterator[None]:
    functions = _functions(module)
    compiled = {c.co_qualname: c for c in _code_objects(compile(mutant.tree, filename, "exec"))}
    originals = {name: f.__code__ for name, f in functions.items()}
    try:
        for name, function in functions.items():
            if name in compiled:
                function.__code__ = compiled[name]
        _clear_caches(module)
        yield
    finally:
        for name, function in functions.items():
            function.__code__ = originals[name]
        _clear_caches(module)


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

    def __init__(self, target: str, only: Callable[[Mutant], bool] = lambda m: True,
                 declarations: bool = False) -> None:
        self.target = target
        self.declarations = declarations
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
        make = declaration_mutants if self.declarations else mutants_of
        mutants = [m for m in make(path.read_text(encoding="utf-8"), str(path)) if self.only(m)]
        dependents = [importlib.import_module(p.removesuffix(".py").replace("/", ".")) for p in _dependents(self.target)]
        order = list(items)
        for number, mutant in enumerate(mutants, 1):
            started = time.monotonic()
            if self.declarations:
                try:
                    with rebuilt(module, mutant, str(path), dependents):
                        killer = self._run(session, order)
                except Unbuildable as refused:  # pydantic (or Python) refuses the mutated declaration
                    killer = f"building the declarations ({refused})"
            else:
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
    declarations = "--declarations" in options
    options = [o for o in options if o != "--declarations"]
    target = options[0]
    only = (lambda m: any(word in m.qualname for word in options[1:])) if len(options) > 1 else (lambda m: True)
    run = MutationRun(target, only, declarations)
    # A failing Hypothesis example need not be shrunk to kill a mutant (shrinking takes minutes).
    from hypothesis import Phase, settings

    settings.register_profile("mutants", phases=(Phase.explicit, Phase.reuse, Phase.generate))
    settings.load_profile("mutants")
    basetemp = tempfile.mkdtemp(prefix="portal-tests.")  # never pytest's shared default (see the Makefile)
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"mutants-{target.removesuffix('.py').replace('/', '-')}.log"
    with open(log, "w") as out, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = pytest.main(["-q", "-p", "no:cacheprovider", f"--basetemp={basetemp}", "--tb=line", *pytest_args],
                           plugins=[run])
    if code == pytest.ExitCode.INTERNAL_ERROR:
        print(f"The mutation run itself failed; see {log}.")
        return 2
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
