"""The shape of quant.data (issue 19): no import circle and no import that runs back up
inside the package, whether at the top of a module or inside a function; one
``load_panel``. Read from the source with ``ast``, so a lazy import hidden in a function
counts as much as any other."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "quant" / "data"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(path: Path, known: set[str]) -> set[str]:
    """The modules of quant.data that a file imports, anywhere in it (``from X import Y``
    counts as X.Y where that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in known else node.module)
    return {name for name in found if name in known}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(path, set(found)) for name, path in found.items()}


def test_no_module_of_quant_data_imports_a_package_above_it():
    """A module imports its siblings and what lies below them, never the package it sits
    in (``quant.data`` itself, or ``quant.data.readers`` from a reader): that is where
    every entry point is, and importing it from inside runs back up."""
    upward = []
    for name, targets in graph().items():
        for target in targets:
            package = target if modules()[target].name == "__init__.py" else None
            if package and name.startswith(package + ".") and name != package:
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_no_import_circle_in_quant_data():
    edges = graph()
    state: dict[str, str] = {}
    circles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "open":
            circles.append([*path[path.index(name) :], name])
            return
        state[name] = "open"
        for target in sorted(edges[name]):
            visit(target, [*path, name])
        state[name] = "done"

    for name in sorted(edges):
        visit(name, [])
    assert circles == []


def test_one_load_panel():
    defined = [
        f"{module_name(path)}.{node.name}"
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and node.name == "load_panel"
    ]
    assert defined == ["quant.data.load.load_panel"]
