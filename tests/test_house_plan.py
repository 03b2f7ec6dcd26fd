"""The shape of the source tree: layers a newcomer can read, enforced.

Each folder of ``src/racesim`` is a layer and each file one concept. These tests keep it
so: few modules at the top, no module or function too long to read in one sitting, no
import cycle between modules, and a README layout table that lists exactly the files
that exist.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src"
PACKAGE = SOURCE / "racesim"

MAX_TOP_LEVEL_MODULES = 3
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 70


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SOURCE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _under_type_checking(tree: ast.AST) -> set[int]:
    """Ids of the nodes inside ``if TYPE_CHECKING:`` blocks (imports for annotations only)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.If):
            continue
        test = node.test
        name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
        if name == "TYPE_CHECKING":
            for statement in node.body:
                skipped.update(id(inner) for inner in ast.walk(statement))
    return skipped


def _imported(module: str, tree: ast.AST, known: dict[str, Path]) -> set[str]:
    """The package's modules that ``module`` imports, wherever the import statement sits."""
    skipped = _under_type_checking(tree)
    package = module if known[module].name == "__init__.py" else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base in known:
                targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names
                           if f"{base}.{alias.name}" in known)
    targets.discard(module)
    return targets


def import_graph() -> dict[str, set[str]]:
    """Module → the modules it imports (imports inside functions count)."""
    known = _modules()
    return {name: _imported(name, ast.parse(path.read_text(encoding="utf-8")), known)
            for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_top_level_holds_at_most_three_modules() -> None:
    modules = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules


def test_no_import_cycle_between_modules() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" ↔ ".join(c) for c in found)


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"} - {"e"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_inside_functions_count_and_type_checking_ones_do_not() -> None:
    known = {"p.a": Path("a.py"), "p.b": Path("b.py"), "p.c": Path("c.py")}
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from p.b import Thing\n"
        "def late():\n    from p.c import other\n    return other\n"
    )
    assert _imported("p.a", tree, known) == {"p.c"}


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")),
                         ids=lambda path: str(path.relative_to(SOURCE)))
def test_modules_and_functions_are_short(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, long


def _layer_order() -> list[str]:
    """The packages in the order of README's layout table: each may import those above."""
    return [folder.replace("/", ".") for folder in _layout_table() if "/" in folder]


def test_each_layer_imports_only_the_layers_above_it() -> None:
    order = _layer_order()
    rank = {package: position for position, package in enumerate(order)}

    def layer(module: str) -> int:
        parts = module.split(".")
        package = ".".join(parts[:2])
        return rank.get(package, -1)  # racesim.errors and the top modules: above all

    graph = import_graph()
    entry_points = {"racesim", "racesim.__main__"}  # the package's face and the command
    upward = [
        f"{module} → {target}"
        for module, targets in sorted(graph.items()) if module not in entry_points
        for target in sorted(targets) if layer(target) > layer(module)
    ]
    assert not upward, "imports of a layer below: " + "; ".join(upward)


def _layout_table() -> dict[str, set[str]]:
    """README's layout table: package folder → the modules its row names."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, set[str]] = {}  # in the table's order
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`src/racesim"):
            continue
        folder = cells[0].strip("`").removeprefix("src/").rstrip("/")
        rows[folder] = set(re.findall(r"`([\w]+\.py)`", cells[1]))
    return rows


def test_the_readme_layout_table_matches_the_tree() -> None:
    table = _layout_table()
    tree = {
        str(folder.relative_to(SOURCE)): {
            path.name for path in folder.glob("*.py") if path.name != "__init__.py"
        }
        for folder in [PACKAGE, *sorted(p.parent for p in PACKAGE.glob("*/__init__.py"))]
    }
    assert sorted(table) == sorted(tree), "folders in README vs the tree"
    for folder, modules in tree.items():
        assert table[folder] == modules, (
            f"{folder}: README lists {sorted(table[folder] - modules)} that do not exist "
            f"and misses {sorted(modules - table[folder])}"
        )
