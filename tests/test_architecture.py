"""The import rules of ARCHITECTURE.md, checked over every module's source (and one real import).

1. The core (agents, retrieval, index, gpu, workers' plain modules) never imports the shell
   (``matlas.*``) except ``matlas.errors``: it takes slices and built objects from ``matlas.wiring``;
   lower layers (gpu < index < retrieval) never import upper ones.
2. Nothing imports Celery (or kombu) when it is imported, except the Celery app and the worker
   entry points; a broker-less deployment never builds a Celery app.

Imports under ``if TYPE_CHECKING:`` are annotations, not dependencies, and are not counted.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ("agents", "retrieval", "index", "gpu", "workers")
SHELL_ALLOWED = ("matlas.errors",)
CELERY = ("celery", "kombu")
# The Celery shells: they import Celery at import time and wire the core from the settings.
CELERY_SHELLS = {"workers/app.py", "workers/index_tasks.py", "workers/llm_tasks.py"}

# Known violations of rule 1 that other parts of issue 13 remove; each names the point that does.
# The lead shrinks this list at merge: an entry that no longer violates fails the test below.
KNOWN_SHELL_IMPORTS: set[tuple[str, str]] = set()  # issue 13.1 removed the last ones; keep it empty


def _modules() -> list[Path]:
    return sorted(p for package in (*CORE, "matlas") for p in (ROOT / package).rglob("*.py"))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module, *, at_import_only: bool) -> list[str]:
    """Modules imported by ``tree`` (all of them, or only those imported when the module is imported)."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if at_import_only and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _shell_imports() -> set[tuple[str, str]]:
    """``(module path, shell module)`` for every runtime import of the shell by the core."""
    found = set()
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        if not rel.startswith(CORE) or rel in CELERY_SHELLS:
            continue
        for name in _imports(ast.parse(path.read_text()), at_import_only=False):
            if _within(name, ("matlas",)) and not _within(name, SHELL_ALLOWED):
                module = ".".join(name.split(".")[:2])
                found.add((rel, module if module != "matlas" else name))
    return found


def test_the_core_never_imports_the_shell_except_its_errors():
    violations = _shell_imports()
    assert sorted(violations - KNOWN_SHELL_IMPORTS) == []


def test_the_allow_list_holds_only_live_violations():
    assert sorted(KNOWN_SHELL_IMPORTS - _shell_imports()) == []  # fixed: remove it from KNOWN_SHELL_IMPORTS


# Lower layers never import upper ones (see the table in ARCHITECTURE.md).
FORBIDDEN = {
    "retrieval": ("agents", "workers"),
    "index": ("agents", "workers", "gpu"),  # GPU placement is passed in by the caller
    "gpu": ("agents", "workers", "retrieval", "index"),
}


def test_lower_layers_never_import_upper_ones():
    violations = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        upper = FORBIDDEN.get(rel.split("/")[0], ())
        names = _imports(ast.parse(path.read_text()), at_import_only=False)
        violations += [(rel, n) for n in names if _within(n, upper)]
    assert violations == []


def test_only_the_celery_shells_import_celery_when_imported():
    importers = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        names = _imports(ast.parse(path.read_text()), at_import_only=True)
        if rel not in CELERY_SHELLS and any(_within(n, CELERY) for n in names):
            importers.append(rel)
    assert importers == []


@pytest.mark.parametrize("modules,celery_loaded", [
    ("matlas.api, matlas.cli, agents.llm, agents.sessions, workers.llm_service, workers.submit", False),
    ("workers.app", True),  # the Celery app's module loads Celery, but builds no app until asked
])
def test_importing_builds_no_celery_app(modules, celery_loaded):
    """The real import graph, transitive imports included: Celery stays unloaded, no app is built."""
    code = (f"import sys, {modules}\n"
            "print(any(m.split('.')[0] in ('celery', 'kombu') for m in sys.modules))\n"
            "app = sys.modules.get('workers.app')\n"
            "print(app is not None and app.default_app.cache_info().currsize > 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=True)
    assert done.stdout.split() == [str(celery_loaded), "False"], done.stdout + done.stderr[-2000:]
