"""The package's imports flow one way: from the faces down to the language, with no cycle.

Every ``import`` of a ``causaldsl`` module counts, at module level or inside a function:
an import moved into a function to dodge a cycle is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "causaldsl"

# The faces a person calls; nothing below them may import them.
FACES = {"causaldsl", "causaldsl.api", "causaldsl.cli"}
FACE_PACKAGES = ("causaldsl.notebook",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.AST, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The ``causaldsl`` modules one import statement names (``from . import x`` names ``x``)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[:len(base) - node.level + 1] + ([node.module] if node.module else [])
            target = ".".join(base)
        else:
            target = node.module or ""
        names = [f"{target}.{a.name}" if f"{target}.{a.name}" in known else target for a in node.names]
    out = []
    for name in names:
        while name not in known and "." in name:
            name = name.rsplit(".", 1)[0]  # `import causaldsl.x.f` names module causaldsl.x
        if name in known and name != module:
            out.append(name)
    return out


def import_graph() -> nx.DiGraph:
    """``a -> b`` when module ``a`` imports module ``b`` anywhere in its text.

    >>> g = import_graph()
    >>> g.has_edge("causaldsl.api", "causaldsl.parser"), g.has_edge("causaldsl.parser", "causaldsl.api")
    (True, False)
    """
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for module, path in files.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _imported(node, module, path.name == "__init__.py", set(files)):
                    graph.add_edge(module, target)
    return graph


def _is_face(module: str) -> bool:
    return module in FACES or module.startswith(FACE_PACKAGES)


def test_no_import_cycle():
    graph = import_graph()
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, f"modules that import each other in a circle: {cycles}"


def test_nothing_below_the_faces_imports_a_face():
    graph = import_graph()
    upward = [(a, b) for a, b in graph.edges if _is_face(b) and not _is_face(a)]
    assert not upward, f"imports that point up to a face: {upward}"


def test_graph_modules_sit_below_the_model_faces():
    """Graphs and identification need the language (syntax, parser) but never the engines."""
    graph = import_graph()
    graph_modules = ["causaldsl.admg", "causaldsl.graph_analysis", "causaldsl.dagitty", "causaldsl.identify",
                     "causaldsl.estimand", "causaldsl.estimation", "causaldsl.causal_graph"]
    for module in graph_modules:
        reached = nx.descendants(graph, module)
        assert not any(r.startswith(("causaldsl.backends", "causaldsl.inference", "causaldsl.fit"))
                       for r in reached), (module, sorted(reached))


def test_one_separation_test_and_one_graph_type():
    """d-separation is written once (graph_analysis); identify and CausalGraph call that one."""
    from causaldsl import graph_analysis, identify

    defs = [(p.name, n.name) for p in PACKAGE.rglob("*.py") for n in ast.walk(ast.parse(p.read_text()))
            if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in ("d_separated", "m_separated", "_G")]
    assert [d for d in defs if d[1] != "d_separated" or d[0] != "causal_graph.py"] == [
        ("graph_analysis.py", "d_separated")]
    assert identify.d_separated is graph_analysis.d_separated
