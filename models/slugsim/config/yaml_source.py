"""Safe YAML reading with line numbers and limits.

The file is composed into PyYAML's node tree first (aliases stay shared there, so composing a
"billion laughs" file is cheap), measured (expanded size, expanded depth, recursive aliases), and
only then turned into Python objects. Every key and list item keeps the line it came from, so a
problem found later at ``components[2].params.latency`` is reported as ``file:line``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..fabric.errors import Issue, TopologyError, Where

MAX_BYTES = 4 << 20  # a generous hand-written topology is a few kB; generators cover the rest
MAX_DEPTH = 32  # a topology nests about 6 levels deep
MAX_NODES = 200_000  # values after alias expansion
MERGE_TAG = "tag:yaml.org,2002:merge"

YamlPath = tuple[str | int, ...]


@dataclass
class Document:
    """Parsed YAML plus the line of every key and list item, by path from the root."""

    data: Any
    source: str
    lines: dict[YamlPath, int] = field(default_factory=dict)

    def where(self, path: YamlPath) -> Where:
        """The line of ``path``, or of its closest ancestor that the file spells out."""
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return Where(self.source, self.lines.get(path, 1))


def read_yaml(path: str | Path) -> Document:
    """Read a topology file; raises ``TopologyError`` with ``file:line`` on any problem."""
    source = str(path)
    where = Where(source)
    try:
        size = Path(path).stat().st_size
        if Path(path).is_dir():
            raise IsADirectoryError
    except FileNotFoundError:
        raise TopologyError([Issue(where, "no such file", "check the path")]) from None
    except IsADirectoryError:
        raise TopologyError([Issue(where, "is a directory", "name a .yaml file")]) from None
    except OSError as exc:
        raise TopologyError([Issue(where, f"cannot read: {exc.strerror}", "")]) from None
    if size > MAX_BYTES:
        message = f"file is {size} bytes; topology files are limited to {MAX_BYTES}"
        raise TopologyError([Issue(where, message, "use count: or a fabric: generator")])
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise TopologyError([Issue(where, f"cannot read: {exc.strerror}", "")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = "is not a text file (not valid UTF-8)"
        raise TopologyError([Issue(Where(source, line), message, "save it as UTF-8")]) from None
    return parse_yaml(text, source)


def parse_yaml(text: str, source: str = "<string>") -> Document:
    loader = None
    try:
        loader = _LimitedLoader(text)  # the reader rejects control characters right here
        node = loader.get_single_node()
        if node is None:
            hint = "start from topologies/quickstart.yaml"
            raise TopologyError([Issue(Where(source, 1), "the file is empty", hint)])
        _measure(node, source)
        document = Document(None, source, {(): node.start_mark.line + 1})
        issues = _index(node, (), document.lines, source)
        if issues:
            raise TopologyError(issues)
        document.data = loader.construct_document(node)
        return document
    except _TooDeep as exc:
        message = f"nesting deeper than {MAX_DEPTH} levels"
        raise TopologyError([Issue(Where(source, exc.line), message, _SIMPLER)]) from None
    except yaml.MarkedYAMLError as exc:
        raise TopologyError([_yaml_issue(exc, source)]) from None
    except yaml.YAMLError as exc:  # ReaderError: a control character or a binary file
        position = getattr(exc, "position", 0) or 0
        line = text.count("\n", 0, position) + 1
        message = f"not YAML: {getattr(exc, 'reason', exc)}"
        hint = "is this a topology file?"
        raise TopologyError([Issue(Where(source, line), message, hint)]) from None
    finally:
        if loader is not None:
            loader.dispose()


_SIMPLER = "a topology nests a few levels; check for runaway brackets or anchors"


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


class _LimitedLoader(yaml.SafeLoader):
    """SafeLoader that stops composing past MAX_DEPTH, before Python's recursion limit."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _yaml_issue(exc: yaml.MarkedYAMLError, source: str) -> Issue:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    problem = exc.problem or "cannot parse"
    if exc.context:
        problem = f"{problem} ({exc.context})"
    hint = "check indentation and quoting on this line and the one above"
    if "tag" in problem or "constructor" in problem:
        hint = "topology files use plain YAML: no !tags"
    elif "another document" in problem:
        hint = "one topology per file: remove the '---' and what follows"
    elif "'\\t'" in problem:
        hint = "indent with spaces; YAML does not allow tabs"
    return Issue(Where(source, line), f"not valid YAML: {problem}", hint)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _measure(root: Node, source: str) -> None:
    """Reject alias bombs, recursive aliases and deep expansion, without expanding anything:
    sizes and depths are memoised per node, so shared (aliased) subtrees are counted once."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            open_nodes.discard(key)
            line = node.start_mark.line + 1
            if size[key] > MAX_NODES:
                message = f"the document expands to more than {MAX_NODES} values"
                hint = "anchors and aliases (&a / *a) multiply; is this an alias bomb?"
                raise TopologyError([Issue(Where(source, line), message, hint)])
            if depth[key] > MAX_DEPTH:
                raise _TooDeep(line)
            continue
        if key in size:
            continue
        if key in open_nodes:
            message = "an alias refers to the node that contains it"
            hint = "an alias (*name) may only repeat a node defined before and outside it"
            raise TopologyError([Issue(Where(source, node.start_mark.line + 1), message, hint)])
        open_nodes.add(key)
        stack.append((node, True))
        for kid in _children(node):
            if id(kid) in open_nodes:
                line = kid.start_mark.line + 1
                message = "an alias refers to the node that contains it (a recursive structure)"
                hint = "an alias (*name) may only repeat a node defined before and outside it"
                raise TopologyError([Issue(Where(source, line), message, hint)])
            if id(kid) not in size:
                stack.append((kid, False))


def _index(node: Node, path: YamlPath, lines: dict[YamlPath, int], source: str) -> list[Issue]:
    """Record the line of every key and item under ``path``; report duplicate keys (PyYAML
    would silently keep the last one)."""
    issues: list[Issue] = []
    if isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            issues += _index(item, (*path, i), lines, source)
            lines[(*path, i)] = item.start_mark.line + 1
    elif isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        merged: list[Node] = []
        for key_node, value in node.value:
            if key_node.tag == MERGE_TAG:
                merged.append(value)
                continue
            if not isinstance(key_node, ScalarNode):
                continue  # construction rejects unhashable keys with its own message
            key, line = key_node.value, key_node.start_mark.line + 1
            if key in seen:
                issues.append(
                    Issue(
                        Where(source, line),
                        f"'{key}' appears twice in this mapping (first on line {seen[key]})",
                        "remove one of them; YAML keeps only the last",
                    )
                )
                continue
            seen[key] = line
            issues += _index(value, (*path, key), lines, source)
            lines[(*path, key)] = line
        for value in merged:  # '<<: *base' fills in keys the mapping does not spell out
            sources = value.value if isinstance(value, SequenceNode) else [value]
            for base in sources:
                if not isinstance(base, MappingNode):
                    continue
                for key_node, item in base.value:
                    if isinstance(key_node, ScalarNode) and key_node.value not in seen:
                        seen[key_node.value] = key_node.start_mark.line + 1
                        _index(item, (*path, key_node.value), lines, source)
                        lines[(*path, key_node.value)] = key_node.start_mark.line + 1
    return issues
