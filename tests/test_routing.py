"""PBR tables: destination-based spreading over equal-cost next hops (D-mod-k), shortest and
loop-free paths in every generated family, and independence from insertion order and hash seed."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from collections import Counter

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slugsim.fabric import (
    FatTree,
    Ring,
    SingleSwitch,
    SpineLeaf,
    SwitchParams,
    SystemBuilder,
    Tree,
    compute_routes,
    route_path,
)
from slugsim.fabric.generators import FabricFamily
from slugsim.fabric.routing import destination_numbers
from slugsim.sim import elaborate, run_system
from slugsim.sim.graphs import leaf_spine_system

BIG = SwitchParams(ports=4096)


def fabric(family: FabricFamily, hosts: int, devices: int) -> nx.Graph:
    builder = SystemBuilder().host("host", count=hosts).type3("mem", count=devices)
    return builder.fabric(family).build()


def switches_of(graph: nx.Graph) -> set[str]:
    return {n for n, kind in graph.nodes(data="kind") if kind == "switch"}


def walk(graph: nx.Graph, start: str, dest: str) -> list[str]:
    """Follow the tables from switch ``start``; fails on a loop or a missing entry."""
    routes = graph.graph["routes"]
    path = [start]
    while path[-1] != dest:
        path.append(routes[path[-1]][dest])
        assert len(path) <= len(graph), f"loop from {start} to {dest}: {path}"
    return path


def test_destination_numbers_group_endpoints_by_switch_in_natural_order():
    graph = fabric(SpineLeaf(spines=2, leaves=3, switch=BIG), hosts=12, devices=12)
    number = destination_numbers(graph)
    order = sorted(number, key=number.__getitem__)
    # leaf0 has host0..host3 and mem0..mem3: host2 before host10, consecutive numbers
    assert order[:8] == [*(f"host{i}" for i in range(4)), *(f"mem{i}" for i in range(4))]
    for leaf in ("leaf0", "leaf1", "leaf2"):
        attached = sorted(number[n] for n in graph.adj[leaf] if n not in switches_of(graph))
        assert attached == list(range(attached[0], attached[0] + len(attached)))
    # switches follow the endpoints; every node has a distinct number
    assert sorted(number.values()) == list(range(len(graph)))
    assert min(number[s] for s in switches_of(graph)) == 24


def test_destination_numbers_accept_any_names():
    graph = (
        SystemBuilder()
        .switch("sw", BIG)
        .switch("sw1", BIG)
        .switch("sw01", BIG)
        .link("sw", "sw1")
        .link("sw1", "sw01")
        .link("sw01", "sw")
        .nic("x")
        .nic("x1")
        .nic("x01")
        .nic("1x")
        .host("lonely")
        .link("x", "sw1")
        .link("x1", "sw")
        .link("x01", "sw")
        .link("1x", "sw01")
        .link("lonely", "x")
        .build()
    )
    number = destination_numbers(graph)
    # no switch first; then by switch (sw < sw01 < sw1: equal as numbers, then by name)
    assert sorted(number, key=number.__getitem__) == [
        *("lonely", "x01", "x1", "1x", "x"),
        *("sw", "sw01", "sw1"),
    ]


def test_a_dual_homed_host_spreads_its_destinations_over_its_links():
    """Two equal ways out (via sw0 or sw1, both one hop from the core): the first hop is chosen
    by the destination's number, so four devices use both links, two each."""
    builder = SystemBuilder().switch("sw0", BIG).switch("sw1", BIG).switch("core", BIG)
    builder.link("sw0", "core").link("sw1", "core")
    builder.nic("h").link("h", "sw0").link("h", "sw1")
    for i in range(4):
        builder.nic(f"m{i}").link(f"m{i}", "core")
    graph = builder.build()
    first = Counter(route_path(graph, "h", f"m{i}")[1] for i in range(4))  # type: ignore[index]
    assert first == {"sw0": 2, "sw1": 2}
    # a shorter way still wins: m9 hangs off sw1 only
    graph = builder.nic("m9").link("m9", "sw1").build()
    assert route_path(graph, "h", "m9") == ["h", "sw1", "m9"]


@pytest.mark.parametrize(
    ("spines", "leaves", "hosts", "devices"),
    [(3, 2, 4, 4), (4, 4, 16, 16), (3, 4, 10, 14), (5, 3, 12, 12), (1, 2, 2, 2)],
)
def test_remote_leaf_destinations_spread_evenly_over_spines(spines, leaves, hosts, devices):
    graph = fabric(SpineLeaf(spines=spines, leaves=leaves, switch=BIG), hosts, devices)
    routes = graph.graph["routes"]
    leaf_names = [f"leaf{j}" for j in range(leaves)]
    spine_names = [f"spine{i}" for i in range(spines)]
    for source in leaf_names:
        for remote in leaf_names:
            if remote == source:
                continue
            dests = [n for n in graph.adj[remote] if n not in switches_of(graph)]
            per_spine = Counter(routes[source][d] for d in dests)
            assert set(per_spine) <= set(spine_names)
            counts = [per_spine[s] for s in spine_names]
            assert max(counts) - min(counts) <= 1, (source, remote, counts)


def test_benchmark_leaf_spine_uses_every_spine_both_ways():
    graph = leaf_spine_system(endpoints=128, requests=100, spines=4)
    routes = graph.graph["routes"]
    per_spine: Counter[str] = Counter()
    for host, data in graph.nodes(data=True):
        if data["kind"] != "host":
            continue
        target = data["params"].hdm[0].targets[0]
        there = route_path(graph, host, target)
        back = route_path(graph, target, host)
        assert there is not None and back is not None
        assert len(there) == len(back) == 5  # endpoint, leaf, spine, leaf, endpoint
        per_spine[there[2]] += 1
        per_spine[back[2]] += 1
        assert there[1:] == walk(graph, there[1], target)
    assert sorted(per_spine) == [f"spine{i}" for i in range(4)]
    assert max(per_spine.values()) - min(per_spine.values()) <= 1
    assert set(routes) == switches_of(graph)


@pytest.mark.parametrize("k", [4, 6])
def test_fat_tree_gives_each_destination_one_core_and_uses_every_core(k):
    half = k // 2
    # a host and a device on every edge switch
    graph = fabric(FatTree(k=k, switch=SwitchParams(ports=k)), k * half, k * half)
    endpoints = 2 * k * half
    switches = switches_of(graph)
    edges = sorted(s for s in switches if s.startswith("edge"))
    per_core: Counter[str] = Counter()
    for dest in (n for n in graph if n not in switches):
        pod = next(iter(graph.adj[dest])).split("_")[0].removeprefix("edge")
        cores = set()
        for edge in edges:
            if edge.removeprefix("edge").split("_")[0] != pod:
                path = walk(graph, edge, dest)
                assert len(path) == 6  # edge, agg, core, agg, edge, endpoint
                cores.add(path[2])
        # D-mod-k: all traffic to a destination meets at one core, so down paths never collide
        assert len(cores) == 1, (dest, cores)
        per_core[cores.pop()] += 1
    assert sorted(per_core) == sorted(s for s in switches if s.startswith("core"))
    assert set(per_core.values()) == {endpoints // (half * half)}


def test_fat_tree_edge_spreads_a_remote_edge_over_its_uplinks():
    graph = fabric(FatTree(k=4, switch=SwitchParams(ports=4)), 8, 8)
    routes = graph.graph["routes"]
    # edge3_1 holds host7 and mem7: from edge0_0 they leave by different aggregation switches
    assert {routes["edge0_0"]["host7"], routes["edge0_0"]["mem7"]} == {"agg0_0", "agg0_1"}


FAMILIES = st.one_of(
    st.builds(SingleSwitch, switch=st.just(BIG)),
    st.builds(
        Tree,
        levels=st.integers(1, 3),
        fanout=st.integers(1, 3),
        switch=st.just(BIG),
    ),
    st.builds(FatTree, k=st.sampled_from([2, 4, 6]), switch=st.just(BIG)),
    st.builds(
        SpineLeaf,
        spines=st.integers(1, 4),
        leaves=st.integers(1, 5),
        switch=st.just(BIG),
    ),
    st.builds(Ring, switches=st.integers(3, 7), switch=st.just(BIG)),
)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(
    family=FAMILIES,
    hosts=st.integers(1, 12),
    devices=st.integers(1, 12),
    dual_homed=st.booleans(),
)
def test_generated_families_route_shortest_and_loop_free(family, hosts, devices, dual_homed):
    builder = SystemBuilder().host("host", count=hosts).type3("mem", count=devices)
    builder.fabric(family)
    plan = family.plan()
    if dual_homed and len(plan.edges) > 1:
        # an explicit endpoint on two switches exercises the per-destination BFS
        builder.nic("nic").link("nic", plan.edges[0]).link("nic", plan.edges[-1])
    graph = builder.build()
    switches = switches_of(graph)
    routes = graph.graph["routes"]
    assert set(routes) == switches
    for dest in graph:
        allowed = graph.subgraph(switches | {dest})
        expected = nx.single_source_shortest_path_length(allowed, dest)
        routes_to = {s for s in switches if dest in routes[s]}
        assert routes_to == (set(expected) & switches) - {dest}
        for s in routes_to:
            path = walk(graph, s, dest)
            assert all(n in switches for n in path[:-1])
            assert len(path) - 1 == expected[s]
    endpoints = sorted(set(graph) - switches)
    for source in endpoints:
        for dest in endpoints:
            if source == dest:
                continue
            path = route_path(graph, source, dest)
            assert path is not None and path[0] == source and path[-1] == dest
            allowed = graph.subgraph(switches | {source, dest})
            assert len(path) - 1 == nx.shortest_path_length(allowed, source, dest)
            if len(path) > 2:
                assert path[1:] == walk(graph, path[1], dest)


def _shuffled_copy(graph: nx.Graph, seed: int) -> nx.Graph:
    """The same graph with nodes, edges and adjacency in another insertion order."""
    rng = random.Random(seed)
    nodes = list(graph.nodes(data=True))
    edges = list(graph.edges(data=True))
    rng.shuffle(nodes)
    rng.shuffle(edges)
    copy = nx.Graph(**graph.graph)
    copy.add_nodes_from(nodes)
    copy.add_edges_from(
        (b, a, data) if rng.random() < 0.5 else (a, b, data) for a, b, data in edges
    )
    return copy


@pytest.mark.parametrize(
    "family",
    [FatTree(k=4, switch=BIG), SpineLeaf(spines=3, leaves=4, switch=BIG), Ring(switches=6)],
)
def test_routes_do_not_depend_on_insertion_order(family):
    graph = fabric(family, 10, 10)
    for seed in range(3):
        assert compute_routes(_shuffled_copy(graph, seed)) == graph.graph["routes"]
    # declaring the components in another order changes the adjacency order, not the tables
    builder = SystemBuilder().type3("mem", count=10).host("host", count=10)
    assert builder.fabric(family).build().graph["routes"] == graph.graph["routes"]


ROUTES_DIGEST = """
import hashlib, json
from slugsim.fabric import FatTree, SpineLeaf, SwitchParams, SystemBuilder
big = SwitchParams(ports=4096)
tables = []
for family in (FatTree(k=4, switch=big), SpineLeaf(spines=3, leaves=4, switch=big)):
    builder = SystemBuilder().host("host", count=10).type3("mem", count=10).fabric(family)
    tables.append(builder.build().graph["routes"])
print(hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest())
"""


def test_routes_do_not_depend_on_the_hash_seed():
    digests = set()
    for hash_seed in ("1", "2", "3"):
        done = subprocess.run(
            [sys.executable, "-c", ROUTES_DIGEST],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert done.returncode == 0, done.stderr
        digests.add(done.stdout.strip())
    tables = [
        fabric(family, 10, 10).graph["routes"]
        for family in (FatTree(k=4, switch=BIG), SpineLeaf(spines=3, leaves=4, switch=BIG))
    ]
    here = hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()
    assert digests == {here}


def test_requests_and_responses_complete_over_every_spine():
    graph = leaf_spine_system(endpoints=64, requests=2000, in_flight=64, spines=4)
    stats, _ = run_system(elaborate(graph))
    hosts = stats["hosts"]
    assert sum(h["completed"] for h in hosts.values()) == sum(h["issued"] for h in hosts.values())
    assert sum(h["completed"] for h in hosts.values()) > 1000
    for spine in (f"spine{i}" for i in range(4)):
        into = [ch for link in stats["links"].values() for ch in link.values() if ch["to"] == spine]
        out = [
            ch for link in stats["links"].values() for ch in link.values() if ch["from"] == spine
        ]
        assert sum(ch["messages"] for ch in into) > 0 and sum(ch["messages"] for ch in out) > 0
