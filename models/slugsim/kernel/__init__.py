"""slugsim's discrete-event kernel: integer picoseconds, deterministic, faster than SimPy."""

from .component import Component, Port
from .errors import (
    ConfigurationError,
    PortError,
    ProcessError,
    SchedulingError,
    SimulationError,
)
from .link import Channel, Link
from .simulator import Event, Process, Simulator
from .units import (
    MS,
    NS,
    PS,
    US,
    S,
    format_time,
    link_bandwidth,
    ms,
    ns,
    parse_bandwidth,
    parse_frequency,
    parse_rate,
    parse_size,
    parse_time,
    parse_width,
    ps,
    us,
)

__all__ = [
    "MS",
    "NS",
    "PS",
    "US",
    "Channel",
    "Component",
    "ConfigurationError",
    "Event",
    "Link",
    "Port",
    "PortError",
    "Process",
    "ProcessError",
    "S",
    "SchedulingError",
    "SimulationError",
    "Simulator",
    "format_time",
    "link_bandwidth",
    "ms",
    "ns",
    "parse_bandwidth",
    "parse_frequency",
    "parse_rate",
    "parse_size",
    "parse_time",
    "parse_width",
    "ps",
    "us",
]
