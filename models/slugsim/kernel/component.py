"""Components own named ports (``port.Port``); a port is one end of a link."""

from __future__ import annotations

import random
from functools import cached_property

from .errors import PortError
from .port import Handler, Port
from .simulator import Simulator


class Component:
    """Base of every model: a name, the simulator, named ports and a private RNG stream."""

    def __init__(self, sim: Simulator, name: str) -> None:
        if not name:
            raise ValueError("a component needs a non-empty name")
        self.sim = sim
        self.name = name
        self.ports: dict[str, Port] = {}

    @cached_property
    def rng(self) -> random.Random:
        """This component's random stream (made on first use: a Random holds 2.5 KB of state)."""
        return self.sim.rng(self.name)

    def add_port(
        self, name: str, handler: Handler | None = None, auto_release: bool = True
    ) -> Port:
        if name in self.ports:
            raise PortError(f"component {self.name} already has a port named {name!r}")
        port = Port(self, name, handler, auto_release)
        self.ports[name] = port
        return port

    def port(self, name: str) -> Port:
        try:
            return self.ports[name]
        except KeyError:
            known = ", ".join(sorted(self.ports)) or "none"
            raise PortError(
                f"component {self.name} has no port {name!r} (ports: {known})"
            ) from None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
