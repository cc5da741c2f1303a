"""The Python builder API: declare components, links and a generator family; ``build()`` returns
the validated, routed ``nx.Graph`` described in ``params.py``. The YAML front end is a thin layer
over this class.

    graph = (
        SystemBuilder(RunOptions(seed=1, requests=1000))
        .host("host0", HostParams(hdm=(HdmWindow(base=64 << 30, size=1 << 30, targets=("mem0",)),)))
        .switch("sw0", SwitchParams(ports=8))
        .type3("mem0", Type3Params(capacity=16 << 30))
        .link("host0", "sw0")
        .link("sw0", "mem0", LinkParams(width=8))
        .build()
    )

Two phases, as in gem5: everything is recorded first, and ``build()`` checks the whole system at
once, raising one ``TopologyError`` that lists every problem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

import networkx as nx

from ..contract import kinds
from .errors import Issue, TopologyError, Where, did_you_mean
from .generators import FabricFamily, spread
from .params import LinkParams, RunOptions
from .routing import compute_routes
from .validate import validate_graph

# Hard cap on components of one system: keeps a typo such as ``count: 1000000`` from eating memory.
MAX_COMPONENTS = 100_000


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    kind: str
    params: Any
    where: Where
    group: str


@dataclass(frozen=True)
class LinkSpec:
    ends: tuple[str, str]
    params: LinkParams
    where: Where


class SystemBuilder:
    """Collects a system; ``build()`` validates it and returns the fabric graph."""

    def __init__(self, run: RunOptions | None = None, *, source: str = "<builder>") -> None:
        self.source = source
        self._run = run if run is not None else RunOptions()
        self._components: list[ComponentSpec] = []
        self._links: list[LinkSpec] = []
        self._fabric: tuple[FabricFamily, Where] | None = None
        self._issues: list[Issue] = []
        self._locators: dict[str, Callable[[tuple], Where]] = {}

    # -- declaring -------------------------------------------------------------------------

    def options(self, run: RunOptions) -> Self:
        self._run = run
        return self

    def component(
        self,
        name: str,
        kind: str,
        params: Any = None,
        *,
        count: int | None = None,
        where: Where | None = None,
        group: str | None = None,
        locate: Callable[[tuple], Where] | None = None,
    ) -> Self:
        """Add one component, or ``count`` copies named ``name0 ...`` (or ``name`` with ``{i}``
        replaced by the index). ``group`` (default: ``name``) tags the node for stats and
        pictures. ``locate(("hdm", 0))`` may say where a part of the params was written."""
        where = where or Where(self.source)
        known = kinds()
        if not isinstance(kind, str) or kind not in known:
            hint = f"use one of {', '.join(known)}{did_you_mean(kind, known)}"
            self._issues.append(Issue(where, f"'{name}' has unknown kind '{kind}'", hint))
            return self
        if params is None:
            params = known[kind].params()
        if count is not None and len(self._components) + count > MAX_COMPONENTS:
            message = f"'{name}' asks for {count} copies; a system holds at most {MAX_COMPONENTS}"
            self._issues.append(Issue(where, message, "use a smaller count"))
            return self
        names = [name] if count is None else [instance_name(name, i) for i in range(count)]
        if locate is not None:
            self._locators.update(dict.fromkeys(names, locate))
        if count is None:
            self._components.append(ComponentSpec(name, kind, params, where, group or name))
            return self
        for i in range(count):
            copy = ComponentSpec(instance_name(name, i), kind, params, where, group or name)
            self._components.append(copy)
        return self

    def __getattr__(self, kind: str) -> Callable[..., Self]:
        """``builder.host(name, params)`` is ``builder.component(name, "host", params)``, for
        every registered kind."""
        if kind.startswith("_") or kind not in kinds():
            raise AttributeError(
                f"SystemBuilder has no method {kind!r} (registered kinds: {', '.join(kinds())})"
            )

        def add(name: str, params: Any = None, **kw: Any) -> Self:
            return self.component(name, kind, params, **kw)

        return add

    def link(
        self, a: str, b: str, params: LinkParams | None = None, *, where: Where | None = None
    ) -> Self:
        self._links.append(LinkSpec((a, b), params or LinkParams(), where or Where(self.source)))
        return self

    def fabric(self, family: FabricFamily, *, where: Where | None = None) -> Self:
        """Generate switches and trunks, and attach every endpoint that has no explicit link."""
        where = where or Where(self.source)
        if self._fabric is not None:
            hint = "describe one fabric; add extra switches and links explicitly"
            self._issues.append(Issue(where, "a system has at most one fabric", hint))
        self._fabric = (family, where)
        return self

    @property
    def names(self) -> list[str]:
        return [c.name for c in self._components]

    # -- building --------------------------------------------------------------------------

    def build(self) -> nx.Graph:
        """Validate everything and return the routed graph, or raise ``TopologyError``."""
        issues = list(self._issues)
        components = list(self._components)
        links = list(self._links)
        if self._fabric is not None:
            issues += self._generate(*self._fabric, components, links)
        graph = nx.Graph(run=self._run, source=self.source)
        issues += _add_nodes(graph, components)
        issues += _add_links(graph, links)
        graph.graph["routes"] = compute_routes(graph)
        issues += validate_graph(graph, self._locate)
        if issues:
            raise TopologyError(issues)
        return graph

    def _locate(self, name: str, part: tuple) -> Where | None:
        locate = self._locators.get(name)
        return locate(part) if locate is not None else None

    def _generate(
        self,
        family: FabricFamily,
        where: Where,
        components: list[ComponentSpec],
        links: list[LinkSpec],
    ) -> list[Issue]:
        try:
            plan = family.plan()
        except ValueError as exc:
            return [Issue(where, str(exc), "change the fabric's size parameters")]
        linked = {end for link in links for end in link.ends}
        specs = kinds()
        unlinked = [c for c in components if c.name not in linked and not specs[c.kind].forwards]
        hosts = [c.name for c in unlinked if specs[c.kind].home]
        devices = [c.name for c in unlinked if not specs[c.kind].home]
        for name in plan.switches:
            components.append(ComponentSpec(name, "switch", family.switch, where, family.family))
        trunk = family.trunk or family.link
        links += [LinkSpec(ends, trunk, where) for ends in plan.trunks]
        for group in (hosts, devices):
            links += [LinkSpec(ends, family.link, where) for ends in spread(group, plan.edges)]
        return []


def instance_name(name: str, index: int) -> str:
    """The name of copy ``index`` of a counted component: '{i}' replaced, else index appended."""
    return name.replace("{i}", str(index)) if "{i}" in name else f"{name}{index}"


def _add_nodes(graph: nx.Graph, components: list[ComponentSpec]) -> list[Issue]:
    issues = []
    for c in components:
        if c.name in graph:
            first = graph.nodes[c.name]["where"]
            issues.append(
                Issue(
                    c.where,
                    f"the name '{c.name}' is used twice (first at {first})",
                    "give every component a unique name; generated fabrics use sw*, spine*, "
                    "leaf*, edge*, agg* and core*",
                )
            )
            continue
        expected = kinds()[c.kind].params
        if not isinstance(c.params, expected):
            issues.append(
                Issue(
                    c.where,
                    f"{c.kind} '{c.name}' has params of type {type(c.params).__name__}",
                    f"pass a {expected.__name__}",
                )
            )
            continue
        graph.add_node(c.name, kind=c.kind, params=c.params, group=c.group, where=c.where)
    return issues


def _add_links(graph: nx.Graph, links: list[LinkSpec]) -> list[Issue]:
    issues = []
    next_port: dict[str, int] = {}
    for link in links:
        a, b = link.ends
        missing = [end for end in (a, b) if end not in graph]
        if missing:
            end = missing[0]
            issues.append(
                Issue(
                    link.where,
                    f"link {a} -- {b} names '{end}', which is not a component",
                    f"declare '{end}' or fix the name{did_you_mean(end, graph.nodes)}",
                )
            )
        elif a == b:
            issues.append(Issue(link.where, f"link {a} -- {b} connects '{a}' to itself", ""))
        elif graph.has_edge(a, b):
            first = graph.edges[a, b]["where"]
            issues.append(
                Issue(
                    link.where,
                    f"a second link {a} -- {b} (first at {first})",
                    "two components share at most one link; use a wider link (width: x16) "
                    "or a faster rate",
                )
            )
        elif not isinstance(link.params, LinkParams):
            issues.append(Issue(link.where, f"link {a} -- {b} needs LinkParams", ""))
        else:
            ports = {}
            for end in (a, b):
                ports[end] = next_port.get(end, 0)
                next_port[end] = ports[end] + 1
            graph.add_edge(a, b, params=link.params, ports=ports, where=link.where)
    return issues
