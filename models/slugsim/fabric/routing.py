"""Port-based routing tables: for every switch, the neighbour to forward to for each destination.

Paths are shortest in hops and only switches forward (an endpoint with two links is never a
transit hop). Where a switch has several equal-length next hops it chooses by destination, as
static fat-tree routing does ("D-mod-k": Zahavi, "D-Mod-K Routing Providing Non-Blocking Traffic
for Shift Permutations on Real Life Fat Trees", 2010; Gomez et al., "Deterministic versus
adaptive routing in fat-trees", 2007), so that the destinations share the spines and cores
instead of all taking the first one:

- every destination has a number ``d``: endpoints are numbered in topology order (by the switch
  they attach to, then by name, names compared with their digits as numbers), so the endpoints
  behind one switch have consecutive numbers; switches are numbered by name after that;
- a switch ``s`` with candidates ``c_0 < c_1 < ... < c_{n-1}`` (sorted the same way) forwards to
  ``c_i`` with ``i = (d // w_s) mod n``. ``w_s`` is 1 at switches that no other switch routes
  through towards that destination (the far end of the path) and, further on, the largest
  ``w_p * n_p`` over the switches ``p`` that may forward to ``s``.

``w_s`` makes consecutive hops read different digits of ``d``: in a k-ary fat tree the edge
switch picks the aggregation switch by ``d mod k/2`` and the aggregation switch picks the core by
``(d // (k/2)) mod k/2``, Zahavi's rule, so every destination has its own core and every core
serves some; without it both hops would read the same digit and only k/2 of the (k/2)^2 cores
would carry traffic. In a spine-leaf fabric a leaf sends destination ``d`` on a remote leaf to
spine ``d mod spines``, so the endpoints of a leaf spread evenly over the spines. Responses
route to the requester's number, so the way back may take another spine than the way there, as
in a real D-mod-k fabric. The numbering uses only names and links: tables do not depend on
declaration order or on the process's string-hash seed.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable
from weakref import WeakKeyDictionary

import networkx as nx

Routes = dict[str, dict[str, str]]

# One switch's choice towards one destination: (switch, sorted candidates, digit weight w_s).
Choice = tuple[str, list[str], int]

_DIGITS = re.compile(r"(\d+)")

# destination_numbers of each routed graph, for route_path (called once per source and target).
_NUMBERS: WeakKeyDictionary[nx.Graph, dict[str, int]] = WeakKeyDictionary()


def is_switch(graph: nx.Graph, node: str) -> bool:
    return graph.nodes[node]["kind"] == "switch"


def compute_routes(graph: nx.Graph) -> Routes:
    """``{switch: {destination: next hop}}`` for every destination a switch can reach."""
    switches = sorted(n for n, kind in graph.nodes(data="kind") if kind == "switch")
    rank = {name: i for i, name in enumerate(sorted(graph, key=_natural))}
    number = destination_numbers(graph)
    routes: Routes = {s: {} for s in switches}
    # Single-homed endpoints (the common case) see the same shortest-path DAG as their switch,
    # one hop longer, so they reuse its choices: one BFS per switch instead of one per endpoint.
    behind: dict[str, list[str]] = {}
    others: list[str] = []
    for dest in sorted(set(graph) - routes.keys()):
        neighbours = list(graph.adj[dest])
        if len(neighbours) == 1 and neighbours[0] in routes:
            behind.setdefault(neighbours[0], []).append(dest)
        else:
            others.append(dest)
    for edge in switches:
        choices = _choices_towards(graph, edge, routes.keys(), rank)
        _fill(routes, edge, number[edge], choices)
        for dest in behind.get(edge, ()):
            routes[edge][dest] = dest
            _fill(routes, dest, number[dest], choices)
    for dest in others:
        _fill(routes, dest, number[dest], _choices_towards(graph, dest, routes.keys(), rank))
    return {s: dict(sorted(table.items())) for s, table in routes.items()}


def destination_numbers(graph: nx.Graph) -> dict[str, int]:
    """The number ``d`` each destination is routed by (see the module docstring).

    Endpoints come first, grouped by the first switch (in that order) they attach to (an
    endpoint without one sorts before the rest), so that an edge switch's endpoints are
    consecutive, as D-mod-k assumes of InfiniBand LIDs. Not the PID: PIDs follow plain name
    order, where host1, host10, host11 ... interleave the endpoints of different switches.
    """
    endpoints: list[tuple[tuple, tuple, str]] = []
    switches: list[tuple[tuple, str]] = []
    for name in graph:
        if is_switch(graph, name):
            switches.append((_natural(name), name))
            continue
        edges = [_natural(n) for n in graph.adj[name] if is_switch(graph, n)]
        endpoints.append((min(edges, default=()), _natural(name), name))
    order = [name for *_, name in sorted(endpoints)] + [name for _, name in sorted(switches)]
    return {name: i for i, name in enumerate(order)}


def _natural(name: str) -> tuple[tuple[str | int, ...], str]:
    """Sort key comparing digit runs as numbers (leaf2 < leaf10); the name breaks ties (m01, m1).

    split() alternates text and digits, so equal positions of two keys hold comparable types.
    """
    parts = _DIGITS.split(name)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name


def _fill(routes: Routes, dest: str, d: int, choices: Iterable[Choice]) -> None:
    for switch, candidates, weight in choices:
        routes[switch][dest] = candidates[(d // weight) % len(candidates)]


def _choices_towards(
    graph: nx.Graph, dest: str, switches: Container[str], rank: dict[str, int]
) -> list[Choice]:
    """Each switch's sorted equal-cost next hops towards ``dest`` and its digit weight."""
    dist = {dest: 0}
    layers = [[dest]]
    while layers[-1]:
        following = []
        for node in layers[-1]:
            if node != dest and node not in switches:
                continue  # endpoints do not forward
            for peer in graph.adj[node]:
                if peer not in dist:
                    dist[peer] = len(layers)
                    following.append(peer)
        layers.append(following)
    choices: list[Choice] = []
    weight: dict[str, int] = {}
    # Farthest first, so that every switch that may forward to s has set weight[s] already.
    for layer in reversed(layers[1:]):
        for s in layer:
            if s not in switches:
                continue
            closer = dist[s] - 1
            hops = [
                n for n in graph.adj[s] if dist.get(n) == closer and (n == dest or n in switches)
            ]
            if len(hops) > 1:
                hops.sort(key=rank.__getitem__)
            w = weight.get(s, 1)
            choices.append((s, hops, w))
            for n in hops:
                if n != dest:
                    weight[n] = max(weight.get(n, 1), w * len(hops))
    return choices


def route_path(graph: nx.Graph, source: str, dest: str) -> list[str] | None:
    """The node sequence a message from endpoint ``source`` takes to ``dest`` (None if none),
    following the switches' tables.

    A multi-homed source leaves by the neighbour with the shortest onward path; among several
    it chooses by the destination's number as a switch does (D-mod-k), so that its traffic to
    different destinations shares its links.
    """
    if dest in graph.adj[source]:
        return [source, dest]
    routes = graph.graph["routes"]
    paths: list[list[str]] = []
    for first in graph.adj[source]:
        if first not in routes or dest not in routes[first]:
            continue
        path = [source, first]
        while path[-1] != dest and len(path) <= len(graph):
            path.append(routes[path[-1]][dest])
        paths.append(path)
    if not paths:
        return None
    shortest = min(len(p) for p in paths)
    ties = sorted((p for p in paths if len(p) == shortest), key=lambda p: _natural(p[1]))
    if len(ties) == 1:
        return ties[0]
    numbers = _NUMBERS.get(graph)
    if numbers is None:
        numbers = _NUMBERS[graph] = destination_numbers(graph)
    return ties[numbers[dest] % len(ties)]
