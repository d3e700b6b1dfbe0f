"""The package's shape holds: every module in a layer, imports only downward or within a layer,
no import cycle, no module over the size budget (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "engine" / "dramaturg"
MAX_LINES = 400

#: the layers, lowest first: a module may import its own layer and those below it. Each layer is
#: a folder of the package, except the kernel (the modules at the top of the package), the face
#: (``dramaturg/__init__.py``) and ``__main__`` (with the CLI).
LAYERS = (
    "kernel",
    "providers",
    "chain",
    "store",
    "observe",
    "run",
    "batch",
    "api",
    "cowrite",
    "face",
    "studio",
    "cli",
    "screenplay",
)
FOLDERS = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
#: old import paths kept for one release (docs/architecture.md): part of the face
ALIASES = {"tracker", "report", "history", "faults"}


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> int | None:
    if module == "" or module in ALIASES:
        return LAYERS.index("face")
    if module == "__main__":
        return LAYERS.index("cli")
    head = module.split(".", maxsplit=1)[0]
    if head in FOLDERS:
        return LAYERS.index(head) if head in LAYERS else None
    return LAYERS.index("kernel")


def _runtime_imports(module: str, path: Path) -> set[str]:
    """The package's modules that ``module`` imports when it runs (at the top or in a function;
    not those imported only for type checking)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body
        for n in ast.walk(stmt)
    }
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                origin = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module and node.module.startswith("dramaturg"):
                origin = node.module.removeprefix("dramaturg").removeprefix(".")
            else:
                continue
            for alias in node.names:
                sub = f"{origin}.{alias.name}" if origin else alias.name
                targets.append(sub if sub in MODULES else origin)
        elif isinstance(node, ast.Import):
            targets = [
                a.name.removeprefix("dramaturg").removeprefix(".")
                for a in node.names
                if a.name.split(".")[0] == "dramaturg"
            ]
        found.update(t for t in targets if t in MODULES and t != module)
    return found


GRAPH = nx.DiGraph()
for _module, _path in MODULES.items():
    GRAPH.add_node(_module)
    GRAPH.add_edges_from((_module, t) for t in _runtime_imports(_module, _path))


def _show(module: str) -> str:
    return f"dramaturg.{module}" if module else "dramaturg"


def test_every_folder_is_a_layer():
    unplaced = sorted(FOLDERS - set(LAYERS))
    assert not unplaced, f"add these folders to LAYERS in {__file__}: {unplaced}"


def test_the_kernel_stays_small():
    """Modules at the top of the package are the kernel: data and pure functions every layer may
    use. A new one belongs in a folder unless the providers need it."""
    kernel = sorted(m for m in MODULES if _layer(m) == 0)
    assert len(kernel) <= 14, kernel


def test_imports_only_go_down():
    upward = [
        f"{_show(a)} ({LAYERS[la]}) imports {_show(b)} ({LAYERS[lb]})"
        for a, b in GRAPH.edges
        if (la := _layer(a)) is not None and (lb := _layer(b)) is not None and lb > la
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    cycles = [sorted(map(_show, c)) for c in nx.strongly_connected_components(GRAPH) if len(c) > 1]
    assert not cycles, cycles


@pytest.mark.parametrize("module", sorted(MODULES), ids=_show)
def test_module_within_the_size_budget(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{_show(module)} has {lines} lines; split it by job"


def test_the_checks_see_the_package():
    """The import graph is read as intended: a known downward import and a known lazy one."""
    assert ("run.session", "run.runner") in GRAPH.edges
    assert ("api", "store.snapshot") in GRAPH.edges  # imported inside a function
    assert ("run.runner", "run.runmanifest") in GRAPH.edges
    assert ("run.runmanifest", "run.runner") not in GRAPH.edges  # for type checking only
