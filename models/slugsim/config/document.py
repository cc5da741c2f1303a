"""The topology file format: a thin layer that turns a YAML document into ``SystemBuilder`` calls.

    description: free text
    run: {seed: 1, requests: 20000}                   # RunOptions
    components:
      - {name: host, kind: host, count: 4, params: {...}}   # host0 ... host3; '{i}' in any
      - {name: sw0, kind: switch, params: {ports: 16}}      # string of params is the index
    links:
      - {between: [host, sw0], width: x16}            # a counted group links every member
    fabric: {family: spine_leaf, spines: 2, leaves: 4}  # or generate the switches instead

Problems found here (shape, names, kinds, units) are reported before the graph is built, so a
broken component does not cascade into "dangling link" errors about it.
"""

from __future__ import annotations

import ast
import operator
import re
from pathlib import Path
from typing import Any

import networkx as nx

from ..contract import kinds
from ..fabric.builder import MAX_COMPONENTS, SystemBuilder, instance_name
from ..fabric.errors import Issue, TopologyError, Where, did_you_mean
from ..fabric.generators import FAMILIES
from ..fabric.params import LinkParams, RunOptions
from .schema import validate_params
from .yaml_source import Document, read_yaml

TOP_LEVEL = {
    "description": "free text about this topology",
    "run": "run options: seed, stop_time, requests",
    "components": "hosts, switches, type3 / type2 devices and nics; count: N repeats one",
    "links": "explicit links: {between: [a, b], rate, width, latency, flit_bytes, credits}",
    "fabric": "a generated switch fabric: {family: " + " | ".join(FAMILIES) + ", ...}",
    "migrate": "endpoint migrations: [{endpoint: acc0, to: acc2, at: 2us}] (docs/migration.md)",
    "emc": "EMC monitors: {at: [endpoints | switch_ports | names], filters, sampling}",
}
COMPONENT_KEYS = {
    "name": "unique name; with count:, the index is appended (or replaces '{i}')",
    "kind": "a registered kind (slugsim schema lists them): host, switch, type3 ...",
    "count": "make this many copies, numbered from 0",
    "params": "the kind's parameters (slugsim schema lists them)",
    "description": "free text",
}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
# '{i}', '{i+16}', '{(i+1)%4}', '{i//2}' in strings of a counted component's params
INDEX_EXPRESSION = re.compile(r"\{([0-9i+\-*/%() ]*i[0-9i+\-*/%() ]*)\}")
_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}


def index_value(expression: str, index: int) -> int:
    """Evaluate a small integer expression of the copy index ``i`` (no names but ``i``, no
    calls: this is arithmetic on a number, never ``eval``). Raises ``ValueError``."""

    def value(node: ast.AST) -> int:
        if isinstance(node, ast.Name) and node.id == "i":
            return index
        if isinstance(node, ast.Constant) and type(node.value) is int and node.value < 2**32:
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            left, right = value(node.left), value(node.right)
            if isinstance(node.op, ast.FloorDiv | ast.Mod) and right == 0:
                raise ValueError(f"division by zero in '{{{expression}}}'")
            if isinstance(node.op, ast.Mult) and abs(left * right) >= 2**64:
                raise ValueError(f"'{{{expression}}}' is too large")
            return _OPERATORS[type(node.op)](left, right)
        raise ValueError(f"'{{{expression}}}' is not arithmetic on i")

    if len(expression) > 40:
        raise ValueError(f"'{{{expression}}}' is too long for an index expression")
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        raise ValueError(f"'{{{expression}}}' is not arithmetic on i") from None
    return value(tree.body)


def load_topology(path: str | Path) -> nx.Graph:
    """Read, validate and route a topology file; raises ``TopologyError`` on any problem."""
    return build_graph(read_yaml(path))


def build_graph(document: Document) -> nx.Graph:
    """The validated, routed graph a parsed document describes, with its ``emc:`` section
    (``graph.graph['emc']``) and ``migrate:`` entries (``graph.graph['migrate']``); raises
    ``TopologyError``."""
    builder = builder_from(document)
    graph = builder.build()
    graph.graph["emc"] = getattr(builder, "emc", None)  # the emc: section (slugsim.emc.config)
    if graph.graph["emc"] is not None:
        from ..emc.config import check_names, check_ship_to

        issues = check_names(graph, builder.emc_pending)
        issues += check_ship_to(graph, graph.graph["emc"], builder.emc_ship_where)
        if issues:
            raise TopologyError(issues)
    if isinstance(document.data, dict) and "migrate" in document.data:
        from ..sim.migration import attach, parse_entries

        specs, issues = parse_entries(document, document.data["migrate"])
        if issues:
            raise TopologyError(issues)
        attach(graph, specs)
    return graph


def builder_from(document: Document) -> SystemBuilder:
    """The ``SystemBuilder`` a parsed document describes (raises ``TopologyError``)."""
    data = document.data
    if not isinstance(data, dict):
        raise TopologyError(
            [
                Issue(
                    document.where(()),
                    f"the top level must be a mapping, not {type(data).__name__}",
                    "a topology starts with 'components:' (see topologies/quickstart.yaml)",
                )
            ]
        )
    issues = _top_level_issues(document, data)
    run, found = validate_params(RunOptions, data.get("run"), document, ("run",), "run")
    issues += found
    builder = SystemBuilder(run or RunOptions(), source=document.source)
    groups = _add_components(document, data.get("components"), builder, issues)
    _add_links(document, data.get("links"), builder, groups, issues)
    _add_fabric(document, data.get("fabric"), builder, issues)
    if "emc" in data:
        from ..emc.config import emc_section

        builder.emc, found = emc_section(document, data["emc"], groups, builder)  # type: ignore[attr-defined]
        issues += found
    if not issues and not builder.names and data.get("fabric") is None:
        hint = "add components: (see topologies/quickstart.yaml)"
        issues.append(Issue(document.where(()), "the topology has no components", hint))
    if issues:
        raise TopologyError(issues)
    return builder


def _top_level_issues(document: Document, data: dict) -> list[Issue]:
    issues = []
    for key in data:
        # 'x-...' keys are the user's: a place for YAML anchors (&gen5) used further down.
        if key not in TOP_LEVEL and not (isinstance(key, str) and key.startswith("x-")):
            issues.append(
                Issue(
                    document.where((key,)),
                    f"unknown top-level field '{key}'",
                    f"known fields: {', '.join(TOP_LEVEL)}, or x-anything for anchors"
                    f"{did_you_mean(str(key), TOP_LEVEL)}",
                )
            )
    if not isinstance(data.get("description", ""), str):
        issues.append(Issue(document.where(("description",)), "description must be text", ""))
    return issues


def _list_of_mappings(document: Document, raw: Any, key: str, issues: list[Issue]) -> list:
    if raw is None:
        return []
    if not isinstance(raw, list):
        hint = f"write {key}: as a list, one '- {{...}}' item per entry"
        issues.append(Issue(document.where((key,)), f"{key} must be a list", hint))
        return []
    good = []
    for index, item in enumerate(raw):
        if isinstance(item, dict):
            good.append((index, item))
        else:
            message = f"{key}[{index}] must be a mapping, got {type(item).__name__}"
            hint = "write {name: ..., kind: ...}" if key == "components" else "write {between: ...}"
            issues.append(Issue(document.where((key, index)), message, hint))
    return good


def _add_components(
    document: Document, raw: Any, builder: SystemBuilder, issues: list[Issue]
) -> dict[str, list[str]]:
    """Declare the components; returns counted groups: group name -> member names."""
    groups: dict[str, list[str]] = {}
    total = 0
    for index, item in _list_of_mappings(document, raw, "components", issues):
        path = ("components", index)
        where = document.where(path)
        found = [
            Issue(
                document.where((*path, key)),
                f"unknown field '{key}' in a component",
                f"known fields: {', '.join(COMPONENT_KEYS)}"
                f"{did_you_mean(str(key), COMPONENT_KEYS)}",
            )
            for key in item
            if key not in COMPONENT_KEYS
        ]
        name, kind, count = item.get("name"), item.get("kind"), item.get("count")
        if not isinstance(name, str) or not NAME.fullmatch(name.replace("{i}", "0")):
            found.append(
                Issue(
                    document.where((*path, "name")),
                    f"component name {name!r} is missing or not a plain name",
                    "names start with a letter or '_' and use letters, digits, '_', '-', '.'",
                )
            )
        known = kinds()
        if not isinstance(kind, str) or kind not in known:
            found.append(
                Issue(
                    document.where((*path, "kind")),
                    f"unknown component kind {kind!r}",
                    f"use one of {', '.join(known)}{did_you_mean(str(kind), known)}",
                )
            )
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or count < 1
        ):
            hint = "count is a whole number of copies, 1 or more"
            found.append(Issue(document.where((*path, "count")), f"bad count {count!r}", hint))
        elif count is not None and total + count > MAX_COMPONENTS:
            message = f"count {count} takes the system past {MAX_COMPONENTS} components"
            found.append(Issue(document.where((*path, "count")), message, "use a smaller count"))
        if found:
            issues += found
            continue
        total += count or 1
        members = [instance_name(name, i) for i in range(count)] if count else [name]
        if count is not None:
            groups[name] = members
        issues += _declare(document, path, item.get("params"), builder, kind, members, where)
    return groups


def _declare(
    document: Document,
    component: tuple[str, int],
    raw: Any,
    builder: SystemBuilder,
    kind: str,
    members: list[str],
    where: Where,
) -> list[Issue]:
    """Validate the params (once, or per copy when they use '{i}') and add every member."""
    group = document.data["components"][component[1]]["name"]
    path = (*component, "params")

    def locate(part: tuple) -> Where:
        return document.where((*path, *part))

    what = f"{kind} '{group}' params"
    issues: list[Issue] = []
    shared = None
    if not _mentions_index(raw):
        shared, issues = validate_params(kinds()[kind].params, raw, document, path, what)
        if issues:
            return issues
    for index, name in enumerate(members):
        params = shared
        if params is None:  # per-copy params: '{i}' in strings
            try:
                copy = _substitute(raw, index)
            except ValueError as exc:
                hint = "use '{i}', '{i+1}', '{(i+8)%16}' or '{i//2}'"
                return [Issue(document.where(path), f"{what}: {exc}", hint)]
            params, found = validate_params(kinds()[kind].params, copy, document, path, what)
            if found:
                return found  # copies share their errors; one report is enough
        builder.component(name, kind, params, where=where, group=group, locate=locate)
    return issues


def _mentions_index(value: Any) -> bool:
    if isinstance(value, str):
        return INDEX_EXPRESSION.search(value) is not None
    if isinstance(value, dict):
        return any(_mentions_index(v) for v in value.values())
    if isinstance(value, list):
        return any(_mentions_index(v) for v in value)
    return False


def _substitute(value: Any, index: int) -> Any:
    if isinstance(value, str):
        return INDEX_EXPRESSION.sub(lambda m: str(index_value(m[1], index)), value)
    if isinstance(value, dict):
        return {k: _substitute(v, index) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, index) for v in value]
    return value


def _add_links(
    document: Document,
    raw: Any,
    builder: SystemBuilder,
    groups: dict[str, list[str]],
    issues: list[Issue],
) -> None:
    for index, item in _list_of_mappings(document, raw, "links", issues):
        path = ("links", index)
        between = item.get("between")
        if (
            not isinstance(between, list)
            or len(between) != 2
            or not all(isinstance(end, str) for end in between)
        ):
            issues.append(
                Issue(
                    document.where((*path, "between")),
                    f"a link needs 'between: [a, b]' naming two components, got {between!r}",
                    "e.g. {between: [host0, sw0], width: x16}",
                )
            )
            continue
        a, b = between
        rest = {k: v for k, v in item.items() if k != "between"}
        params, found = validate_params(LinkParams, rest, document, path, f"link {a} -- {b}")
        ends_a, ends_b = groups.get(a, [a]), groups.get(b, [b])
        if len(ends_a) > 1 and len(ends_b) > 1 and len(ends_a) != len(ends_b):
            found.append(
                Issue(
                    document.where((*path, "between")),
                    f"link {a} -- {b} pairs groups of {len(ends_a)} and {len(ends_b)} members",
                    "two groups link member by member and need equal counts; or name members",
                )
            )
        if found:
            issues += found
            continue
        if len(ends_a) > 1 and len(ends_b) > 1:
            pairs = list(zip(ends_a, ends_b, strict=True))
        else:
            pairs = [(x, y) for x in ends_a for y in ends_b]
        for x, y in pairs:
            builder.link(x, y, params, where=document.where(path))


def _add_fabric(document: Document, raw: Any, builder: SystemBuilder, issues: list[Issue]) -> None:
    if raw is None:
        return
    where = document.where(("fabric",))
    if not isinstance(raw, dict):
        hint = "e.g. fabric: {family: spine_leaf, spines: 2, leaves: 4}"
        issues.append(Issue(where, "fabric must be a mapping", hint))
        return
    family = raw.get("family")
    if family not in FAMILIES:
        issues.append(
            Issue(
                document.where(("fabric", "family")),
                f"unknown fabric family {family!r}",
                f"use one of {', '.join(FAMILIES)}{did_you_mean(str(family), FAMILIES)}",
            )
        )
        return
    rest = {k: v for k, v in raw.items() if k != "family"}
    spec, found = validate_params(FAMILIES[family], rest, document, ("fabric",), f"{family} fabric")
    issues += found
    if spec is not None:
        builder.fabric(spec, where=where)
