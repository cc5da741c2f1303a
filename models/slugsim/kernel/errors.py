"""Errors raised by the kernel. Each message says what is wrong and what to do instead."""

from __future__ import annotations


class SimulationError(Exception):
    """Base class of kernel errors."""


class SchedulingError(SimulationError, ValueError):
    """An event was scheduled in the past, or with a negative or non-integer delay."""


class PortError(SimulationError):
    """A port was used while unconnected, or connected twice."""


class ConfigurationError(SimulationError, ValueError):
    """A component or link was built with an impossible parameter (negative latency, ...)."""


class ProcessError(SimulationError):
    """A process yielded something the kernel cannot wait on."""
