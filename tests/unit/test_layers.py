"""The layers contract: dependencies point one way, and no two modules import each other.

    pulse (CLI, supervisor, bench)  ->  ui, streams  ->  sinks  ->  schemas

Read from the code's own imports (every `import`, also those inside functions, which hide cycles
from Python but not from a reader). A test of the checker itself shows it failing on an upward import.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# package -> the packages it may import (besides itself)
ALLOWED = {
    "schemas": set(),
    "sinks": {"schemas"},
    "streams": {"sinks", "schemas"},
    "ui": {"sinks", "schemas"},
    "pulse": {"ui", "streams", "sinks", "schemas"},
}


def imports_of(path: Path, module: str, known: dict[str, Path]) -> set[str]:
    """The project modules a file imports: `from a import b` is a.b when b is a module, else a."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: -node.level]
                base = ".".join(parent + ([base] if base else []))
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names)
    return {name for name in found if name.split(".")[0] in ALLOWED}


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for package in ALLOWED:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def upward_imports(root: Path) -> list[str]:
    problems, known = [], modules(root)
    for module, path in known.items():
        layer = module.split(".")[0]
        for name in sorted(imports_of(path, module, known)):
            target = name.split(".")[0]
            if target != layer and target not in ALLOWED[layer]:
                problems.append(f"{module} imports {name} ({layer} may import {sorted(ALLOWED[layer]) or 'nothing'})")
    return problems


def import_cycles(root: Path) -> list[str]:
    """Pairs and longer loops of modules that import each other (a DFS over the module graph)."""
    known = modules(root)
    graph = {m: {n for n in imports_of(p, m, known) if n in known and n != m} for m, p in known.items()}
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [node, nxt]) if nxt in stack else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, stack + [node])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return cycles


def test_dependencies_point_one_way():
    assert upward_imports(ROOT) == []


def test_no_module_imports_one_that_imports_it():
    assert import_cycles(ROOT) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for package in ALLOWED:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_contract_fails_on_an_upward_import(tmp_path):
    root = _tree(tmp_path, {"sinks/store.py": "def f():\n    from pulse.settings import Settings\n",
                            "streams/agent.py": "from ui import db\nfrom sinks import store\n", "ui/db.py": ""})
    assert upward_imports(root) == [
        "sinks.store imports pulse.settings (sinks may import ['schemas'])",
        "streams.agent imports ui.db (streams may import ['schemas', 'sinks'])",
    ]


def test_the_contract_finds_a_cycle_hidden_in_a_function(tmp_path):
    root = _tree(tmp_path, {"pulse/run.py": "from pulse import scaleout\n",
                            "pulse/scaleout.py": "def f():\n    from pulse.run import main\n"})
    assert import_cycles(root) == ["pulse.run -> pulse.scaleout -> pulse.run"]
