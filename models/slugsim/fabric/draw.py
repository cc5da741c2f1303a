"""Draw a fabric graph as a layered picture: hosts on top, switches by their hop distance from the
hosts, memory and other devices at the bottom. Within a layer, nodes are ordered by the mean
position of their neighbours (two barycentre sweeps, the cheap half of Sugiyama's method), which
untangles trees, fat trees and spine-leaf fabrics; it is linear in the graph size, so fabrics of
thousands of endpoints render in about a second, where force-directed layouts take minutes.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display in CI, containers or over ssh

import matplotlib.pyplot as plt
import networkx as nx
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

STYLE = {  # kind: (colour, marker)
    "host": ("tab:blue", "s"),
    "switch": ("tab:orange", "D"),
    "type3": ("tab:green", "o"),
    "type2": ("tab:purple", "^"),
    "nic": ("tab:red", "v"),
}
LABEL_LIMIT = 40  # name nodes only while a layer is sparse enough to read the names
REFERENCE_BANDWIDTH = 64 * 10**9  # 32 GT/s x16; line width scales against it


def layers(graph: nx.Graph) -> list[list[str]]:
    """Nodes grouped top to bottom, each layer in drawing order."""
    kind = dict(graph.nodes(data="kind"))
    depth: dict[str, int] = {n: 0 for n in graph if kind[n] == "host"}
    frontier = list(depth)
    while frontier:
        following = []
        for node in frontier:
            for peer in graph.adj[node]:
                if kind[peer] == "switch" and peer not in depth:
                    depth[peer] = depth[node] + 1
                    following.append(peer)
        frontier = following
    switch_levels = [d for n, d in depth.items() if kind[n] == "switch"]
    bottom = max(switch_levels, default=0) + 1
    for node in graph:  # switches no host reaches sit in the middle, devices at the bottom
        if node not in depth:
            depth[node] = bottom if kind[node] != "switch" else max(1, bottom - 1)
    grouped: dict[int, list[str]] = defaultdict(list)
    for node in graph:  # graph order = declaration order: the initial order within a layer
        grouped[depth[node]].append(node)
    ordered = [grouped[d] for d in sorted(grouped)]
    for _ in range(2):
        _sweep(graph, ordered)
        _sweep(graph, ordered[::-1])
    return ordered


def _sweep(graph: nx.Graph, ordered: list[list[str]]) -> None:
    """Reorder each layer by the mean position of its neighbours in the layer before it."""
    for previous, layer in itertools.pairwise(ordered):
        position = {n: (i + 0.5) / len(previous) for i, n in enumerate(previous)}
        own = {n: (i + 0.5) / len(layer) for i, n in enumerate(layer)}

        def key(node: str, position: dict[str, float] = position, own: dict = own) -> float:
            seen = [position[p] for p in graph.adj[node] if p in position]
            return sum(seen) / len(seen) if seen else own[node]

        layer.sort(key=key)  # stable: ties keep declaration order


def positions(ordered: list[list[str]]) -> dict[str, tuple[float, float]]:
    return {
        node: ((i + 0.5) / len(layer), -float(depth))
        for depth, layer in enumerate(ordered)
        for i, node in enumerate(layer)
    }


def draw_fabric(graph: nx.Graph, path: str | Path, *, title: str | None = None) -> None:
    """Write a PNG of the fabric to ``path`` (atomically: a reader never sees half a file)."""
    ordered = layers(graph)
    pos = positions(ordered)
    widest = max((len(layer) for layer in ordered), default=1)
    width = min(30.0, max(6.0, 0.45 * widest))
    height = max(1.4 * len(ordered) + 1.2, 0.4 * width)  # wide fabrics need room for the fans
    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    try:
        _draw_links(ax, graph, pos)
        _draw_nodes(ax, graph, pos, ordered, width)
        ax.set_title(title or _summary(graph), fontsize=11)
        ax.set_axis_off()
        ax.margins(x=0.02, y=0.15)
        fig.tight_layout()
        _save(fig, Path(path))
    finally:
        plt.close(fig)


def _draw_links(ax: plt.Axes, graph: nx.Graph, pos: dict) -> None:
    segments, widths = [], []
    for a, b, data in graph.edges(data=True):
        segments.append((pos[a], pos[b]))
        widths.append(0.4 + 1.6 * min(1.0, data["params"].bandwidth / REFERENCE_BANDWIDTH))
    alpha = 0.8 if len(segments) < 200 else 0.35
    ax.add_collection(LineCollection(segments, linewidths=widths, colors="0.45", alpha=alpha))


def _draw_nodes(
    ax: plt.Axes, graph: nx.Graph, pos: dict, ordered: list[list[str]], width: float
) -> None:
    widest = max(len(layer) for layer in ordered)
    size = max(6.0, min(160.0, 2500.0 * width / 30 / widest))
    handles = []
    for kind, (colour, marker) in STYLE.items():
        nodes = [n for n, k in graph.nodes(data="kind") if k == kind]
        if not nodes:
            continue
        xy = [pos[n] for n in nodes]
        ax.scatter(*zip(*xy, strict=True), s=size, c=colour, marker=marker, zorder=3)
        handles.append(
            Line2D([], [], color=colour, marker=marker, ls="", label=f"{kind} ({len(nodes)})")
        )
    for layer in ordered:
        if len(layer) > LABEL_LIMIT:
            continue
        for node in layer:
            x, y = pos[node]
            ax.annotate(
                node, (x, y), xytext=(0, -11), textcoords="offset points", ha="center",
                va="top", fontsize=7,
            )  # fmt: skip
    ax.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(handles),
        fontsize=8, frameon=False,
    )  # fmt: skip


def _summary(graph: nx.Graph) -> str:
    source = graph.graph.get("source") or "fabric"
    return f"{Path(source).name}: {graph.number_of_nodes()} components, " + (
        f"{graph.number_of_edges()} links"
    )


def _save(fig: plt.Figure, path: Path) -> None:
    handle, tmp = tempfile.mkstemp(suffix=".png", dir=path.parent or ".", prefix=".draw-")
    os.close(handle)
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
