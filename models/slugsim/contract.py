"""The component contract: a registry of kinds, their declared ports, and the hooks every
component implements.

A kind is one module that registers its class, gem5 SimObject- and SST element-style::

    @component("type3", params=Type3Params, ports=(PortSpec("usp", UPSTREAM, {"mem", "io"}),),
               section="devices")
    class Type3Device(Component):
        def build(self) -> None: ...              # state from self.params
        def connect(self) -> None: ...            # links exist: handlers, routes (self.fabric)
        def start(self) -> None: ...              # first events
        def stats(self, elapsed: int) -> dict: ... # this component's entry in stats.json

The YAML ``kind:``, the JSON Schema, validation, elaboration and statistics loop over
``kinds()``; nothing else names a kind, so a new kind touches one module (its own).

Ports. Each kind declares groups of ports with a **role** (``upstream`` faces the host: a
device's or a switch's USP; ``downstream`` faces devices: a host's root port, a switch's DSP; a
switch port may be either, by what it faces) and the **protocols** it carries (a subset of
``mem``, ``cache``, ``io``). Every link joins an upstream end to a downstream end and carries the
protocols both ends speak; validation refuses links whose ends disagree.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from .kernel import Component as KernelComponent
from .kernel import Port, Simulator

if TYPE_CHECKING:
    from .fabric.errors import Issue, Where
    from .stats.histogram import LatencyHistogram
    from .stats.request_log import RequestLog


class Role(StrEnum):
    UPSTREAM = "upstream"  # faces the host: a device's or a switch's upstream port (USP)
    DOWNSTREAM = "downstream"  # faces devices: a host root port, a switch's DSP


class Protocol(StrEnum):
    MEM = "mem"  # CXL.mem: M2S / S2M
    CACHE = "cache"  # CXL.cache: D2H / H2D
    IO = "io"  # CXL.io (ATS and configuration)


UPSTREAM = frozenset({Role.UPSTREAM})
DOWNSTREAM = frozenset({Role.DOWNSTREAM})
EITHER = frozenset({Role.UPSTREAM, Role.DOWNSTREAM})


@dataclass(frozen=True)
class PortSpec:
    """A group of ports of one kind: every link of the group has this role and these protocols.

    ``max_links``: how many links the group takes; an int, the name of an int field of the
    kind's params (a switch's ``ports``), or None for no limit."""

    name: str
    roles: frozenset[Role]  # given as any iterable of roles (or one role's name)
    protocols: frozenset[Protocol]  # given as any iterable of protocols or their names
    max_links: int | str | None = None
    doc: str = ""

    def __post_init__(self) -> None:
        roles: Any = self.roles
        roles = frozenset(Role(r) for r in ([roles] if isinstance(roles, str) else roles))
        protocols = frozenset(Protocol(p) for p in self.protocols)
        if not roles or not protocols:
            raise ValueError(f"port group {self.name!r} needs at least one role and one protocol")
        object.__setattr__(self, "roles", roles)
        object.__setattr__(self, "protocols", protocols)

    def limit(self, params: Any) -> int | None:
        if isinstance(self.max_links, str):
            return int(getattr(params, self.max_links))
        return self.max_links

    def describe(self) -> str:
        roles = "/".join(sorted(self.roles))
        return f"{self.name} ({roles}; {', '.join(sorted(self.protocols))})"


@dataclass(frozen=True)
class KindSpec:
    """What the registry knows of a kind."""

    kind: str
    cls: type[Component]
    params: type
    ports: tuple[PortSpec, ...]
    section: str  # the stats.json section its components' stats go under
    # JSON-Schema of one entry, or a function returning it (None: any object)
    stats_schema: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None
    forwards: bool  # routes messages between its ports (a switch): no PID, never a destination
    memory: bool  # holds host-managed device memory: HDM windows may target it
    modelled: bool  # False: present in the graph, inert in simulation
    doc: str

    @property
    def home(self) -> bool:
        """A host: its ports face devices only, and it does not forward."""
        return not self.forwards and all(p.roles == DOWNSTREAM for p in self.ports)

    def entry_schema(self) -> Mapping[str, Any] | None:
        schema = self.stats_schema
        return schema() if callable(schema) else schema

    @property
    def protocols(self) -> frozenset[Protocol]:
        return frozenset().union(*(p.protocols for p in self.ports))


@dataclass
class Attachment:
    """One link end of a component: its kernel port, the neighbour, the role the port plays on
    this link and the protocols the link carries."""

    port: Port
    peer: str
    role: Role
    protocols: frozenset[Protocol]
    group: str


class Component(KernelComponent):
    """Base of every fabric component: one object per node of the topology.

    The elaborator calls, in order: the constructor (which calls ``build``), then, once every
    link exists, ``connect``; ``start`` when the run begins; ``stats`` at the end. ``fabric``
    answers the questions a component has about the rest of the system (PIDs, routes, the
    request budget); see ``slugsim.sim.elaborate.Fabric``.
    """

    def __init__(self, sim: Simulator, name: str, params: Any, fabric: Any) -> None:
        super().__init__(sim, name)
        self.params = params
        self.fabric = fabric
        # This endpoint's 12-bit PBR port ID (SPID/DPID); None for a switch, which has none.
        self.pid: int | None = fabric.pids.get(name)
        self.attachments: list[Attachment] = []
        self.build()

    # -- hooks ---------------------------------------------------------------------------------

    def build(self) -> None:
        """Create the component's state from ``self.params``."""

    def connect(self) -> None:
        """Every link exists: bind port handlers and resolve routes."""

    def start(self) -> None:
        """The run begins at t=0: schedule the first events."""

    def stats(self, elapsed: int) -> dict[str, Any]:
        """This component's entry in stats.json (under its kind's section)."""
        return {}

    # -- what the run asks of every component (defaults: nothing to report) ----------------

    def latency_histograms(self) -> Mapping[tuple[str, str], LatencyHistogram]:
        """Completed-request latencies (ps) by (class, path), for the run's latency section:
        ``slugsim.stats.histogram.LatencyHistogram``s (constant memory; exact counts)."""
        return {}

    def log_requests(self, log: RequestLog) -> None:
        """Write a row to ``log`` (``log.row(...)``) for each request completed from now on
        (``slugsim run --log-requests``); components that complete no requests ignore it."""

    def expected_requests(self) -> int:
        """Requests this component's workload will complete (for the progress bar)."""
        return 0

    def in_flight(self) -> int:
        """Requests issued but not completed (a quiet run with some in flight is a deadlock)."""
        return 0

    def ld_id_for(self, host: str) -> int:
        """The LD-ID ``host`` uses on this memory device (0: a single logical device)."""
        return 0

    def cache_home(self) -> str | None:
        """The host whose home agent serves this component's CXL.cache requests and snoops
        its cache (None: it caches nothing); asked once every component is built."""
        return None

    def receive_buffers(self) -> int | None:
        """Receive buffers per message class this component has on each port (caps the credits
        its links advertise); None: as many as the link's parameters say."""
        return None

    def traffic(self) -> Mapping[str, int]:
        """Lines moved, by what the run's bandwidth section reports ('cxl_write' ...)."""
        return {}

    @classmethod
    def check(
        cls, graph: Any, name: str, params: Any, place: Callable[[tuple], Where]
    ) -> list[Issue]:
        """Problems of this node that only its kind knows of (``place(("hdm", 0))`` gives
        where a part of its params was written); checked with the whole graph built."""
        return []


C = TypeVar("C", bound=type[Component])

_REGISTRY: dict[str, KindSpec] = {}
_BUILTINS = "slugsim.components"


def component(
    kind: str,
    *,
    params: type,
    ports: Iterable[PortSpec],
    section: str | None = None,
    stats_schema: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    forwards: bool = False,
    memory: bool = False,
    modelled: bool = True,
    doc: str | None = None,
) -> Callable[[C], C]:
    """Register the decorated class as the model of ``kind`` (the YAML ``kind:``).

    ``params`` is a frozen dataclass whose fields have defaults and ``doc`` metadata (see
    ``slugsim.fabric.params.doc``); ``section`` is where its stats go in stats.json (default:
    the kind's name). Registering a kind twice replaces the earlier class only when it comes
    from the same module (a reload); otherwise it is refused."""

    def register(cls: C) -> C:
        if not kind.isidentifier():
            raise ValueError(f"kind {kind!r} must be an identifier (letters, digits, _)")
        before = _REGISTRY.get(kind)
        if before is not None and before.cls.__module__ != cls.__module__:
            raise ValueError(
                f"kind {kind!r} is already registered by {before.cls.__module__}."
                f"{before.cls.__qualname__}; choose another name"
            )
        port_specs = tuple(ports)
        if not port_specs:
            raise ValueError(f"kind {kind!r} declares no ports")
        _REGISTRY[kind] = KindSpec(
            kind=kind,
            cls=cls,
            params=params,
            ports=port_specs,
            section=section or kind,
            stats_schema=stats_schema,
            forwards=forwards,
            memory=memory,
            modelled=modelled,
            doc=doc or (cls.__doc__ or kind).strip().splitlines()[0],
        )
        return cls

    return register


def kinds() -> dict[str, KindSpec]:
    """Every registered kind, the built-in ones included, by name (in registration order)."""
    importlib.import_module(_BUILTINS)
    return dict(_REGISTRY)


def kind_spec(kind: str) -> KindSpec:
    found = kinds().get(kind)
    if found is None:
        raise KeyError(kind)
    return found


def unregister(kind: str) -> None:
    """Remove a kind (for tests that define one of their own)."""
    _REGISTRY.pop(kind, None)


__all__ = [
    "DOWNSTREAM",
    "EITHER",
    "UPSTREAM",
    "Attachment",
    "Component",
    "KindSpec",
    "PortSpec",
    "Protocol",
    "Role",
    "component",
    "kind_spec",
    "kinds",
    "unregister",
]
