"""Generator families: a switch fabric described by a few numbers instead of a list of links.

A family produces a ``FabricPlan``: its switches, the switch-to-switch links ("trunks") and the
edge switches. The builder then attaches every endpoint (host, type3, type2, nic) that has no
explicit link to the edge switches, in blocks and in declaration order, hosts and devices
separately: endpoint j of E goes to edge switch floor(j * L / E). So host{i} and mem{i} of two
groups of equal size land on the same edge switch, and each edge switch gets a share of both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .params import LinkParams, SwitchParams, doc

# CXL 3.x port-based routing addresses at most 4096 ports per fabric (CXL_REFERENCE.md §6.2);
# far larger fabrics are typos (fanout 40, levels 6), not experiments.
MAX_SWITCHES = 4096


@dataclass(frozen=True)
class FabricPlan:
    switches: tuple[str, ...]
    trunks: tuple[tuple[str, str], ...]
    edges: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class FabricFamily:
    """Fields shared by every family: the parameters of generated switches and links."""

    family: ClassVar[str] = ""
    switch: SwitchParams = field(
        default_factory=SwitchParams, metadata=doc("parameters of every generated switch")
    )
    link: LinkParams = field(
        default_factory=LinkParams, metadata=doc("parameters of endpoint-to-switch links")
    )
    trunk: LinkParams | None = field(
        default=None, metadata=doc("parameters of switch-to-switch links (default: link)")
    )

    def switch_count(self) -> int:
        raise NotImplementedError

    def layout(self) -> FabricPlan:
        raise NotImplementedError

    def plan(self) -> FabricPlan:
        """The fabric, after checking it is of a sane size (raises ``ValueError``)."""
        count = self.switch_count()
        if count > MAX_SWITCHES:
            raise ValueError(
                f"{self.family} would generate {count} switches; the limit is {MAX_SWITCHES}"
            )
        return self.layout()


@dataclass(frozen=True, kw_only=True)
class SingleSwitch(FabricFamily):
    """One switch, sw0, with every endpoint attached to it."""

    family: ClassVar[str] = "single_switch"

    def switch_count(self) -> int:
        return 1

    def layout(self) -> FabricPlan:
        return FabricPlan(("sw0",), (), ("sw0",))


@dataclass(frozen=True, kw_only=True)
class Tree(FabricFamily):
    """A switch tree: sw0_0 at the root, fanout^l switches sw{l}_{i} at level l; endpoints
    attach to the last level."""

    family: ClassVar[str] = "tree"
    levels: int = field(metadata=doc("switch levels including the root", ge=1, le=12))
    fanout: int = field(metadata=doc("children per switch", ge=1, le=4096))

    def switch_count(self) -> int:
        return sum(self.fanout**level for level in range(self.levels))

    def layout(self) -> FabricPlan:
        switches: list[str] = []
        trunks: list[tuple[str, str]] = []
        for level in range(self.levels):
            for i in range(self.fanout**level):
                switches.append(f"sw{level}_{i}")
                if level:
                    trunks.append((f"sw{level - 1}_{i // self.fanout}", f"sw{level}_{i}"))
        last = self.levels - 1
        edges = tuple(f"sw{last}_{i}" for i in range(self.fanout**last))
        return FabricPlan(tuple(switches), tuple(trunks), edges)


@dataclass(frozen=True, kw_only=True)
class FatTree(FabricFamily):
    """The k-ary fat tree of Al-Fares et al.: k pods of k/2 edge{p}_{i} and k/2 agg{p}_{i}
    switches, (k/2)^2 core{j} switches; edge switches take the endpoints (k/2 each when every
    switch has k ports)."""

    family: ClassVar[str] = "fat_tree"
    k: int = field(metadata=doc("switch radix; even", ge=2, le=64))

    def switch_count(self) -> int:
        return self.k * self.k + (self.k // 2) ** 2

    def layout(self) -> FabricPlan:
        if self.k % 2:
            raise ValueError(f"fat_tree needs an even k, got {self.k}")
        half = self.k // 2
        cores = [f"core{j}" for j in range(half * half)]
        switches, trunks, edges = list(cores), [], []
        for pod in range(self.k):
            aggs = [f"agg{pod}_{i}" for i in range(half)]
            pod_edges = [f"edge{pod}_{i}" for i in range(half)]
            switches += aggs + pod_edges
            edges += pod_edges
            trunks += [(a, e) for a in aggs for e in pod_edges]
            trunks += [(a, cores[i * half + c]) for i, a in enumerate(aggs) for c in range(half)]
        return FabricPlan(tuple(switches), tuple(trunks), tuple(edges))


@dataclass(frozen=True, kw_only=True)
class SpineLeaf(FabricFamily):
    """spine{i} and leaf{j} switches, every leaf linked to every spine; endpoints on leaves."""

    family: ClassVar[str] = "spine_leaf"
    spines: int = field(metadata=doc("spine switches", ge=1, le=MAX_SWITCHES))
    leaves: int = field(metadata=doc("leaf switches; endpoints attach here", ge=1, le=MAX_SWITCHES))

    def switch_count(self) -> int:
        return self.spines + self.leaves

    def layout(self) -> FabricPlan:
        spines = [f"spine{i}" for i in range(self.spines)]
        leaves = [f"leaf{j}" for j in range(self.leaves)]
        trunks = tuple((s, leaf) for leaf in leaves for s in spines)
        return FabricPlan(tuple(spines + leaves), trunks, tuple(leaves))


@dataclass(frozen=True, kw_only=True)
class Ring(FabricFamily):
    """sw0 ... sw{n-1} in a ring; endpoints spread over all of them."""

    family: ClassVar[str] = "ring"
    switches: int = field(metadata=doc("switches in the ring", ge=3, le=MAX_SWITCHES))

    def switch_count(self) -> int:
        return self.switches

    def layout(self) -> FabricPlan:
        if self.switches < 3:
            raise ValueError(f"a ring needs at least 3 switches, got {self.switches}")
        names = tuple(f"sw{i}" for i in range(self.switches))
        trunks = tuple((names[i], names[(i + 1) % len(names)]) for i in range(len(names)))
        return FabricPlan(names, trunks, names)


FAMILIES: dict[str, type[FabricFamily]] = {
    cls.family: cls for cls in (SingleSwitch, Tree, FatTree, SpineLeaf, Ring)
}


def spread(endpoints: list[str], edges: tuple[str, ...]) -> list[tuple[str, str]]:
    """Attach endpoints to edge switches in contiguous blocks: (endpoint, switch) pairs."""
    count = len(endpoints)
    return [(name, edges[j * len(edges) // count]) for j, name in enumerate(endpoints)]
