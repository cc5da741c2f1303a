"""Endpoint migration (issue 14 item 5): move an endpoint's work to another endpoint mid-run.

A ``migrate:`` entry of the topology (or ``slugsim run --migrate NAME=TARGET@TIME``) names a
coherent device (``type1``/``type2``) with a workload, a spare coherent device elsewhere in the
fabric (another switch port, another switch) and a time. At that time the run goes through
named phases, each timed by the simulation itself:

1. ``QUIESCING``: the source stops taking new operations from its program; operations in
   flight (their D2H requests, ATC misses, evictions for room) complete normally.
2. ``WRITING_BACK``: every line the source still caches leaves it through the coherence
   protocol (``DeviceEvent.EvictNoData``: DirtyEvict from M carries the data home, 64 B over
   the fabric; CleanEvictNoData from E/S carries none). The host's snoop filter forgets the
   source line by line, exactly as for evictions for room, so coherence never depends on a
   side channel: a snoop racing the write-back is answered by the protocol's own rules.
3. ``TRANSFERRING``: the rest of the device's state — its ATC entries (``params.ats``) and the
   program's position — goes from the source to the target as CXL.io traffic over the fabric
   (``StateChunk`` messages routed by DPID through the switches, 64 B of payload each).
4. ``RESUMED``: when the last chunk has arrived the target installs the ATC entries, the host's
   IOMMU maps the workload for the target's PID, and the target continues the program where
   the source stopped. Downtime is quiesce start to this instant.

Warm (``warm: true``): the source's cache moves "as it exists". Before the write-back the
addresses and states of the lines it holds are taken down; they cross to the target with the
rest of the state (8 B a line), and on resume the target re-acquires each line through the
protocol, ahead of the program's next operations and within its ``outstanding`` limit:
``RdShared`` for a line the source held in S, ``RdOwn`` for E or M (CXL_REFERENCE.md §1.3; the
target takes ownership with a read-modify-write that stores the value it read, so the line's
value is unchanged). The write-back itself is the cold one: the data goes home first and the
host's filter forgets the source, so no step depends on anything but the protocol.

Re-routing: PBR IDs and switch tables are computed once, when the graph is built
(``fabric.routing``), and do not change during a run. A migration therefore moves the work
onto an endpoint that already has its PID and routes (the spare); what changes is which PID
the work's requests carry, and the host learns it from the requests themselves (its snoop
filter tracks the target's lines as the target takes them). Bias state: a host-bias Type-2
(``components/type2.py``, the default) has no bias table to move; an HDM-D one (``coherence:
hdm_d``) is refused: its bias table and device accesses belong to its memory, which stays.

A host's workload migrates the same way (``HostMigration``): its cores stop issuing, their
requests drain, its LLC's modified lines are written back to the devices (MemWr), and the
cores' request streams — where each stands — cross to a spare host with the same HDM windows,
whose own root ports and routes then carry the requests. The host's home agent (for coherent
devices) stays where it is: it is the host's memory, not its workload.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import networkx as nx

from ..coherence.device import ALL_LINES, DeviceEvent, DeviceState
from ..coherence.ops import Op as ProtocolOp
from ..contract import kinds
from ..cxl import D2HReqOpcode, MessageClass
from ..fabric.errors import Issue, TopologyError, Where, did_you_mean
from ..fabric.routing import route_path
from ..kernel import NS
from ..kernel.units import parse_time

# The device kinds whose state this module knows how to move (a coherent cache and ATC);
# hosts (kinds whose ports all face devices) move their workload.
MIGRATABLE = ("type1", "type2")
ENTRY_KEYS = {
    "endpoint": "the endpoint whose work moves: a type1/type2 device or a host, with a workload",
    "to": "the spare that continues it: a device for a device, a host for a host",
    "at": "when the source stops taking new operations, e.g. '2us'",
    "warm": "optional, devices: the target re-acquires the lines the source held (default false)",
}
OPTIONAL_KEYS = ("warm",)

LINE_BYTES = 64  # a cache line (CXL_REFERENCE.md §1.1: D2H Data is always a full 64 B line)
# One ATC entry as a Translation Completion carries it: a 64-bit translated address with its
# size and permission bits (PCIe Base Spec, ATS chapter, Translation Completion Data Entry).
ATC_ENTRY_BYTES = 8
# The program's position: which operation comes next, the counters a program keeps (items,
# polls, its value checks) and the think-time state. Our model choice, one line's worth; no
# published figure exists for an accelerator's context record.
CONTEXT_BYTES = 64
# One line of a warm migration's cache directory: its line address (46 bits, CXL_REFERENCE.md
# §1.2's Addr[51:6]) and its state (2 bits), packed into 8 bytes. Our model choice.
LINE_ENTRY_BYTES = 8
# Payload of one state chunk: a line, sent as a data message is (CXL_REFERENCE.md §6.1: a 64 B
# payload with its header occupies 68 B on the wire, 5 of the link's 16 B slots).
CHUNK_PAYLOAD = 64
CHUNK_WIRE_BYTES = 68
MAX_TIME = 2**63 - 1  # ps: the run's times are 64-bit quantities (as config.schema's)
POLL = 1 * NS  # how often a phase checks whether it is over (the error of each phase's end)


class Phase(Enum):
    PENDING = "pending"  # before its time
    QUIESCING = "quiescing"  # no new operations; those in flight finish
    WRITING_BACK = "writing_back"  # cached lines leave through the protocol
    TRANSFERRING = "transferring"  # ATC entries and program position cross the fabric
    RESUMED = "resumed"  # the target runs the program
    STUCK = "stuck"  # nothing left to happen, yet the phase could not end (a bug or deadlock)


@dataclass(frozen=True)
class MigrationSpec:
    """One ``migrate:`` entry: ``endpoint``'s work moves to ``target`` at ``at`` ps."""

    endpoint: str
    target: str
    at: int
    where: Where
    # where each field was written (for messages); default: the entry's place
    places: tuple[tuple[str, Where], ...] = ()
    warm: bool = False  # the target re-acquires the source's lines on resume

    def place(self, key: str) -> Where:
        return dict(self.places).get(key, self.where)


# -- reading and checking entries -------------------------------------------------------------


def parse_entries(document: Any, raw: Any) -> tuple[list[MigrationSpec], list[Issue]]:
    """The ``migrate:`` list of a topology document (``config.yaml_source.Document``)."""
    issues: list[Issue] = []
    specs: list[MigrationSpec] = []
    if raw is None:
        return specs, issues
    example = "e.g. migrate: [{endpoint: acc0, to: acc2, at: 2us}]"
    if not isinstance(raw, list):
        issues.append(Issue(document.where(("migrate",)), "migrate must be a list", example))
        return specs, issues
    for index, item in enumerate(raw):
        path = ("migrate", index)
        if not isinstance(item, dict):
            message = f"migrate[{index}] must be a mapping, got {type(item).__name__}"
            issues.append(Issue(document.where(path), message, example))
            continue
        found = [
            Issue(
                document.where((*path, key)),
                f"unknown field '{key}' in migrate[{index}]",
                f"known fields: {', '.join(ENTRY_KEYS)}{did_you_mean(str(key), ENTRY_KEYS)}",
            )
            for key in item
            if key not in ENTRY_KEYS
        ]
        for key in ENTRY_KEYS:
            if key not in item and key not in OPTIONAL_KEYS:
                found.append(
                    Issue(document.where(path), f"migrate[{index}] needs '{key}'", ENTRY_KEYS[key])
                )
        for key in ("endpoint", "to"):
            if key in item and not isinstance(item[key], str):
                where = document.where((*path, key))
                found.append(Issue(where, f"migrate[{index}].{key} must be a component name", ""))
        warm = item.get("warm", False)
        if not isinstance(warm, bool):
            where = document.where((*path, "warm"))
            found.append(Issue(where, f"migrate[{index}].warm must be true or false", ""))
        at = _time(item.get("at"), document.where((*path, "at")), f"migrate[{index}].at", found)
        if found:
            issues += found
            continue
        places = tuple((key, document.where((*path, key))) for key in ENTRY_KEYS if key in item)
        specs.append(
            MigrationSpec(item["endpoint"], item["to"], at, document.where(path), places, warm)
        )
    return specs, issues


def _time(value: Any, where: Where, what: str, issues: list[Issue]) -> int:
    hint = "a time such as '2us' or '1500ns' within the run (run.stop_time)"
    if value is None:
        return 0  # reported as missing
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        issues.append(Issue(where, f"{what} must be a time, got {value!r}", hint))
        return 0
    if isinstance(value, int | float) and value < 0:
        issues.append(Issue(where, f"{what} is negative ({value!r}): out of range", hint))
        return 0
    try:
        at = parse_time(value)
    except (ValueError, OverflowError, TypeError) as exc:
        issues.append(Issue(where, f"{what}: {exc}", hint))
        return 0
    if at > MAX_TIME:
        issues.append(Issue(where, f"{what} {value!r} is out of range (beyond 2^63 ps)", hint))
        return 0
    return at


CLI_FORM = re.compile(r"^([^=@\s]+)=([^=@\s]+)@([^:\s]+)(:warm)?$")


def parse_cli(text: str) -> MigrationSpec:
    """``NAME=TARGET@TIME[:warm]`` (``slugsim run --migrate``); raises ``TopologyError``."""
    where = Where(f"--migrate {text}")
    match = CLI_FORM.match(text)
    if match is None:
        hint = "write NAME=TARGET@TIME[:warm], e.g. --migrate acc0=acc2@2us:warm"
        raise TopologyError([Issue(where, "not of the form NAME=TARGET@TIME", hint)])
    issues: list[Issue] = []
    at = _time(match[3], where, "the time", issues)
    if issues:
        raise TopologyError(issues)
    return MigrationSpec(match[1], match[2], at, where, warm=match[4] is not None)


def _family(graph: nx.Graph, name: str) -> str | None:
    """'device' (its cache and ATC move), 'host' (its workload moves) or None (neither)."""
    kind = graph.nodes[name]["kind"]
    if kind in MIGRATABLE:
        return "device"
    return "host" if kinds()[kind].home else None


def check_entries(graph: nx.Graph, specs: list[MigrationSpec]) -> list[Issue]:
    """What is wrong with the entries on this graph: names, kinds, the time, the route."""
    issues: list[Issue] = []
    stop_time = graph.graph["run"].stop_time
    used: dict[str, Where] = {}
    movable = sorted(n for n in graph if _family(graph, n) is not None)
    for spec in specs:
        found: list[Issue] = []
        for role, name in (("endpoint", spec.endpoint), ("target", spec.target)):
            key = "endpoint" if role == "endpoint" else "to"
            if name not in graph:
                found.append(
                    Issue(
                        spec.place(key),
                        f"migrate: unknown {role} '{name}'",
                        f"name a host or a type1/type2 device of this topology"
                        f"{did_you_mean(name, movable)}",
                    )
                )
            elif _family(graph, name) is None:
                kind = graph.nodes[name]["kind"]
                found.append(
                    Issue(
                        spec.place(key),
                        f"migrate: {role} '{name}' is a {kind}; only coherent accelerators "
                        f"({', '.join(MIGRATABLE)}) and host workloads migrate",
                        f"name one of {', '.join(movable) or 'none'}",
                    )
                )
            elif name in used:
                found.append(
                    Issue(
                        spec.place(key),
                        f"migrate: '{name}' takes part in another migration (at {used[name]})",
                        "each endpoint is the source or target of one migration",
                    )
                )
        if stop_time is not None and spec.at >= stop_time:
            found.append(
                Issue(
                    spec.place("at"),
                    f"migrate: time {spec.at / 1000:g} ns is out of range: the run stops at "
                    f"{stop_time / 1000:g} ns (run.stop_time)",
                    "choose a time before run.stop_time",
                )
            )
        if found:
            issues += found
            continue
        for key, message, hint in _problems(graph, spec):
            issues.append(Issue(spec.place(key), f"migrate: {message}", hint))
        used.setdefault(spec.endpoint, spec.where)
        used.setdefault(spec.target, spec.where)
    return issues


def _problems(graph: nx.Graph, spec: MigrationSpec) -> list[tuple[str, str, str]]:
    """(field, message, hint) for an entry whose names are known and of movable kinds."""
    from ..components.coherent_params import home_host

    source, target = graph.nodes[spec.endpoint], graph.nodes[spec.target]
    family = _family(graph, spec.endpoint)
    if getattr(source["params"], "coherence", None) == "hdm_d":
        # Its bias table and its device_ops describe and use the memory it holds, which a
        # migration does not move (memory stays where it is, as for a host-bias Type-2).
        message = (
            f"'{spec.endpoint}' holds HDM-D memory: its bias table and its device accesses "
            "belong to that memory, which a migration does not move"
        )
        return [("endpoint", message, "migrate a type1 device or a host-bias type2")]
    problems = []
    if spec.endpoint == spec.target:
        problems.append(("to", "moves an endpoint onto itself", "name another one"))
    if _family(graph, spec.target) != family:
        what = "host" if family == "host" else "type1 or type2 device"
        message = f"'{spec.endpoint}' moves onto a {what}, not a {target['kind']}"
        return [("to", message, f"name a spare {what} (one without a workload)")]
    workload = source["params"].workload
    if workload is None:
        problems.append(
            (
                "endpoint",
                f"'{spec.endpoint}' has no workload to move",
                "give it a workload or migrate another endpoint",
            )
        )
    if target["params"].workload is not None:
        problems.append(
            ("to", f"target '{spec.target}' runs a workload of its own",
             "the target must be a spare: remove its workload"),
        )  # fmt: skip
    if family == "device":
        homes = (
            home_host(graph, spec.endpoint, source["params"]),
            home_host(graph, spec.target, target["params"]),
        )
        if homes[0] != homes[1]:
            problems.append(
                ("to", f"'{spec.target}' is served by host {homes[1]!r}, '{spec.endpoint}' by "
                 f"{homes[0]!r}", "the target needs the same home host (params.host)"),
            )  # fmt: skip
        if _translates(source["params"]) and not _translates(target["params"]):
            problems.append(
                ("to", f"'{spec.endpoint}' translates (params.ats) but '{spec.target}' has no "
                 "ATC", "enable params.ats on the target"),
            )  # fmt: skip
    else:
        if spec.warm:
            problems.append(
                ("warm", f"'{spec.endpoint}' is a host: warm moves a device's cache",
                 "drop warm (a host's LLC is written back and the target starts cold)"),
            )  # fmt: skip
        if workload is not None and workload.target == "local":
            problems.append(
                ("endpoint", f"'{spec.endpoint}'s workload uses its own local DRAM",
                 "only workloads on CXL memory (target: cxl or a device) migrate"),
            )  # fmt: skip
        if source["params"].hdm != target["params"].hdm:
            problems.append(
                ("to", f"'{spec.target}' has other HDM windows than '{spec.endpoint}'",
                 "give the target the same hdm: list, so addresses mean the same memory"),
            )  # fmt: skip
        served = [
            n
            for n, k in graph.nodes(data="kind")
            if k in MIGRATABLE and home_host(graph, n, graph.nodes[n]["params"]) == spec.target
        ]
        if served:
            problems.append(
                ("to", f"'{spec.target}' is the home agent of {', '.join(sorted(served))}",
                 "the spare host must serve no coherent device (their reads share its tags)"),
            )  # fmt: skip
    if not problems and route_path(graph, spec.endpoint, spec.target) is None:
        hint = "link the spare into the same fabric"
        problems.append(("to", f"no route from '{spec.endpoint}' to '{spec.target}'", hint))
    return problems


def _translates(params: Any) -> bool:
    ats = getattr(params, "ats", None)
    return ats is not None and ats.enabled


def attach(graph: nx.Graph, specs: list[MigrationSpec]) -> None:
    """Check ``specs`` on ``graph`` and record them (``graph.graph['migrate']``), or raise."""
    issues = check_entries(graph, [*graph.graph.get("migrate", ()), *specs])
    if issues:
        raise TopologyError(issues)
    graph.graph["migrate"] = (*graph.graph.get("migrate", ()), *specs)


# -- the timed migration ----------------------------------------------------------------------


class StateChunk:
    """One 64 B piece of a device's state on its way to the target (a CXL.io message: it
    travels in the IO class, routed by its DPID like ATS traffic)."""

    __slots__ = ("dpid", "index", "last", "spid")
    VC = int(MessageClass.IO)
    wire_bytes = CHUNK_WIRE_BYTES
    CHANNEL = None
    TAG_FIELD = ADDR_FIELD = OPCODE_FIELD = None

    def __init__(self, spid: int, dpid: int, index: int, last: bool) -> None:
        self.spid = spid
        self.dpid = dpid
        self.index = index
        self.last = last


class Migration:
    """The phases every migration goes through; subclasses say what each phase does to their
    kind of endpoint (``_stop``, ``_drained``, ``_start_write_back``, ``_written_back``,
    ``_state_bytes``, ``_take_over``)."""

    def __init__(self, system: Any, spec: MigrationSpec, poller: Poller) -> None:
        self.spec = spec
        self.sim = system.sim
        self.poller = poller
        self.source = system.components[spec.endpoint]
        self.target = system.components[spec.target]
        self.port = system.fabric.port_towards(spec.endpoint, spec.target)
        self.phase = Phase.PENDING
        self.quiesced_at = self.drained_at = self.written_back_at = self.resumed_at = -1
        self.ops_at_source = 0
        self.in_flight_at_quiesce = 0
        self.dirty_lines = 0  # lines the write-back carried home (64 B each)
        self.clean_lines = 0  # lines given up without data
        self.chunks_sent = 0
        self.chunks_received = 0
        self.warm_lines: list[tuple[int, DeviceState]] = []  # warm: what the source held
        self.reacquired = 0  # warm: lines the target has taken again
        self.warm_done_at = -1  # warm: when the last of them arrived
        # The target takes the chunks; every other message goes to its own handler.
        for attachment in self.target.attachments:
            handler = attachment.port.handler
            attachment.port.handler = self._target_handler(handler)

    def _target_handler(self, handler: Callable[[Any], object]) -> Callable[[Any], object]:
        def receive(msg: Any) -> object:
            if msg.__class__ is StateChunk:
                return self._chunk_arrived(msg)
            return handler(msg)

        return receive

    def start(self) -> None:
        self.sim.schedule_at(self.spec.at, self._quiesce)

    # -- the phases, in order -----------------------------------------------------------------

    def _quiesce(self) -> None:
        self.phase = Phase.QUIESCING
        self.quiesced_at = self.sim.now
        self._stop()
        self._wait(self._drained, self._write_back)

    def _write_back(self) -> None:
        self.phase = Phase.WRITING_BACK
        self.drained_at = self.sim.now
        self._start_write_back()
        self._wait(self._written_back, self._transfer)

    def _transfer(self) -> None:
        self.phase = Phase.TRANSFERRING
        self.written_back_at = self.sim.now
        chunks = -(-self._state_bytes() // CHUNK_PAYLOAD)
        spid, dpid = self.source.pid or 0, self.target.pid or 0
        for index in range(chunks):
            self.port.send(StateChunk(spid, dpid, index, index == chunks - 1))
            self.chunks_sent += 1

    def _chunk_arrived(self, chunk: StateChunk) -> None:
        self.chunks_received += 1
        if chunk.last:
            if self.chunks_received != self.chunks_sent:
                raise AssertionError(f"{self.spec.target}: state chunks arrived out of order")
            self.phase = Phase.RESUMED
            self.resumed_at = self.sim.now
            self._take_over()

    # -- what a kind of endpoint does in each phase ------------------------------------------

    def _stop(self) -> None:
        raise NotImplementedError

    def _drained(self) -> bool:
        raise NotImplementedError

    def _start_write_back(self) -> None:
        raise NotImplementedError

    def _written_back(self) -> bool:
        raise NotImplementedError

    def _state_bytes(self) -> int:
        raise NotImplementedError

    def _take_over(self) -> None:
        raise NotImplementedError

    # -- waiting ------------------------------------------------------------------------------

    def _wait(self, done: Callable[[], bool], then: Callable[[], None]) -> None:
        """Call ``then`` once ``done()`` holds (the poller checks every ``POLL``)."""
        if done():
            then()
        else:
            self.poller.add(self, done, then)

    # -- report -------------------------------------------------------------------------------

    @property
    def atc_entries(self) -> int:
        return 0

    @property
    def bytes_moved(self) -> dict[str, int]:
        sent = self.chunks_sent * CHUNK_PAYLOAD
        written = self.dirty_lines * LINE_BYTES
        return {"written_back": written, "state": sent, "total": written + sent}

    def stats(self) -> dict[str, Any]:
        def at(t: int) -> float:
            return round(t / 1000, 3) if t >= 0 else -1.0

        def span(a: int, b: int) -> float:
            return round((b - a) / 1000, 3) if a >= 0 and b >= 0 else -1.0

        return {
            "target": self.spec.target,
            "phase": self.phase.value,
            "at_ns": at(self.spec.at),
            "drained_ns": at(self.drained_at),
            "written_back_ns": at(self.written_back_at),
            "resumed_ns": at(self.resumed_at),
            "downtime_ns": span(self.quiesced_at, self.resumed_at),
            "drain_ns": span(self.quiesced_at, self.drained_at),
            "write_back_ns": span(self.drained_at, self.written_back_at),
            "transfer_ns": span(self.written_back_at, self.resumed_at),
            "in_flight_at_quiesce": self.in_flight_at_quiesce,
            "ops_at_source": self.ops_at_source,
            "lines_written_back": self.dirty_lines,
            "lines_dropped": self.clean_lines,
            "atc_entries": self.atc_entries,
            "state_chunks": self.chunks_sent,
            "bytes_moved": self.bytes_moved,
            "warm": self.spec.warm,
            "lines_reacquired": self.reacquired,
            "warm_up_ns": span(self.resumed_at, self.warm_done_at),
        }


class DeviceMigration(Migration):
    """Moves a coherent device's program, cache contents and ATC to a spare device."""

    def __init__(self, system: Any, spec: MigrationSpec, poller: Poller) -> None:
        super().__init__(system, spec, poller)
        self.host = system.components.get(self.source.home or "")
        self._translations: dict[Any, Any] = {}
        self._dirty_before = 0
        self.target.paused = True  # it runs nothing until the program arrives

    @property
    def atc_entries(self) -> int:
        return len(self._translations)

    def _stop(self) -> None:
        self.in_flight_at_quiesce = self.source.in_flight_ops
        self.source.paused = True

    def _drained(self) -> bool:
        s = self.source
        return (
            not (s.in_flight_ops or s.pending or s.waiting or s.translating or s.untranslated)
            and not s.follow_ups
        )

    def _start_write_back(self) -> None:
        source = self.source
        program = source.program
        self.ops_at_source = program.completed if program is not None else 0
        self._dirty_before = source.d2h_requests[D2HReqOpcode.DIRTYEVICT]
        if self.spec.warm:  # the directory of the cache as it is, before it leaves
            cache = source.cache
            self.warm_lines = [
                (line, cache.line_state(line))
                for line in sorted(cache.lines)
                if line != ALL_LINES and cache.line_state(line) in _STABLE
            ]
        self._evict_all()

    def _evict_all(self) -> None:
        """Give every stable line to the protocol's eviction (what evictions for room do)."""
        from ..components.coherent_device import Pending

        source = self.source
        cache = source.cache
        for line in sorted(cache.lines):
            state = cache.line_state(line)
            if line == ALL_LINES or state not in _STABLE or cache.busy(line):
                continue
            resident = source.sets.get(line % source.nsets)
            if resident is not None:
                resident.pop(line, None)
            evict = ProtocolOp(DeviceEvent.EvictNoData, line)
            pending = Pending(None, self.sim.now)
            pending.first = line
            source.pending[id(evict)] = pending
            if source._fire_issue(pending, evict):
                self.clean_lines += 1  # sorted out by _written_back
            else:
                del source.pending[id(evict)]  # busy after all: the next poll retries it

    def _written_back(self) -> bool:
        source = self.source
        cache = source.cache
        if source.pending:
            return False
        if any(cache.line_state(x) in _STABLE for x in cache.lines if x != ALL_LINES):
            self._evict_all()
            return False
        # Of the lines evicted, those that were M sent DirtyEvict with their data (a snoop may
        # have taken an M line first: its data went home with the snoop response).
        self.dirty_lines = source.d2h_requests[D2HReqOpcode.DIRTYEVICT] - self._dirty_before
        self.clean_lines -= self.dirty_lines
        return True

    def _state_bytes(self) -> int:
        atc = self.source.atc
        if atc is not None:
            self._translations = atc.translations()
        directory = len(self.warm_lines) * LINE_ENTRY_BYTES
        return len(self._translations) * ATC_ENTRY_BYTES + directory + CONTEXT_BYTES

    def _take_over(self) -> None:
        source, target = self.source, self.target
        if target.atc is not None:
            _install(target.atc, self._translations)
            self._map_for_target()
        if target.program is None:
            target.program = source.program
            if self.warm_lines and target.program is not None:
                target.program = WarmStart(target, target.program, self.warm_lines, self._warmed)
        # else: a replay re-drives the target from its own trace (record/device_player.py):
        # the recorded migration moved the work, and the target's trace holds its part of it,
        # re-acquisitions included
        source.program = None
        target.think_time = source.think_time
        target.poll_interval = source.poll_interval
        target.paused = False
        if target.program is not None:
            target.pump()

    def _warmed(self) -> None:
        self.reacquired = len(self.warm_lines)
        self.warm_done_at = self.sim.now

    def _map_for_target(self) -> None:
        """The host's IOMMU translates the moved workload for the target's PID too (the
        source's mappings, one to one, as ``Host._connect_iommu`` made them)."""
        from ..ats.iommu import LARGE_SHIFT, PAGE_SHIFT

        iommu = getattr(self.host, "iommu", None)
        workload = self.source.params.workload
        if iommu is None or workload is None:
            return
        pid = self.target.pid or 0
        shift = LARGE_SHIFT if self.source.params.ats.large_pages else PAGE_SHIFT
        first = workload.base >> shift
        last = (workload.base + workload.footprint - 1) >> shift
        for page in range(first, last + 1):
            addr = page << shift
            iommu.map(pid, addr, addr, large=shift == LARGE_SHIFT)


class WarmStart:
    """The target's program right after a warm resume: first one operation per line the
    source held (a load for S: RdShared; a read-modify-write storing the value it read for
    E/M: RdOwn, CXL_REFERENCE.md §1.3), then the moved program's own. It stands in for the
    program (everything else is the program's) and hands it back to the device when the last
    line has arrived."""

    def __init__(
        self,
        device: Any,
        program: Any,
        lines: list[tuple[int, DeviceState]],
        done: Callable[[], None],
    ) -> None:
        self.device = device
        self.program = program
        self.lines = list(lines)
        self.next_line = 0
        self.warming: dict[int, Any] = {}  # id(op) -> op, re-acquisitions in flight
        self.done = done

    def __getattr__(self, name: str) -> Any:
        return getattr(self.program, name)

    @property
    def backoff(self) -> bool:
        return bool(self.program.backoff)

    @backoff.setter
    def backoff(self, value: bool) -> None:
        self.program.backoff = value

    def next(self) -> Any:
        from ..workloads.coherent import Op, OpKind

        if self.next_line < len(self.lines):
            line, state = self.lines[self.next_line]
            self.next_line += 1
            if state is DeviceState.S:
                op = Op(OpKind.LOAD, line)
            else:
                op = Op(OpKind.RMW, line, update=_same)
            self.warming[id(op)] = op
            return op
        return self.program.next()

    def complete(self, op: Any, value: int) -> None:
        if self.warming.pop(id(op), None) is None:
            self.program.complete(op, value)
            return
        if not self.warming and self.next_line == len(self.lines):
            self.device.program = self.program
            self.done()


def _same(value: int) -> int:
    return value


class HostMigration(Migration):
    """Moves a host's workload — its cores' request streams, where each stands — to a spare
    host with the same HDM windows. The source's LLC is written back first (its modified
    lines go to the devices as MemWr), so the target starts from memory that holds them."""

    def _stop(self) -> None:
        source = self.source
        self.in_flight_at_quiesce = source.issued - source.completed
        source.paused = True

    def _drained(self) -> bool:
        return bool(self.source.issued == self.source.completed)

    def _start_write_back(self) -> None:
        from ..components.cache import LineState

        source = self.source
        self.ops_at_source = source.completed
        now = self.sim.now
        for line, state in source.llc.resident():
            if state is LineState.MODIFIED:
                source.write_back(line << 6, now)
                self.dirty_lines += 1
            else:
                self.clean_lines += 1
            source.llc.invalidate(line)

    def _written_back(self) -> bool:
        source = self.source
        tags = source.next_writeback_tag - len(source.slots)  # tags ever taken beyond the slots'
        busy = tags - len(source.free_writeback_tags) - len(source.home_reads)
        return not source.waiting_writebacks and busy == 0

    def _state_bytes(self) -> int:
        return CONTEXT_BYTES * len(self.source.cores)  # one context record per core

    def _take_over(self) -> None:
        from ..components.host import Core, Slot

        source, target = self.source, self.target
        if not source.cores:
            return  # nothing to run (its workload never started)
        target.space = source.space
        target.read_ratio = source.read_ratio
        target.think_time = source.think_time
        per_core = len(source.slots) // len(source.cores)
        # The source's cores keep their counts (what they issued); the target's start where
        # they stopped, drawing from the same address streams.
        target.cores = [Core(core.remaining, core.addresses) for core in source.cores]
        target.slots = [
            Slot(tag, core)
            for tag, core in enumerate(c for c in target.cores for _ in range(per_core))
        ]
        target.next_writeback_tag = len(target.slots)
        for slot in target.slots:
            self.sim.schedule(0, target.issue, slot)


_STABLE = (DeviceState.S, DeviceState.E, DeviceState.M)


def _install(atc: Any, translations: dict[tuple[int, bool], Any]) -> None:
    """Put the moved translations into the target's ATC (as fills of the sets they map to)."""
    for (key, large), entry in sorted(translations.items()):
        array = atc._large if large else atc._small[key % atc.sets]
        array.fill(key, entry)


class Poller:
    """Checks every waiting phase each ``POLL`` until it may end. One poller serves all the
    migrations of a run, so that it can tell when nothing else is left to happen: when on two
    ticks running the event queue holds nothing but the poller's own tick, the phases still
    waiting can never end and are marked ``STUCK`` instead of polling forever. (Two ticks, as
    callbacks of the current timestamp are not in the queue ``peek`` reads.)"""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.waiting: list[tuple[Migration, Callable[[], bool], Callable[[], None]]] = []
        self.scheduled = False  # a tick is in the queue
        self.idle_ticks = 0  # ticks in a row that found nothing else in the queue

    def add(self, migration: Migration, done: Callable[[], bool], then: Callable[[], None]) -> None:
        self.waiting.append((migration, done, then))
        self._schedule()

    def _schedule(self) -> None:
        if not self.scheduled:
            self.scheduled = True
            self.sim.schedule(POLL, self.tick)

    def tick(self) -> None:
        self.scheduled = False
        waiting, self.waiting = self.waiting, []
        for migration, done, then in waiting:
            if done():
                then()  # the next phase may add a wait of its own
            else:
                self.waiting.append((migration, done, then))
        if not self.waiting:
            return
        self.idle_ticks = self.idle_ticks + 1 if self.sim.peek() is None else 0
        if self.idle_ticks >= 2:
            for migration, _, _ in self.waiting:
                migration.phase = Phase.STUCK
            self.waiting = []
            return
        self._schedule()


def install(system: Any) -> list[Migration]:
    """The migrations of the system's graph, ready to start with the run."""
    migrations: list[Migration] = []
    poller = Poller(system.sim)
    for spec in system.graph.graph.get("migrate", ()):
        kind = system.graph.nodes[spec.endpoint]["kind"]
        cls = DeviceMigration if kind in MIGRATABLE else HostMigration
        migrations.append(cls(system, spec, poller))
    for migration in migrations:
        migration.start()
    return migrations


def summary(migrations: list[Migration]) -> dict[str, Any]:
    """stats.json's ``migration`` section."""
    entries = {m.spec.endpoint: m.stats() for m in migrations}
    return {
        "entries": entries,
        "downtime_ns": round(sum(max(0.0, e["downtime_ns"]) for e in entries.values()), 3),
        "bytes_moved": sum(e["bytes_moved"]["total"] for e in entries.values()),
    }


def stats_schema() -> dict[str, Any]:
    from ..stats.schema import INT, NUM, STRING, described, map_of, obj

    time = "ns, -1 when the phase was not reached"
    entry = obj(
        {
            "target": described(STRING, "the device that continued it"),
            "phase": {
                **STRING,
                "enum": [p.value for p in Phase],
                "description": "where the migration ended: 'resumed' when it completed",
            },
            "at_ns": described(NUM, "when the source stopped taking operations (quiesce start)"),
            "drained_ns": described(NUM, f"when its last operation completed ({time})"),
            "written_back_ns": described(NUM, f"when its last line had left it ({time})"),
            "resumed_ns": described(NUM, f"when the target took over the program ({time})"),
            "downtime_ns": described(NUM, f"quiesce start to resume ({time})"),
            "drain_ns": described(NUM, f"quiesce start to drained ({time})"),
            "write_back_ns": described(NUM, f"drained to the last line gone ({time})"),
            "transfer_ns": described(NUM, f"state transfer over the fabric ({time})"),
            "in_flight_at_quiesce": described(INT, "operations in flight when quiesce began"),
            "ops_at_source": described(INT, "program operations the source completed"),
            "lines_written_back": described(INT, "DirtyEvicts of the write-back (64 B each)"),
            "lines_dropped": described(INT, "lines given up without data (CleanEvictNoData)"),
            "atc_entries": described(INT, "ATC entries moved (8 B each)"),
            "state_chunks": described(
                INT, "64 B CXL.io chunks of ATC entries, context and (warm) the line directory"
            ),
            "warm": described(
                {"enum": [False, True]}, "the target re-acquired the source's lines on resume"
            ),
            "lines_reacquired": described(INT, "warm: lines the target took again (8 B each)"),
            "warm_up_ns": described(NUM, f"warm: resume to the last line re-acquired ({time})"),
            "bytes_moved": obj(
                {
                    "written_back": described(INT, "dirty data carried home by the write-back"),
                    "state": described(INT, "state chunks' payload, source to target"),
                    "total": described(INT, "written_back + state"),
                },
                "bytes the migration put on the fabric",
            ),
        },
        "one migration",
    )
    return obj(
        {
            "entries": map_of(entry, "by the device whose work moved"),
            "downtime_ns": described(NUM, "sum of the migrations' downtimes"),
            "bytes_moved": described(INT, "sum of the migrations' bytes moved"),
        },
        "endpoint migrations (only with migrate: entries or --migrate)",
    )
