"""Topology files: safe YAML with line numbers, typed parameters with units and defaults taken
from ``fabric/params.py``, ``count:`` and ``fabric:`` expansion, and the JSON Schema export."""

from ..fabric.errors import Issue, TopologyError, Where
from .document import builder_from, load_topology
from .json_schema import topology_schema
from .yaml_source import Document, parse_yaml, read_yaml

__all__ = [
    "Document",
    "Issue",
    "TopologyError",
    "Where",
    "builder_from",
    "load_topology",
    "parse_yaml",
    "read_yaml",
    "topology_schema",
]
