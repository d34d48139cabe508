"""The code's layout: scripts -> package, never back; no import circles; nothing heavy at import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PACKAGE = "mnist_pipeline"
SCRIPTS = ("model", "mnist_classification")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def package_graph() -> dict[str, set[str]]:
    modules = {f"{PACKAGE}.{path.stem}": path for path in (ROOT / PACKAGE).glob("*.py")}
    return {name: imported_modules(path) & modules.keys() - {name} for name, path in modules.items()}


def test_the_package_never_imports_a_script():
    for path in (ROOT / PACKAGE).glob("*.py"):
        roots = {name.split(".")[0] for name in imported_modules(path)}
        assert not roots & set(SCRIPTS), path.name


def test_the_scripts_never_import_each_other():
    for script in SCRIPTS:
        roots = {name.split(".")[0] for name in imported_modules(ROOT / f"{script}.py")}
        assert not roots & (set(SCRIPTS) - {script}), script


def test_no_import_circles_in_the_package():
    graph = package_graph()
    assert len(graph) >= 5  # the graph is really read

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        for imported in graph[module]:
            visit(imported, (*path, module))

    for module in graph:
        visit(module, ())


def test_importing_every_module_loads_no_tensorflow_or_plotting():
    modules = [f"{PACKAGE}.{path.stem}" for path in (ROOT / PACKAGE).glob("*.py")]
    heavy = ("tensorflow", "keras", "matplotlib", "sklearn", "PIL")
    code = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(n for n in {heavy!r} if n in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"
