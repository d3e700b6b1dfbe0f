"""The step DAG as a networkx DiGraph. Pure: no I/O, no templates, no models.

An edge ``a -> b`` means step ``b`` reads the output of step ``a``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx


def build_graph(
    deps: Mapping[str, Iterable[str]],
    attrs: Mapping[str, Mapping[str, Any]] | None = None,
) -> nx.DiGraph:
    """A DiGraph with one node per step (in declaration order) and an edge per dependency."""
    g = nx.DiGraph()
    for step, ds in deps.items():
        g.add_node(step, order=len(g), **(dict(attrs.get(step, {})) if attrs else {}))
        for d in ds:
            g.add_edge(d, step)
    return g


def find_cycles(g: nx.DiGraph, limit: int = 10) -> list[list[str]]:
    """Simple cycles as node paths (each closes back on its first node)."""
    out = []
    for cycle in nx.simple_cycles(g):
        start = min(range(len(cycle)), key=lambda i: g.nodes[cycle[i]].get("order", 0))
        out.append(cycle[start:] + cycle[:start])
        if len(out) >= limit:
            break
    return out


def _order_key(g: nx.DiGraph) -> Any:
    return lambda n: g.nodes[n].get("order", 0)


def topological_order(g: nx.DiGraph) -> list[str]:
    """A topological order that keeps declaration order where dependencies allow."""
    return list(nx.lexicographical_topological_sort(g, key=_order_key(g)))


def generations(g: nx.DiGraph) -> list[list[str]]:
    """Steps grouped by depth: each generation needs only earlier ones."""
    key = _order_key(g)
    return [sorted(gen, key=key) for gen in nx.topological_generations(g)]


def ancestors(g: nx.DiGraph, step: str) -> set[str]:
    return set(nx.ancestors(g, step))


def descendants(g: nx.DiGraph, step: str) -> set[str]:
    return set(nx.descendants(g, step))


def critical_path(g: nx.DiGraph, weight: Mapping[str, float]) -> tuple[float, list[str]]:
    """The heaviest path through the DAG, with node weights (e.g. expected latency)."""
    best: dict[str, tuple[float, list[str]]] = {}
    for n in topological_order(g):
        prev = max((best[p] for p in g.predecessors(n)), default=(0.0, []), key=lambda t: t[0])
        best[n] = (prev[0] + weight.get(n, 0.0), [*prev[1], n])
    return max(best.values(), default=(0.0, []), key=lambda t: t[0])


def _label(g: nx.DiGraph, n: str) -> str:
    data = g.nodes[n]
    parts = [n]
    if data.get("for_each"):
        parts.append(f"for each {data['for_each']}")
    if data.get("model"):
        parts.append(str(data["model"]))
    return "\\n".join(parts) if len(parts) > 1 else n


def to_mermaid(g: nx.DiGraph) -> str:
    """Mermaid flowchart text (render it in any Mermaid viewer; no web service needed here)."""
    lines = ["flowchart TD"]
    for n in topological_order(g):
        data = g.nodes[n]
        label = _label(g, n).replace("\\n", "<br/>").replace('"', "'")
        shape = (
            ('[["', '"]]')
            if data.get("for_each")
            else (('[/"', '"/]') if data.get("kind") == "image" else ('["', '"]'))
        )
        lines.append(f"    {n}{shape[0]}{label}{shape[1]}")
    lines.extend(
        f"    {a} --> {b}"
        for a, b in sorted(g.edges, key=lambda e: (g.nodes[e[0]]["order"], g.nodes[e[1]]["order"]))
    )
    return "\n".join(lines) + "\n"


def to_dot(g: nx.DiGraph, name: str = "chain") -> str:
    """Graphviz DOT text (``dot -Tsvg``)."""

    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\\\\n", "\\n") + '"'

    lines = [f"digraph {q(name)} {{", "  rankdir=TB;", '  node [shape=box, fontname="Helvetica"];']
    for n in topological_order(g):
        data = g.nodes[n]
        extra = ', style="rounded,bold", peripheries=2' if data.get("for_each") else ""
        if data.get("kind") == "image":
            extra += ", shape=parallelogram"
        lines.append(f"  {q(n)} [label={q(_label(g, n))}{extra}];")
    lines.extend(
        f"  {q(a)} -> {q(b)};"
        for a, b in sorted(g.edges, key=lambda e: (g.nodes[e[0]]["order"], g.nodes[e[1]]["order"]))
    )
    lines.append("}")
    return "\n".join(lines) + "\n"
