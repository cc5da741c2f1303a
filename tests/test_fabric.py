"""The fabric: generator shapes, the graph contract, routing and validation through the builder."""

from __future__ import annotations

import random

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slugsim.contract import kinds
from slugsim.fabric import (
    FatTree,
    HdmWindow,
    HostParams,
    LinkParams,
    LogicalDevice,
    Ring,
    SingleSwitch,
    SpineLeaf,
    SwitchParams,
    SystemBuilder,
    TopologyError,
    Tree,
    Type3Params,
    WorkloadParams,
    route_path,
)

BIG = SwitchParams(ports=4096)


def endpoints(builder: SystemBuilder, hosts: int, devices: int) -> SystemBuilder:
    return builder.host("host", count=hosts).type3("mem", count=devices)


@pytest.mark.parametrize(
    ("family", "switches", "trunks"),
    [
        (SingleSwitch(), 1, 0),
        (Tree(levels=3, fanout=2), 7, 6),
        (Tree(levels=1, fanout=5), 1, 0),
        (FatTree(k=4), 20, 32),
        (FatTree(k=6), 45, 108),
        (SpineLeaf(spines=3, leaves=5), 8, 15),
        (Ring(switches=5), 5, 5),
    ],
)
def test_generator_shapes(family, switches, trunks):
    plan = family.plan()
    assert len(plan.switches) == len(set(plan.switches)) == switches
    assert len(plan.trunks) == len({frozenset(t) for t in plan.trunks}) == trunks
    assert set(plan.edges) <= set(plan.switches)
    graph = nx.Graph(list(plan.trunks))
    graph.add_nodes_from(plan.switches)
    assert nx.is_connected(graph)


def test_fat_tree_uses_exactly_k_ports_per_switch():
    graph = endpoints(SystemBuilder(), 8, 8).fabric(FatTree(k=4, switch=SwitchParams(ports=4)))
    graph = graph.build()
    assert {graph.degree[n] for n, k in graph.nodes(data="kind") if k == "switch"} == {4}


def test_sizes_are_capped_and_shapes_checked():
    for family in (Tree(levels=12, fanout=64), FatTree(k=3), Ring(switches=2)):
        with pytest.raises(ValueError):
            family.plan()


def test_graph_contract():
    window = HdmWindow(base=64 << 30, size=1 << 30, targets=("mem0",))
    graph = (
        SystemBuilder()
        .host("h", HostParams(hdm=(window,), workload=WorkloadParams(target="mem0")))
        .switch("sw", SwitchParams(ports=8))
        .type3("mem0")
        .type2("acc")
        .nic("nic")
        .link("h", "sw")
        .link("sw", "mem0", LinkParams(width=8))
        .link("sw", "acc")
        .link("sw", "nic")
        .build()
    )
    for _, data in graph.nodes(data=True):
        assert data["kind"] in kinds() and data["params"] is not None
    for a, b, data in graph.edges(data=True):
        assert isinstance(data["params"], LinkParams) and set(data["ports"]) == {a, b}
    # ports on each node are numbered 0..n-1 in link order
    assert sorted(graph.edges[e]["ports"]["sw"] for e in graph.edges("sw")) == [0, 1, 2, 3]
    assert graph.graph["routes"]["sw"] == {"acc": "acc", "h": "h", "mem0": "mem0", "nic": "nic"}


def test_routes_take_shortest_paths_with_destination_tie_break():
    graph = endpoints(SystemBuilder(), 4, 4).fabric(SpineLeaf(spines=3, leaves=2)).build()
    routes = graph.graph["routes"]
    # leaf1 holds host2, host3, mem2, mem3, numbered 4..7: leaf0 sends number d to spine d mod 3
    assert [routes["leaf0"][d] for d in ("host2", "host3", "mem2", "mem3")] == [
        "spine1",
        "spine2",
        "spine0",
        "spine1",
    ]
    assert route_path(graph, "host0", "mem3") == ["host0", "leaf0", "spine1", "leaf1", "mem3"]
    # the response routes by the requester's number (0): back over another spine
    assert route_path(graph, "mem3", "host0") == ["mem3", "leaf1", "spine0", "leaf0", "host0"]


def _random_fabric(seed: int) -> nx.Graph:
    """A connected random switch graph with single-homed and dual-homed endpoints."""
    rng = random.Random(seed)
    count = rng.randint(2, 9)
    builder = SystemBuilder()
    switch_graph = nx.connected_watts_strogatz_graph(count, 2, 0.5, seed=seed)
    for s in range(count):
        builder.switch(f"s{s}", BIG)
    for a, b in switch_graph.edges:
        builder.link(f"s{a}", f"s{b}")
    for e in range(rng.randint(1, 6)):
        builder.nic(f"e{e}")
        for s in rng.sample(range(count), rng.randint(1, 2)):
            builder.link(f"e{e}", f"s{s}")
    return builder.build()


@settings(max_examples=40, derandomize=True, deadline=None)
@given(st.integers(min_value=0, max_value=10**6))
def test_routes_are_shortest_loop_free_and_never_transit_endpoints(seed):
    graph = _random_fabric(seed)
    switches = {n for n, k in graph.nodes(data="kind") if k == "switch"}
    routes = graph.graph["routes"]
    for dest in graph:
        # the reference: hop counts where only switches (and the destination) may be crossed
        allowed = graph.subgraph(switches | {dest})
        expected = nx.single_source_shortest_path_length(allowed, dest)
        for s in switches - {dest}:
            assert routes[s][dest] in graph.adj[s]
            node, hops = s, 0
            while node != dest:
                node = routes[node][dest]
                hops += 1
                assert node == dest or node in switches
            assert hops == expected[s]


def test_routes_do_not_depend_on_declaration_order():
    def build(order):
        builder = SystemBuilder()
        for name in order:
            builder.switch(name, BIG)
        for a, b in [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]:
            builder.link(a, b)
        return builder.nic("n").link("n", "d").build().graph["routes"]

    assert build("abcd") == build("dcba")
    assert build("abcd")["a"]["n"] == "b"


def _errors(builder: SystemBuilder) -> str:
    with pytest.raises(TopologyError) as info:
        builder.build()
    return str(info.value)


def test_validation_finds_each_problem():
    pool = Type3Params(
        capacity=2 << 30,
        lds=(LogicalDevice(ld_id=0, host="h0", size=1 << 30),
             LogicalDevice(ld_id=0, host="ghost", size=1 << 30),
             LogicalDevice(ld_id=1, host="h0", size=1 << 30)),
    )  # fmt: skip
    window = HdmWindow(base=64 << 30, size=4 << 30, targets=("pool", "mem", "mem", "pool", "mem"))
    text = _errors(
        SystemBuilder()
        .host("h0", HostParams(hdm=(window,), workload=WorkloadParams(target="local")))
        .host("h1", HostParams(hdm=(HdmWindow(base=64 << 30, size=1 << 30, targets=("pool",)),)))
        .switch("sw", SwitchParams(ports=1))
        .switch("lonely")
        .type3("pool", pool)
        .type3("mem", Type3Params(capacity=1 << 30))
        .link("h0", "sw")
        .link("sw", "pool")
        .link("sw", "sw")
        .link("h1", "pool")
        .link("h1", "pool")
        .link("pool", "nowhere")
    )
    for words in [
        "switch 'sw' has 2 links but only 1 ports",
        "switch 'lonely' has no links",
        "interleaves over 5 devices",
        "names a device twice",
        "uses an LD-ID twice",
        "LDs total 3GiB but its capacity is 2GiB",
        "binds LD 0 to 'ghost', which is not a host",
        "binds a second LD (LD 1) to 'h0'",
        "no LD bound to host 'h1'",
        "connects 'sw' to itself",
        "a second link h1 -- pool",
        "names 'nowhere', which is not a component",
        "cannot reach 'mem'",
    ]:
        assert words in text, words


def test_python_builder_values_are_bounds_checked():
    text = _errors(SystemBuilder().host("h", HostParams(cores=0)).switch("s", SwitchParams()))
    assert "cores = 0 is out of range" in text
    text = _errors(SystemBuilder().component("x", "gpu"))
    assert "unknown kind 'gpu'" in text


def test_direct_attached_device_and_multi_homed_host():
    window = HdmWindow(base=64 << 30, size=2 << 30, targets=("m0", "m1"))
    graph = (
        SystemBuilder()
        .host("h", HostParams(hdm=(window,)))
        .type3("m0")
        .type3("m1")
        .link("h", "m0")
        .link("h", "m1")
        .build()
    )
    assert graph.graph["routes"] == {}
    assert route_path(graph, "h", "m1") == ["h", "m1"]
