"""The fabric: typed parameters, the Python builder, generator families, validation, routing and
drawing. ``SystemBuilder(...).build()`` returns the graph described in ``params.py``."""

from pathlib import Path

import networkx as nx

from .builder import SystemBuilder, instance_name
from .errors import Issue, TopologyError, Where
from .generators import FAMILIES, FabricFamily, FatTree, Ring, SingleSwitch, SpineLeaf, Tree
from .params import (
    KINDS,
    PARAMS_BY_KIND,
    HdmWindow,
    HostParams,
    LinkParams,
    LogicalDevice,
    PlaceholderParams,
    RunOptions,
    SwitchParams,
    Type3Params,
    WorkloadParams,
)
from .routing import compute_routes, route_path


def draw_fabric(graph: nx.Graph, path: str | Path, *, title: str | None = None) -> None:
    """Render the fabric graph to a PNG (see ``draw.py``); imports matplotlib only when called."""
    from .draw import draw_fabric as draw

    draw(graph, path, title=title)


__all__ = [
    "FAMILIES",
    "KINDS",
    "PARAMS_BY_KIND",
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
