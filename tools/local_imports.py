"""Count imports written inside functions (``python tools/local_imports.py [-v]``).

Most such imports in a Flask project dodge an import cycle; the portal keeps them only where an
import must wait (the app factory registering blueprints, optional or costly modules used by one
command). ``-v`` lists them by file, the portal's own modules separately from the rest.
"""
from __future__ import annotations

import ast
import collections
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def local_imports(root: pathlib.Path = ROOT) -> dict[str, list[tuple[int, str]]]:
    """file → [(line, module)] of every import statement inside a function (counted once)."""
    found: dict[str, set[tuple[int, str]]] = collections.defaultdict(set)
    for path in sorted([*root.glob("portal/**/*.py"), root / "app.py"]):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(node):
                    if isinstance(sub, ast.ImportFrom):  # a relative import keeps its dots: "." + module
                        found[str(path.relative_to(root))].add((sub.lineno, "." * sub.level + (sub.module or "")))
                    elif isinstance(sub, ast.Import):
                        found[str(path.relative_to(root))].add((sub.lineno, sub.names[0].name))
    return {name: sorted(items) for name, items in found.items()}


def is_own(module: str) -> bool:
    """Whether an imported module is the portal's own (``portal…``, ``app``, or relative)."""
    return module.startswith(".") or module.split(".")[0] in ("portal", "app")


def main() -> None:
    found = local_imports(pathlib.Path(sys.argv[-1]) if len(sys.argv) > 1 and not sys.argv[-1].startswith("-")
                          else ROOT)
    own = sum(1 for items in found.values() for _, module in items if is_own(module))
    total = sum(len(items) for items in found.values())
    print(f"{total} function-local imports, {own} of the portal's own modules")
    if "-v" in sys.argv:
        for name, items in sorted(found.items(), key=lambda kv: -len(kv[1])):
            print(f"{len(items):3} {name}: " + ", ".join(f"{module}:{line}" for line, module in items))


if __name__ == "__main__":
    main()
