"""A CXL Type-1 device: an accelerator with a coherent cache and no memory of its own.

Its cache reaches host memory over CXL.cache only (CXL_REFERENCE.md §2.5): every miss is a D2H
request to its home host, whose home agent answers with a GO and data and snoops it when other
agents want its lines. The device is ``components.coherent_device.CoherentDevice``; this module
only registers the kind.
"""

from __future__ import annotations

from ..contract import UPSTREAM, PortSpec, component
from .coherent_device import CoherentDevice, coherent_device_schema
from .coherent_params import Type1Params


@component(
    "type1",
    params=Type1Params,
    ports=(PortSpec("usp", UPSTREAM, {"cache", "io"}, max_links=1, doc="upstream port"),),
    section="devices",
    stats_schema=lambda: coherent_device_schema("one Type-1 device"),
)
class Type1Device(CoherentDevice):
    """A CXL Type-1 accelerator: a coherent cache on CXL.cache."""
