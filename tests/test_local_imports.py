"""The portal's own modules import at the top: an import of one inside a function is either on this
allow-list, with the reason it must wait, or a test failure (``tools/local_imports.py`` finds them)."""
from __future__ import annotations

import collections
import os
import importlib.util
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

#: (file, imported module) → (how many such imports, why they stay inside a function).
ALLOWED: dict[tuple[str, str], tuple[int, str]] = {}


def _tool():
    spec = importlib.util.spec_from_file_location("local_imports", ROOT / "tools" / "local_imports.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("local_imports", module)
    spec.loader.exec_module(module)
    return module


def _own_local_imports(root: pathlib.Path) -> collections.Counter[tuple[str, str]]:
    tool = _tool()
    return collections.Counter((name, module) for name, items in tool.local_imports(root).items()
                               for _, module in items if tool.is_own(module))


def test_function_local_imports_of_portal_modules_are_exactly_the_allow_list():
    found = _own_local_imports(ROOT)
    allowed = collections.Counter({key: count for key, (count, _) in ALLOWED.items()})
    assert found == allowed, (f"not on the allow-list (import at the top, or untie the cycle): {found - allowed}; "
                              f"on the allow-list but gone (remove them): {allowed - found}")
    assert all(reason.strip() for _, reason in ALLOWED.values())


def test_the_count_sees_an_import_inside_a_function(tmp_path):
    """The check above can fail: a portal import inside a (nested, async or method) function is
    found; one at the top, or of another library, is not."""
    (tmp_path / "portal").mkdir()
    (tmp_path / "app.py").write_text("from portal import models\n")
    (tmp_path / "portal" / "feature.py").write_text(
        "import json\nfrom portal import policy\n\n"
        "def view():\n    from portal.audit import trail\n    import json as j\n\n"
        "class Service:\n    async def run(self):\n        def inner():\n            from . import sibling\n")
    assert _own_local_imports(tmp_path) == collections.Counter(
        {("portal/feature.py", "portal.audit"): 1, ("portal/feature.py", "."): 1})


#: Run in a fresh interpreter: each portal module imported first, with every portal module forgotten
#: before the next, so a cycle that only bites in one import order is found.
IMPORT_EACH_FIRST = """
import importlib, pathlib, sys, warnings
root = pathlib.Path(sys.argv[1])
names = sorted(".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
               for p in root.glob("portal/**/*.py")) + ["app"]
failed = []
for name in names:
    for loaded in [n for n in sys.modules if n in ("app", "portal") or n.startswith("portal.")]:
        del sys.modules[loaded]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # models declared again on a fresh base
            importlib.import_module(name)
    except Exception as error:
        failed.append(f"{name}: {error!r}")
print(len(names))
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_portal_module_imports_first_without_a_cycle():
    """Whatever module a script, a test or a worker imports first, it loads: no cycle is left that
    a function-local import would have to hide."""
    result = subprocess.run([sys.executable, "-c", IMPORT_EACH_FIRST, str(ROOT)], capture_output=True, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert int(result.stdout.split()[0]) > 100  # it did walk the portal
