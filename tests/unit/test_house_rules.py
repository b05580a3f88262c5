"""The package's shape stays as docs/architecture.md draws it: no import cycle among harness/'s
modules (lazy imports inside functions count; imports only for type checkers do not), and no module
over 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "harness"
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The harness modules `path` imports, at any depth, outside `if TYPE_CHECKING:` blocks.
    `from a import b` counts as importing a.b when that is a module, else a."""
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    found.add(f"{base}.{alias.name}")
                elif base in modules:
                    found.add(base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    found.discard(module_name(path))
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports_of(path, set(paths)) for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_no_import_cycle_in_the_package() -> None:
    graph = import_graph()
    found = cycles(graph)
    detail = ["; ".join(f"{a} -> {', '.join(sorted(graph[a] & set(c)))}" for a in c) for c in found]
    assert not found, "import cycles:\n" + "\n".join(detail)


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_for_type_checkers_only_do_not_count(tmp_path: Path) -> None:
    source = PACKAGE / "brokers" / "base.py"
    assert "harness.scenario.model" not in imports_of(source, set(import_graph()))


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_over_400_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE.parent)} has {lines} lines: split it by job"


def test_every_module_path_the_scripts_and_docs_name_exists() -> None:
    """The install and image scripts read versions out of modules by path: a move must take them along."""
    import re

    root = PACKAGE.parent
    named = {(source.relative_to(root), match) for source in [*root.glob("scripts/*"), root / "Makefile",
                                                             root / "README.md", *root.glob("docs/*.md")]
             if source.is_file() for match in re.findall(r"\bharness/[\w/]+\.py\b", source.read_text())}
    missing = sorted(f"{source}: {path}" for source, path in named if not (root / path).exists())
    assert not missing, "paths to modules that do not exist:\n" + "\n".join(missing)


FORM_QUESTIONS = {"node_form", "runs_images", "external"}   # what a runtime says of how it runs nodes


def runtime_kind_reads(source: str) -> list[str]:
    """Where a module asks which runtime (or which node form) it is on: `x.node_form`, `runtime.name`,
    `self.runtime.name`; a broker's cluster of one form must not, the registry picked it."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        on_runtime = (isinstance(owner, ast.Name) and owner.id == "runtime") or (
            isinstance(owner, ast.Attribute) and owner.attr == "runtime")
        if node.attr in FORM_QUESTIONS or (node.attr == "name" and on_runtime):
            found.append((node.lineno, f"{node.lineno}: .{node.attr}"))
    return [where for _, where in sorted(found)]


@pytest.mark.parametrize("path", sorted((PACKAGE / "brokers").rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_broker_module_branches_on_the_runtime(path: Path) -> None:
    assert runtime_kind_reads(path.read_text()) == [], f"{path}: the runtime picks the cluster of its node form"


def test_the_runtime_question_finder_finds_the_old_branches() -> None:
    old = ("self.in_image = runtime.runs_images\n"
           "flags = cds.jvm_flags(v) if self.runtime.name == 'local' else []\n"
           "if runtime.external: pass\n")
    assert runtime_kind_reads(old) == ["1: .runs_images", "2: .name", "3: .external"]
    assert runtime_kind_reads("name = self.spec.name\nnode.name\n") == []
