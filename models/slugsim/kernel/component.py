"""Components own named ports; a port is one end of a link."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .errors import PortError
from .simulator import Event, Simulator

if TYPE_CHECKING:
    from .link import Channel

Handler = Callable[[Any], object]


class Port:
    """A named endpoint of a component.

    Incoming messages go to ``handler`` when one is set, otherwise into an inbox that processes
    read with ``yield port.recv()``. With ``auto_release`` (the default) the receive buffer is
    freed, and a credit sent back, as soon as the handler returns; a component that holds on to
    messages (a queue that drains later) sets ``auto_release=False`` and calls ``release()``.
    """

    __slots__ = ("_auto_release", "_handler", "_inbox", "_waiters", "name", "owner", "rx", "tx")

    def __init__(
        self, owner: Component, name: str, handler: Handler | None = None, auto_release: bool = True
    ) -> None:
        self.owner = owner
        self.name = name
        self.tx: Channel | None = None
        self.rx: Channel | None = None
        self._handler = handler
        self._auto_release = auto_release
        # Created on first use: most ports have a handler, and fabrics have thousands of ports.
        self._inbox: deque[Any] | None = None
        self._waiters: deque[Event] | None = None

    # The receiving channel decides from these two how to deliver (``Channel.bind_receiver``);
    # a change applies to messages sent after it.
    @property
    def handler(self) -> Handler | None:
        return self._handler

    @handler.setter
    def handler(self, handler: Handler | None) -> None:
        self._handler = handler
        if self.rx is not None:
            self.rx.bind_receiver()

    @property
    def auto_release(self) -> bool:
        return self._auto_release

    @auto_release.setter
    def auto_release(self, value: bool) -> None:
        self._auto_release = value
        if self.rx is not None:
            self.rx.bind_receiver()

    @property
    def path(self) -> str:
        return f"{self.owner.name}.{self.name}"

    @property
    def connected(self) -> bool:
        return self.tx is not None

    @property
    def peer(self) -> Port | None:
        return None if self.tx is None else self.tx.dst

    def send(self, msg: Any) -> None:
        """Send on the link; when out of credits the message waits in the link's egress queue."""
        tx = self.tx
        if tx is None:
            raise PortError(
                f"cannot send on port {self.path}: it is not connected; "
                f"join it to another port with Link(sim, {self.path}, other_port, ...)"
            )
        tx.send(msg)

    def can_send(self) -> bool:
        """True when a send now would start serialising at once (credit and empty backlog)."""
        if self.tx is None:
            return False
        return self.tx.has_credit()

    def release(self, count: int = 1) -> None:
        """Free ``count`` receive buffers, returning their credits to the sender."""
        if self.rx is None:
            raise PortError(f"cannot release on port {self.path}: it is not connected")
        for _ in range(count):
            self.rx.release()

    def recv(self) -> Event:
        """An event carrying the next inbox message (for processes; handler must be unset)."""
        event = Event(self.owner.sim)
        if self._inbox:
            event.succeed(self._inbox.popleft())
            if self._auto_release:
                self.rx.release()  # type: ignore[union-attr]
        else:
            if self._waiters is None:
                self._waiters = deque()
            self._waiters.append(event)
        return event

    def _deliver(self, msg: Any) -> None:
        handler = self._handler
        if handler is not None:
            handler(msg)
        elif self._waiters:
            self._waiters.popleft().succeed(msg)
        else:
            if self._inbox is None:
                self._inbox = deque()
            self._inbox.append(msg)
            return
        if self._auto_release:
            self.rx.release()  # type: ignore[union-attr]

    def __repr__(self) -> str:
        return f"<Port {self.path}>"


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
