"""The fabric: typed parameters, the Python builder, generator families, validation, routing and
drawing. ``SystemBuilder(...).build()`` returns the graph described in ``params.py``."""

import importlib
from pathlib import Path
from typing import Any

import networkx as nx

from .builder import SystemBuilder, instance_name
from .errors import Issue, TopologyError, Where
from .generators import FAMILIES, FabricFamily, FatTree, Ring, SingleSwitch, SpineLeaf, Tree
from .params import ClassCredits, HdmWindow, LinkParams, RunOptions, SwitchParams, WorkloadParams
from .routing import compute_routes, route_path

# The built-in kinds' params live in their own modules (slugsim.components.*), which import
# this package; they are re-exported here on first use, so that importing one does not import
# the other half-initialised.
_KIND_PARAMS = {
    "HostParams": "host",
    "Type3Params": "type3",
    "LogicalDevice": "type3",
    "PlaceholderParams": "placeholder",
}


def __getattr__(name: str) -> Any:
    if name in _KIND_PARAMS:
        module = importlib.import_module(f"slugsim.components.{_KIND_PARAMS[name]}")
        return getattr(module, name)
    if name == "PARAMS_BY_KIND":
        from ..contract import kinds

        return {kind: spec.params for kind, spec in kinds().items()}
    if name == "KINDS":
        from ..contract import kinds

        return tuple(kinds())
    raise AttributeError(f"module 'slugsim.fabric' has no attribute {name!r}")


def draw_fabric(graph: nx.Graph, path: str | Path, *, title: str | None = None) -> None:
    """Render the fabric graph to a PNG (see ``draw.py``); imports matplotlib only when called."""
    from .draw import draw_fabric as draw

    draw(graph, path, title=title)


__all__ = [
    "FAMILIES",
    "KINDS",
    "PARAMS_BY_KIND",
    "ClassCredits",
    "FabricFamily",
    "FatTree",
    "HdmWindow",
    "HostParams",
    "Issue",
    "LinkParams",
    "LogicalDevice",
    "PlaceholderParams",
    "Ring",
    "RunOptions",
    "SingleSwitch",
    "SpineLeaf",
    "SwitchParams",
    "SystemBuilder",
    "TopologyError",
    "Tree",
    "Type3Params",
    "Where",
    "WorkloadParams",
    "compute_routes",
    "draw_fabric",
    "instance_name",
    "route_path",
]
