"""Port-based routing tables: for every switch, the neighbour to forward to for each destination.

Paths are shortest in hops and only switches forward (an endpoint with two links is never a
transit hop). Among equal-length next hops the one with the smallest name wins, so tables are
deterministic and independent of insertion order.
"""

from __future__ import annotations

import networkx as nx

Routes = dict[str, dict[str, str]]


def is_switch(graph: nx.Graph, node: str) -> bool:
    return graph.nodes[node]["kind"] == "switch"


def compute_routes(graph: nx.Graph) -> Routes:
    """``{switch: {destination: next hop}}`` for every destination a switch can reach."""
    switches = sorted(n for n in graph if is_switch(graph, n))
    routes: Routes = {s: {} for s in switches}
    for dest in switches:
        _route_towards(graph, dest, switches, routes)
    for dest in sorted(n for n in graph if not is_switch(graph, n)):
        neighbours = list(graph.adj[dest])
        if len(neighbours) == 1 and is_switch(graph, neighbours[0]):
            # Single-homed endpoint (the common case): every path ends with its switch, so the
            # next hop is the one towards that switch. Same result as the BFS, far cheaper.
            edge = neighbours[0]
            for s in switches:
                if s == edge:
                    routes[s][dest] = dest
                elif edge in routes[s]:
                    routes[s][dest] = routes[s][edge]
        else:
            _route_towards(graph, dest, switches, routes)
    return {s: dict(sorted(table.items())) for s, table in routes.items()}


def _route_towards(graph: nx.Graph, dest: str, switches: list[str], routes: Routes) -> None:
    dist = {dest: 0}
    frontier = [dest]
    while frontier:
        following = []
        for node in frontier:
            if node != dest and not is_switch(graph, node):
                continue  # endpoints do not forward
            for peer in graph.adj[node]:
                if peer not in dist:
                    dist[peer] = dist[node] + 1
                    following.append(peer)
        frontier = following
    for s in switches:
        if s == dest or s not in dist:
            continue
        hops = [
            n
            for n in graph.adj[s]
            if dist.get(n) == dist[s] - 1 and (n == dest or is_switch(graph, n))
        ]
        routes[s][dest] = min(hops)


def route_path(graph: nx.Graph, source: str, dest: str) -> list[str] | None:
    """The node sequence a message from endpoint ``source`` takes to ``dest`` (None if none).

    A multi-homed source leaves by the neighbour with the shortest onward path (name tie-break).
    """
    if dest in graph.adj[source]:
        return [source, dest]
    routes = graph.graph["routes"]
    best: list[str] | None = None
    for first in sorted(graph.adj[source]):
        if first not in routes or dest not in routes[first]:
            continue
        path = [source, first]
        while path[-1] != dest and len(path) <= len(graph):
            path.append(routes[path[-1]][dest])
        if best is None or len(path) < len(best):
            best = path
    return best
