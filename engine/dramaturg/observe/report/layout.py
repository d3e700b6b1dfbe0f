"""A layered drawing of a DAG (Sugiyama style), pure: layers in, positions out.

Layers are the graph's generations (each step one layer after the last step it needs). An edge
that skips layers passes through a dummy point in each layer it crosses, so that it can be drawn
around the nodes. Within a layer, nodes are ordered by the mean position of their neighbours
(a few sweeps down and up), which removes most crossings of small DAGs.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Layout:
    """Where everything goes: ``slots[node] = (layer, index)``; every edge as the layer slots it
    passes through (its ends and its dummy points)."""

    layers: list[list[str]]
    slots: dict[str, tuple[int, int]]
    #: (source, target) -> the points, as (layer, index), from source to target
    routes: dict[tuple[str, str], list[tuple[int, int]]] = field(default_factory=dict)

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def breadth(self) -> int:
        return max((len(layer) for layer in self.layers), default=0)


def _dummy(a: str, b: str, layer: int) -> str:
    return f"\0{a}\0{b}\0{layer}"


def is_dummy(name: str) -> bool:
    return name.startswith("\0")


def layered(
    generations: Sequence[Sequence[str]], edges: Sequence[tuple[str, str]], sweeps: int = 4
) -> Layout:
    """Order the nodes of each generation and route the edges through them."""
    layer_of = {n: i for i, gen in enumerate(generations) for n in gen}
    layers: list[list[str]] = [list(gen) for gen in generations]
    up: dict[str, list[str]] = {n: [] for gen in layers for n in gen}
    down: dict[str, list[str]] = {n: [] for gen in layers for n in gen}
    chains: dict[tuple[str, str], list[str]] = {}
    for a, b in edges:
        la, lb = layer_of[a], layer_of[b]
        path = [a]
        for layer in range(la + 1, lb):
            d = _dummy(a, b, layer)
            layers[layer].append(d)
            up[d], down[d] = [], []
            path.append(d)
        path.append(b)
        for x, y in itertools.pairwise(path):
            down[x].append(y)
            up[y].append(x)
        chains[(a, b)] = path

    def order(layer: list[str], neighbours: dict[str, list[str]], ref: list[str]) -> list[str]:
        pos = {n: i for i, n in enumerate(ref)}

        def key(item: tuple[int, str]) -> tuple[float, int]:
            i, n = item
            near = [pos[m] for m in neighbours[n] if m in pos]
            return (sum(near) / len(near) if near else float(i), i)

        return [n for _, n in sorted(enumerate(layer), key=key)]

    for _ in range(sweeps):
        for i in range(1, len(layers)):
            layers[i] = order(layers[i], up, layers[i - 1])
        for i in range(len(layers) - 2, -1, -1):
            layers[i] = order(layers[i], down, layers[i + 1])
    slots = {n: (i, j) for i, layer in enumerate(layers) for j, n in enumerate(layer)}
    routes = {e: [slots[n] for n in path] for e, path in chains.items()}
    return Layout(layers, slots, routes)


def crossings(layout: Layout) -> int:
    """Edge crossings between adjacent layers (to check orderings)."""
    segments: dict[int, list[tuple[int, int]]] = {}
    for route in layout.routes.values():
        for (la, ia), (_, ib) in itertools.pairwise(route):
            segments.setdefault(la, []).append((ia, ib))
    count = 0
    for segs in segments.values():
        for k, (a1, b1) in enumerate(segs):
            for a2, b2 in segs[k + 1 :]:
                if (a1 - a2) * (b1 - b2) < 0:
                    count += 1
    return count
