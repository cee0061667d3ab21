"""No import cycle inside ``sim/``, read from the source without importing anything.

The rule: an edge A -> B means module A imports sim module B *when A is imported*, i.e.
at module level (also inside module-level ``if``/``try``/``with`` blocks and class
bodies, which run on import). Imports inside functions are not edges: they run later,
when every module is loaded, so they cannot break import order. Imports under
``if TYPE_CHECKING:`` never run and are not edges either. ``from P import N`` is an edge
to ``P.N`` if that is a module, else to ``P``; a submodule's implicit import of its
parent package is not an edge (every package would otherwise be a cycle with the
children its ``__init__`` imports).
"""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[1] / "sim"


def module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(SIM.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_time_nodes(body: list[ast.stmt], functions: bool = False):
    """Statements that run when the module is imported (and, if ``functions``, those
    inside functions too)."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not functions:
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _import_time_nodes(node.orelse, functions)
            continue
        yield node
        for field in ("body", "orelse", "finalbody"):
            yield from _import_time_nodes(getattr(node, field, []) or [], functions)
        for handler in getattr(node, "handlers", []) or []:
            yield from _import_time_nodes(handler.body, functions)


def import_edges(name: str, path: Path, modules: dict[str, Path],
                 functions: bool = False) -> list[tuple[str, int]]:
    """(imported sim module, line) for every import-time import of ``name`` (and every
    import inside its functions if ``functions``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in _import_time_nodes(tree.body, functions):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        else:
            continue
        edges += [(target, node.lineno) for target in targets
                  if target in modules and target != name]
    return edges


def import_graph(functions: bool = False) -> dict[str, dict[str, int]]:
    """module -> {imported module: line of the first such import}."""
    modules = all_modules()
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        targets: dict[str, int] = {}
        for target, line in import_edges(name, path, modules, functions):
            targets.setdefault(target, line)
        graph[name] = targets
    return graph


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's components with more than one module (each holds at least one cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def a_cycle(graph: dict[str, dict[str, int]], component: list[str]) -> list[str]:
    """One concrete cycle through the component's first module (breadth-first, shortest)."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node]):
            if target == start:
                return paths[node] + [start]
            if target in members and target not in paths:
                paths[target] = paths[node] + [target]
                queue.append(target)
    raise AssertionError("a strongly connected component always has a cycle")


def describe(graph: dict[str, dict[str, int]], cycle: list[str]) -> str:
    steps = [f"{a} (line {graph[a][b]}) -> {b}" for a, b in zip(cycle, cycle[1:])]
    return "cycle: " + "; ".join(steps)


def test_the_graph_sees_imports():
    graph = import_graph()
    assert "sim.cli.run" in graph["sim.cli"]  # from sim.cli import run: a submodule
    assert "sim.config" in graph["sim.compare"]
    assert "sim.model" not in graph["sim.warmup"]  # imported inside warm_up only


def test_no_import_cycle_inside_sim():
    graph = import_graph()
    cycles = [describe(graph, a_cycle(graph, component))
              for component in strongly_connected(graph)]
    assert not cycles, "import cycles in sim/:\n" + "\n".join(cycles)


def test_the_detector_names_every_step_of_a_cycle():
    graph = {"a": {"b": 3}, "b": {"c": 7}, "c": {"a": 1, "d": 2}, "d": {}}
    (component,) = strongly_connected(graph)
    assert component == ["a", "b", "c"]
    assert describe(graph, a_cycle(graph, component)) == (
        "cycle: a (line 3) -> b; b (line 7) -> c; c (line 1) -> a")


def test_the_edges_do_not_reach_back():
    """The untangled edges stay untangled, counting imports inside functions too."""
    graph = import_graph(functions=True)
    forbidden = {
        "sim.kernels": ("sim.model", "sim.warmup"),  # kernels never build a model
        "sim.plot_compare": ("sim.plot",),  # shared helpers live in sim.plot_axes
        "sim.plot_axes": ("sim.plot", "sim.plot_compare"),
        "sim.experiment.analyze": ("sim.plot_experiment", "sim.plot_axes"),  # data only
        "sim.compare": ("sim.plot_compare", "sim.plot", "sim.cli"),
        "sim.cli.compare": ("sim.cli.run",),
    }
    for prefix, targets in forbidden.items():
        for name in (n for n in graph if n == prefix or n.startswith(prefix + ".")):
            bad = [t for t in graph[name]
                   if any(t == target or t.startswith(target + ".") for target in targets)]
            assert not bad, f"{name} imports {bad}"
