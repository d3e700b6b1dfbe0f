"""The DAG: order, generations, ancestors/descendants, cycles, Mermaid and DOT text."""

from __future__ import annotations

from dramaturg.chain import graph as g

DEPS = {
    "logline_check": [],
    "title": ["logline_check"],
    "characters": ["logline_check"],
    "plot": ["characters"],
    "places": ["plot"],
    "dialogue": ["plot", "places", "characters"],
    "portraits": ["characters"],
}


def test_order_generations_and_relatives():
    dag = g.build_graph(DEPS)
    order = g.topological_order(dag)
    for step, deps in DEPS.items():
        assert all(order.index(d) < order.index(step) for d in deps)
    assert order == [
        "logline_check",
        "title",
        "characters",
        "plot",
        "places",
        "dialogue",
        "portraits",
    ]
    assert g.generations(dag) == [
        ["logline_check"],
        ["title", "characters"],
        ["plot", "portraits"],
        ["places"],
        ["dialogue"],
    ]
    assert g.ancestors(dag, "dialogue") == {"logline_check", "characters", "plot", "places"}
    assert g.descendants(dag, "characters") == {"plot", "places", "dialogue", "portraits"}
    assert g.descendants(dag, "title") == set()


def test_cycles_are_found_as_paths():
    dag = g.build_graph({"a": ["c"], "b": ["a"], "c": ["b"], "d": []})
    assert g.find_cycles(dag) == [["a", "b", "c"]]
    assert g.find_cycles(g.build_graph(DEPS)) == []


def test_critical_path():
    dag = g.build_graph(DEPS)
    w = dict.fromkeys(DEPS, 1.0)
    w["portraits"] = 10.0
    total, path = g.critical_path(dag, w)
    assert total == 12.0 and path == ["logline_check", "characters", "portraits"]


def test_mermaid_and_dot_text():
    dag = g.build_graph(
        {"a": [], "b": ["a"]}, {"a": {"kind": "text"}, "b": {"kind": "image", "for_each": "a"}}
    )
    mm = g.to_mermaid(dag)
    assert mm.splitlines()[0] == "flowchart TD"
    assert "a --> b" in mm and 'b[["b<br/>for each a"]]' in mm
    dot = g.to_dot(dag, "demo")
    assert dot.startswith('digraph "demo" {') and '"a" -> "b";' in dot
    assert 'label="b\\nfor each a"' in dot and dot.rstrip().endswith("}")
