"""Sweep files: a topology plus a grid or a list of overrides, expanded into validated points.

    description: think time against seed
    topology: ../topologies/quickstart.yaml      # relative to this file
    set: {run.requests: 2000}                    # overrides every point shares
    grid:                                        # the cartesian product, first key slowest
      components.host0.params.workload.think_time: [0ns, 10ns, 100ns]
      run.seed: [1, 2]
    # or instead of grid:
    # points:
    #   - {run.seed: 1, "links[0].width": x8}

An override path addresses the topology document: ``run.<field>``, ``components.<name>.<...>``
(the name as the file declares it, a counted group by its group name; ``components[NAME]`` for
names with dots), ``links[<i>].<...>`` and ``fabric.<...>``, then keys and ``[i]`` list items
down to the value. Every point's document is validated by the normal topology loader before
anything runs; a problem that an override causes is reported at the sweep file's line of that
value, with the point's parameters (``docs/sweeps.md``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Document, read_yaml
from ..config.document import build_graph, builder_from
from ..config.yaml_source import YamlPath
from ..fabric.builder import instance_name
from ..fabric.errors import Issue, TopologyError, Where, did_you_mean

MAX_POINTS = 10_000
SWEEP_KEYS = {
    "description": "free text",
    "topology": "the topology file, relative to the sweep file",
    "set": "overrides every point shares: {path: value}",
    "grid": "{path: [values]}: one point per combination (cartesian product)",
    "points": "a list of {path: value} mappings, one point each",
}
ROOTS = ("run", "components", "links", "fabric", "migrate")
_TOKEN = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]|\[([^\]\[]+)\]")


@dataclass(frozen=True)
class Point:
    """One run of a sweep: its overrides (path -> value as written) and resolved document."""

    index: int
    params: dict[str, Any]
    document: Any
    seed: int
    key: str  # content hash of (document, seed, slugsim version): the cache entry's name

    def label(self) -> str:
        shown = ", ".join(f"{path}={show(value)}" for path, value in self.params.items())
        return f"point {self.index} ({shown})" if shown else f"point {self.index}"


@dataclass(frozen=True)
class Sweep:
    source: str  # the sweep file (or a description of who made the sweep)
    topology: str
    swept: list[str]  # the paths that vary, in order (the table's parameter columns)
    points: list[Point] = field(default_factory=list)


@dataclass
class _PointDocument(Document):
    """A topology document whose overridden values are located in the sweep file."""

    overrides: dict[YamlPath, Where] = field(default_factory=dict)

    def where(self, path: YamlPath) -> Where:
        path = tuple(path)
        for n in range(len(path), 0, -1):
            if path[:n] in self.overrides:
                return self.overrides[path[:n]]
        return super().where(path)


def show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, separators=(",", ":"))


def version() -> str:
    """slugsim's version plus a hash of its model sources: a changed model invalidates cached
    points even when nobody bumped the version."""
    from .. import __version__

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def canonical(value: Any) -> Any:
    """``value`` as JSON-able data with a fixed form (YAML may give int keys, dates, sets)."""
    if isinstance(value, dict):
        return {f"{type(k).__name__}:{k}": canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def point_key(document: Any, seed: int, slugsim_version: str) -> str:
    text = json.dumps(
        {"document": canonical(document), "seed": seed, "version": slugsim_version},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()


def unshare(value: Any) -> Any:
    """A copy with no shared parts (YAML aliases share objects; an override must change one)."""
    if isinstance(value, dict):
        return {k: unshare(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unshare(v) for v in value]
    return value


# -- reading a sweep file -----------------------------------------------------------------------


def load_sweep(path: str | Path) -> Sweep:
    """Read a sweep file and its topology, expand and validate every point; raises
    ``TopologyError`` listing every problem (sweep file lines, or the topology's own)."""
    sweep_doc = read_yaml(path)
    data = sweep_doc.data
    where = sweep_doc.where
    if not isinstance(data, dict):
        hint = "a sweep file has topology: and grid: or points: (docs/sweeps.md)"
        raise TopologyError([Issue(where(()), "the top level must be a mapping", hint)])
    issues = [
        Issue(
            where((key,)),
            f"unknown field '{key}' in a sweep file",
            f"known fields: {', '.join(SWEEP_KEYS)}{did_you_mean(str(key), SWEEP_KEYS)}",
        )
        for key in data
        if key not in SWEEP_KEYS and not (isinstance(key, str) and key.startswith("x-"))
    ]
    topology = data.get("topology")
    if not isinstance(topology, str) or not topology:
        hint = "e.g. topology: ../topologies/quickstart.yaml (relative to this file)"
        issues.append(Issue(where(("topology",)), "topology: must name a topology file", hint))
    if ("grid" in data) == ("points" in data):
        hint = "grid: {path: [values]} for a cartesian product, or points: [{path: value}, ...]"
        issues.append(Issue(where(()), "a sweep needs exactly one of grid: and points:", hint))
    shared = _overrides(sweep_doc, data.get("set"), ("set",), issues)
    combos: list[list[tuple[str, Any, Where]]] = []
    if "grid" in data:
        combos = _grid(sweep_doc, data["grid"], issues)
    elif "points" in data:
        combos = _explicit(sweep_doc, data["points"], issues)
    topo_path = Path(topology if isinstance(topology, str) else "")
    if not topo_path.is_absolute():
        topo_path = Path(path).parent / topo_path
    if isinstance(topology, str) and topology and not topo_path.is_file():
        message = f"topology file {topology} not found (looked for {topo_path})"
        hint = "the path is relative to the sweep file"
        issues.append(Issue(where(("topology",)), message, hint))
    if issues:
        raise TopologyError(issues)
    base = read_yaml(topo_path)
    swept = list(dict.fromkeys(p for combo in combos for p, _, _ in combo))
    return expand(str(path), base, [shared + combo for combo in combos], swept)


def _overrides(
    document: Document, raw: Any, path: YamlPath, issues: list[Issue]
) -> list[tuple[str, Any, Where]]:
    if raw is None:
        return []
    if not isinstance(raw, dict) or not raw:
        hint = "write {path: value, ...}, e.g. {run.seed: 2}"
        issues.append(Issue(document.where(path), f"{path[0]}: must be a mapping", hint))
        return []
    found = []
    for key, value in raw.items():
        if _bad_path(document, key, (*path, key), issues):
            continue
        found.append((key, value, document.where((*path, key))))
    return found


def _bad_path(document: Document, key: Any, path: YamlPath, issues: list[Issue]) -> bool:
    try:
        parse_path(key)
    except ValueError as exc:
        hint = "e.g. run.seed, components.host0.params.workload.think_time, links[0].width"
        issues.append(Issue(document.where(path), str(exc), hint))
        return True
    return False


def _grid(document: Document, raw: Any, issues: list[Issue]) -> list[list[tuple[str, Any, Where]]]:
    if not isinstance(raw, dict) or not raw:
        hint = "grid: {path: [value, ...], ...}"
        issues.append(Issue(document.where(("grid",)), "grid: must be a mapping of paths", hint))
        return []
    axes = []
    for key, values in raw.items():
        if _bad_path(document, key, ("grid", key), issues):
            continue
        if not isinstance(values, list) or not values:
            hint = f"write '{key}: [a, b, c]'"
            message = f"grid value of '{key}' must be a non-empty list, got {show(values)}"
            issues.append(Issue(document.where(("grid", key)), message, hint))
            continue
        axes.append([(key, v, document.where(("grid", key, i))) for i, v in enumerate(values)])
    total = 1
    for axis in axes:
        total *= len(axis)
    if total > MAX_POINTS:
        hint = "split the sweep into several files"
        message = f"the grid has {total} points; a sweep is limited to {MAX_POINTS}"
        issues.append(Issue(document.where(("grid",)), message, hint))
        return []
    return [list(combo) for combo in itertools.product(*axes)]


def _explicit(
    document: Document, raw: Any, issues: list[Issue]
) -> list[list[tuple[str, Any, Where]]]:
    if not isinstance(raw, list) or not raw:
        hint = "points: [{run.seed: 1}, {run.seed: 2}]"
        issues.append(Issue(document.where(("points",)), "points: must be a non-empty list", hint))
        return []
    if len(raw) > MAX_POINTS:
        message = f"{len(raw)} points; a sweep is limited to {MAX_POINTS}"
        issues.append(Issue(document.where(("points",)), message, "split the sweep"))
        return []
    combos = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            hint = "each point is a mapping {path: value, ...}"
            message = f"points[{index}] must be a mapping, got {show(item)}"
            issues.append(Issue(document.where(("points", index)), message, hint))
            continue
        combos.append(_overrides(document, item or None, ("points", index), issues))
    return combos


# -- override paths -----------------------------------------------------------------------------


def parse_path(text: Any) -> list[str | int]:
    """``components.host0.params.hdm[0].size`` -> ['components', 'host0', 'params', 'hdm', 0,
    'size']; ``components[a.b]`` names a component whose name has dots. Raises ValueError."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"an override path is text such as run.seed, got {text!r}")
    tokens: list[str | int] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or (position == 0 and text[0] == "."):
            raise ValueError(f"cannot read override path '{text}' at '{text[position:]}'")
        name, index, quoted = match.groups()
        tokens.append(name if name is not None else int(index) if index is not None else quoted)
        position = match.end()
    if tokens[0] not in ROOTS:
        raise ValueError(
            f"override path '{text}' must start with {', '.join(ROOTS)}"
            f"{did_you_mean(str(tokens[0]), ROOTS)}"
        )
    if len(tokens) < 2 or (tokens[0] in ("components", "links") and len(tokens) < 3):
        raise ValueError(f"override path '{text}' stops before a value")
    if tokens[0] == "links" and not isinstance(tokens[1], int):
        raise ValueError(f"override path '{text}': links are addressed by index, links[0]...")
    return tokens


def resolve(data: dict[str, Any], path: str) -> YamlPath:
    """Where ``path`` points in the document: components by name become indices. Raises
    ValueError saying what is missing."""
    tokens = parse_path(path)
    root, rest = tokens[0], tokens[1:]
    if root == "components":
        items = data.get("components")
        items = items if isinstance(items, list) else []
        wanted = rest[0]
        if isinstance(wanted, int):
            if wanted >= len(items):
                raise ValueError(f"'{path}': there are {len(items)} components")
            return ("components", wanted, *rest[1:])
        names = [item.get("name") if isinstance(item, dict) else None for item in items]
        if wanted in names:
            return ("components", names.index(wanted), *rest[1:])
        for item in items:
            count = item.get("count") if isinstance(item, dict) else None
            if isinstance(count, int) and isinstance(item.get("name"), str):
                group = item["name"]
                if wanted in (instance_name(group, i) for i in range(count)):
                    raise ValueError(
                        f"'{path}': {wanted} is a copy of the counted group '{group}'; "
                        f"override the group: components.{group}.{_tail(rest[1:])}"
                    )
        known = [n for n in names if isinstance(n, str)]
        raise ValueError(
            f"'{path}': the topology has no component '{wanted}'{did_you_mean(str(wanted), known)}"
        )
    if root == "links":
        items = data.get("links")
        count = len(items) if isinstance(items, list) else 0
        if not isinstance(rest[0], int) or rest[0] >= count:
            raise ValueError(f"'{path}': links are addressed by index, links[0] ... [{count - 1}]")
    if root == "fabric" and not isinstance(data.get("fabric"), dict):
        raise ValueError(f"'{path}': the topology has no fabric: section")
    return (root, *rest)


def _tail(tokens: list[str | int]) -> str:
    return "".join(f"[{t}]" if isinstance(t, int) else f".{t}" for t in tokens).lstrip(".")


def apply(data: Any, target: YamlPath, value: Any, path: str) -> None:
    """Set ``value`` at ``target`` in ``data``, creating missing mappings on the way."""
    node = data
    for step, token in enumerate(target[:-1]):
        following = target[step + 1]
        if isinstance(node, dict):
            child = node.get(token)
            if child is None:
                if isinstance(following, int):
                    raise ValueError(f"'{path}': there is no list at '{token}' to index")
                child = node[token] = {}
            node = child
        elif isinstance(node, list) and isinstance(token, int):
            if token >= len(node):
                raise ValueError(f"'{path}': '{_tail(list(target[:step]))}' has {len(node)} items")
            node = node[token]
        else:
            raise ValueError(f"'{path}': '{_tail(list(target[:step]))}' is {show(node)}")
    last = target[-1]
    settable = isinstance(node, dict) and isinstance(last, str)
    settable |= isinstance(node, list) and isinstance(last, int) and last < len(node)
    if settable:
        node[last] = unshare(value)
    else:
        raise ValueError(f"'{path}': cannot set '{last}' in {show(node)}")


def expand(
    source: str,
    base: Document,
    combos: list[list[tuple[str, Any, Where]]],
    swept: list[str],
    slugsim_version: str | None = None,
) -> Sweep:
    """The points of ``combos`` (lists of (path, value, where)), each validated by the topology
    loader; raises ``TopologyError`` with every problem, a point's parameters in its message."""
    slugsim_version = slugsim_version or version()
    if not isinstance(base.data, dict):
        builder_from(base)  # raises the loader's own report
    # One report per distinct problem: (where, message) -> (hint, first point's label, points)
    seen: dict[tuple[Where, str], tuple[str, str, list[int]]] = {}
    points: list[Point] = []
    for index, combo in enumerate(combos):
        data = unshare(base.data)
        document = _PointDocument(data, base.source, base.lines)
        params: dict[str, Any] = {}
        problems: list[Issue] = []
        for path, value, where in combo:
            try:
                target = resolve(data, path)
                apply(data, target, value, path)
            except ValueError as exc:
                problems.append(Issue(where, str(exc), "see docs/sweeps.md for override paths"))
                continue
            document.overrides[target] = where
            if path in swept:
                params[path] = value
        label = Point(index, params, data, 0, "").label()
        if not problems:
            try:
                graph = build_graph(document)
            except TopologyError as exc:
                problems = exc.issues
        for issue in problems:
            entry = seen.setdefault((issue.where, issue.message), (issue.hint, label, []))
            entry[2].append(index)
        if problems:
            continue
        seed = graph.graph["run"].seed
        key = point_key(data, seed, slugsim_version)
        points.append(Point(index, params, data, seed, key))
    issues = []
    for (where, message), (hint, label, indices) in seen.items():
        others = len(indices) - 1
        more = f" (and {others} more point{'s' * (others > 1)})" if others else ""
        issues.append(Issue(where, f"{label}{more}: {message}", hint))
    if issues:
        raise TopologyError(issues)
    return Sweep(source, base.source, swept, points)
