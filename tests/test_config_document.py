"""The topology format: count expansion, '{i}' expressions, group links, fabric generators, and
the shipped topologies (each one loaded, checked for what it promises, and drawn)."""

from __future__ import annotations

import time
from pathlib import Path

import networkx as nx
import pytest
from slugsim.config import TopologyError, builder_from, load_topology, parse_yaml
from slugsim.config.document import index_value
from slugsim.fabric import (
    HdmWindow,
    HostParams,
    LinkParams,
    RunOptions,
    SwitchParams,
    SystemBuilder,
    Type3Params,
    WorkloadParams,
    draw_fabric,
)

TOPOLOGIES = Path(__file__).parent.parent / "topologies"


def graph_of(text: str) -> nx.Graph:
    return builder_from(parse_yaml(text, "t.yaml")).build()


def essence(graph: nx.Graph) -> tuple:
    """What the models see: run, nodes with kind/params, edges with params/ports, routes."""
    return (
        graph.graph["run"],
        sorted((n, d["kind"], repr(d["params"])) for n, d in graph.nodes(data=True)),
        sorted(
            (tuple(sorted((a, b))), repr(d["params"]), sorted(d["ports"].items()))
            for a, b, d in graph.edges(data=True)
        ),
        graph.graph["routes"],
    )


def test_yaml_is_a_thin_layer_over_the_builder():
    from_file = load_topology(TOPOLOGIES / "quickstart.yaml")
    window = HdmWindow(base=64 << 30, size=64 << 30, targets=("mem0",))
    workload = WorkloadParams(read_ratio=1.0, footprint=1 << 30, target="cxl", requests=10_000)
    link = LinkParams(rate=32 * 10**9, width=16)
    from_code = (
        SystemBuilder(RunOptions(seed=1, requests=10_000))
        .host("host0", HostParams(cores=1, hdm=(window,), workload=workload))
        .switch("sw0", SwitchParams(ports=8))
        .type3("mem0", Type3Params(capacity=64 << 30))
        .link("host0", "sw0", link)
        .link("sw0", "mem0", link)
        .build()
    )
    assert essence(from_file) == essence(from_code)


def test_count_expands_names_and_index_expressions():
    graph = graph_of(
        "components:\n"
        "  - {name: mem, kind: type3, count: 4}\n"
        "  - name: 'cpu{i}x'\n"
        "    kind: host\n"
        "    count: 4\n"
        "    params: {hdm: [{base: 64GiB, size: 1GiB, targets: ['mem{(i+1)%4}']}]}\n"
        "  - {name: sw, kind: switch}\n"
        "links: [{between: ['cpu{i}x', sw]}, {between: [mem, sw]}]\n"
    )
    assert [n for n in graph if n.startswith("mem")] == ["mem0", "mem1", "mem2", "mem3"]
    assert graph.nodes["cpu3x"]["params"].hdm[0].targets == ("mem0",)
    assert graph.nodes["cpu3x"]["group"] == "cpu{i}x"


def test_two_equal_groups_link_member_by_member():
    graph = graph_of(
        "components: [{name: h, kind: host, count: 2}, {name: m, kind: type3, count: 2}]\n"
        "links: [{between: [h, m]}]\n"
    )
    assert sorted(graph.edges) == [("h0", "m0"), ("h1", "m1")]


def test_group_links_fan_out_to_a_single_component():
    graph = graph_of(
        "components:\n"
        "  - {name: h, kind: host, count: 3}\n"
        "  - {name: sw, kind: switch}\n"
        "links: [{between: [h, sw], width: x4}]\n"
    )
    assert sorted(graph.adj["sw"]) == ["h0", "h1", "h2"]
    assert {d["params"].width for *_, d in graph.edges(data=True)} == {4}
    assert sorted(graph.edges["h1", "sw"]["ports"].items()) == [("h1", 0), ("sw", 1)]


@pytest.mark.parametrize(
    ("expression", "index", "value"),
    [("i", 5, 5), ("i+16", 1, 17), ("(i+3)%4", 2, 1), ("i//2", 7, 3), ("2*i-1", 3, 5)],
)
def test_index_expressions(expression, index, value):
    assert index_value(expression, index) == value


@pytest.mark.parametrize("expression", ["i**2", "__import__('os')", "i/0", "i%0", "j", "i" * 50])
def test_index_expressions_are_arithmetic_only(expression):
    with pytest.raises(ValueError):
        index_value(expression, 1)


def test_x_keys_hold_anchors_and_are_otherwise_ignored():
    graph = graph_of(
        "x-fast: &fast {rate: 64GT/s}\n"
        "components: [{name: a, kind: host}, {name: b, kind: type3}]\n"
        "links: [{between: [a, b], <<: *fast}]\n"
    )
    assert graph.edges["a", "b"]["params"].rate == 64 * 10**9


def test_fabric_attaches_unlinked_endpoints_and_keeps_explicit_links():
    graph = graph_of(
        "components:\n"
        "  - {name: host, kind: host, count: 4}\n"
        "  - {name: mem, kind: type3, count: 4}\n"
        "  - {name: special, kind: type3}\n"
        "links: [{between: [leaf1, special]}]\n"
        "fabric: {family: spine_leaf, spines: 2, leaves: 2, link: {width: x8}}\n"
    )
    assert sorted(graph.adj["leaf0"]) == ["host0", "host1", "mem0", "mem1", "spine0", "spine1"]
    assert sorted(graph.adj["leaf1"]) == [
        *("host2", "host3", "mem2", "mem3", "special", "spine0", "spine1")
    ]
    assert graph.degree["special"] == 1  # linked explicitly, so not attached again
    assert graph.edges["host2", "leaf1"]["params"].width == 8
    assert graph.edges["spine0", "leaf1"]["params"].width == 8  # trunk defaults to link


def test_front_end_errors_stop_before_the_graph_is_built():
    # a broken component is not also reported as a dangling link target
    with pytest.raises(TopologyError) as info:
        graph_of(
            "components: [{name: a, kind: host}, {name: b, kind: type3, params: {capacity: 1x}}]\n"
            "links: [{between: [a, b]}]\n"
        )
    assert len(info.value.issues) == 1 and info.value.issues[0].where.line == 1


def test_components_need_a_list_of_mappings():
    with pytest.raises(TopologyError) as info:
        graph_of("components: {name: a}\n")
    assert "must be a list" in str(info.value)
    with pytest.raises(TopologyError) as info:
        graph_of("components: [host0]\n")
    assert "must be a mapping" in str(info.value)


# -- the shipped topologies -------------------------------------------------------------------


def test_quickstart_is_one_host_one_switch_one_type3():
    graph = load_topology(TOPOLOGIES / "quickstart.yaml")
    assert sorted(k for _, k in graph.nodes(data="kind")) == ["host", "switch", "type3"]


def test_memory_pool_shares_one_mld_between_four_hosts_over_two_switch_levels():
    graph = load_topology(TOPOLOGIES / "memory_pool.yaml")
    hosts = [n for n, k in graph.nodes(data="kind") if k == "host"]
    pool = graph.nodes["pool0"]["params"]
    assert len(hosts) == 4 and sorted(ld.host for ld in pool.lds) == sorted(hosts)
    for host in hosts:
        path = nx.shortest_path(graph, host, "pool0")
        assert [graph.nodes[n]["kind"] for n in path] == ["host", "switch", "switch", "type3"]


def test_fat_tree_k4_has_the_textbook_shape():
    graph = load_topology(TOPOLOGIES / "fat_tree_k4.yaml")
    switches = [n for n, k in graph.nodes(data="kind") if k == "switch"]
    assert len(switches) == 20  # 4 core + 4 pods x (2 agg + 2 edge)
    assert all(graph.degree[s] == 4 for s in switches)  # every port used, none over
    assert sum(1 for n, k in graph.nodes(data="kind") if k != "switch") == 16


def test_generated_fabric_has_1024_endpoints_and_loads_fast(tmp_path):
    start = time.perf_counter()
    graph = load_topology(TOPOLOGIES / "spine_leaf_1024.yaml")
    loaded = time.perf_counter() - start
    endpoints = [n for n, k in graph.nodes(data="kind") if k != "switch"]
    assert len(endpoints) >= 1024
    assert graph.nodes["host5"]["params"].hdm[0].targets == ("mem21",)
    draw_fabric(graph, tmp_path / "big.png")
    total = time.perf_counter() - start
    assert loaded < 5 and total < 15, (loaded, total)  # generous: 2 shared cores in CI
    assert (tmp_path / "big.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("path", sorted(TOPOLOGIES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_topology_validates(path):
    graph = load_topology(path)
    assert graph.graph["source"] == str(path)
