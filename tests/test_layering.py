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
FACES = {"causaldsl", "causaldsl.api", "causaldsl.cli", "causaldsl.explain"}
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
    >>> g.has_edge("causaldsl.api", "causaldsl.language.parser"), g.has_edge("causaldsl.language.parser", "causaldsl.api")
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


# The stages, lowest first: a package may import its own modules and those of lower stages.
# graphs sits beside model/engines/bayes: structure alone, it needs only the language.
# interchange (BIF, pgmpy, pyAgrum) builds models from tables: the model and the language only.
STAGES = {"language": 0, "model": 1, "graphs": 1, "engines": 2, "interchange": 2, "bayes": 3}


def _stage(module: str):
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in STAGES else None


def test_stages_import_only_lower_stages():
    """language < model < engines < bayes, graphs on the language alone; faces on top."""
    graph = import_graph()
    wrong = [(a, b) for a, b in graph.edges
             if _stage(a) and _stage(b) and _stage(a) != _stage(b) and STAGES[_stage(b)] >= STAGES[_stage(a)]]
    assert not wrong, f"imports that point sideways or up between stages: {wrong}"
    assert not [(a, b) for a, b in graph.edges if _stage(a) and not _stage(b)], "a stage imports a face"


def test_every_module_lives_in_a_stage_or_is_a_face():
    """The file list reads as the pipeline: no module outside the stage packages but the faces."""
    loose = [m for m in import_graph() if not _stage(m) and not _is_face(m) and m.count(".") > 0
             and m.split(".")[1] not in STAGES]
    assert not loose, loose


def test_one_separation_test_and_one_graph_type():
    """d-separation is written once (graphs.analysis); identify and CausalGraph call that one."""
    from causaldsl.graphs import analysis as graph_analysis, identify

    defs = [(p.name, n.name) for p in PACKAGE.rglob("*.py") for n in ast.walk(ast.parse(p.read_text()))
            if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in ("d_separated", "m_separated", "_G")]
    assert [d for d in defs if d[1] != "d_separated" or d[0] != "causal_graph.py"] == [
        ("analysis.py", "d_separated")]
    assert identify.d_separated is graph_analysis.d_separated
