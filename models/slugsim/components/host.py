"""A host: cores issuing loads and stores, an LLC, a home agent with local DRAM and HDM decoders.

Each core keeps ``outstanding`` requests in flight (one for a dependent pointer chase). A request
slot is numbered and its number is the CXL.mem tag (16 bits), so no tag is ever allocated on the
hot path. One request costs the host one event:

- the slot's issue callback runs at the core's issue time, looks the line up in the LLC and
  either completes on a hit (``llc_latency``), starts a local DRAM access, or sends an M2S
  ``MemRd`` on the port towards the decoded device. The miss path (LLC lookup, home agent, root
  port) is the egress channel's ``pipeline``, so the message leaves ``llc_latency`` later
  without an event of its own;
- the response handler records the latency and issues the slot's next request at once.

Stores are write-allocate: a store miss reads the line (``MemRd``, as an RFO) and dirties it; a
dirty victim is written back with ``MemWr`` (tags above the request slots) and completes on an
NDR ``Cmp``. The victim is chosen at lookup time (the model keeps tags only).

Latency is measured from issue to data at the core, per request class (read/write) and path
(``llc``, ``local``, ``cxl:<device>``).
"""

from __future__ import annotations

import random
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..cxl import M2SReqOpcode, M2SRwDOpcode
from ..fabric.params import HostParams
from ..kernel import Channel, Component, Simulator
from ..workloads import Generator, make_generator
from .dram import DramChannel
from .hdm import HdmDecoder
from .llc import Llc
from .routed import RoutedM2SReq, RoutedM2SRwD

MAX_TAGS = 1 << 16  # CXL.mem Tag is 16 bits (CXL_REFERENCE.md §2.1)

_MEMRD = M2SReqOpcode.MEMRD
_MEMWR = M2SRwDOpcode.MEMWR
_make_req = RoutedM2SReq.make
_make_rwd = RoutedM2SRwD.make


class Budget:
    """Completed-request count shared by all hosts; stops the run when ``left`` reaches 0.

    It also keeps the time of the latest completion: the end of the measured run. One shared,
    hot object holds these rather than a counter per host, because at fabric scale every
    update of a per-host int frees an old int that is rarely still in cache."""

    __slots__ = ("completed", "last_completion", "left", "sim")

    def __init__(self, sim: Simulator, limit: int | None) -> None:
        self.sim = sim
        self.completed = 0
        self.last_completion = 0
        self.left = -1 if limit is None else limit


@dataclass(frozen=True)
class CxlTarget:
    """A device this host reaches through an HDM window."""

    name: str
    pid: int
    ld_id: int
    send: Callable[[Any], None]


@dataclass(frozen=True)
class AddressSpace:
    """Where a workload's footprint lives: ``addr = base + line * 64`` when ``mapper`` is None."""

    base: int
    lines: int
    mapper: Callable[[int], int] | None = None


class HostCore:
    """The host's request engine. It is slotted (the kernel's ``Component`` is not) because at
    fabric scale hundreds of hosts are active and compact slots keep the per-request memory
    traffic, not the instruction count, from growing with the fabric."""

    # What a CXL request reads comes first, in the order it reads it, so that a request
    # touches two or three cache lines of the core rather than six. The request path calls
    # methods of ``llc`` and of the generators rather than bound methods kept here: a bound
    # method is one more object per host to fetch from memory.
    __slots__ = (  # noqa: RUF023
        "_slots",
        "_mapper",
        "_base",
        "_read_ratio",
        "sim",
        "llc",
        "decoder",
        "_t_route",
        "pid",
        "nslots",
        "_cxl_samples",
        "budget",
        "_think",
        "_hit_samples",
        "_llc_latency",
        "_local_samples",
        "_random",
        "_wb_next",
        "dram",
        "generators",
        "local_reads",
        "local_writebacks",
        "local_writes",
        "name",
        "params",
        "rng",
        "samples",
        "space",
        "target_writebacks",
        "targets",
        "violations",
        "wb_free",
        "wb_pending",
    )

    def __init__(
        self,
        sim: Simulator,
        name: str,
        params: HostParams,
        pid: int,
        budget: Budget,
        rng: random.Random,
    ) -> None:
        self.sim = sim
        self.name = name
        self.rng = rng
        self.params = params
        self.pid = pid
        self.budget = budget
        self.llc = Llc(params.llc_size, params.llc_ways)
        # Local DRAM: the home agent's memory controller behind the LLC.
        self.dram = DramChannel(params.dram_latency, params.dram_bandwidth)
        self.targets: list[CxlTarget] = []
        # Per target: (egress channel, LD-ID, PID), one tuple so a request reads one object,
        # not three. The channel rather than its bound ``send``: one object fewer per request.
        self._t_route: list[tuple[Channel, int, int]] = []
        self.target_writebacks: list[int] = []
        self.decoder: HdmDecoder | None = None
        self.space: AddressSpace | None = None
        self.generators: list[Generator] = []
        self._slots: list[Any] = []
        self.nslots = 0
        self.violations = 0
        self.local_reads = 0
        self.local_writes = 0
        self.local_writebacks = 0
        self.wb_pending: deque[int] = deque()
        self.wb_free: deque[int] = deque()
        self._wb_next = 0
        # Latency samples (ps) by (class, path); filled in place, read by slugsim.stats.
        self.samples: dict[tuple[str, str], array[int]] = {}

    # -- elaboration -------------------------------------------------------------------------

    def add_target(self, name: str, pid: int, ld_id: int, tx: Channel) -> int:
        """Device ``name`` (PID ``pid``, our LD-ID ``ld_id`` on it) is reached through ``tx``."""
        self.targets.append(CxlTarget(name, pid, ld_id, tx.send))
        # Per-target columns, so the hot path indexes lists instead of reading attributes.
        self._t_route.append((tx, ld_id, pid))
        self.target_writebacks.append(0)
        return len(self.targets) - 1

    def start(self, space: AddressSpace) -> None:
        """Create the per-core generators and slots and schedule the first issues at t=0."""
        params = self.params
        workload = params.workload
        if workload is None:
            return
        self.space = space
        self._hit_samples = (self._samples("read", "llc"), self._samples("write", "llc"))
        self._local_samples = (self._samples("read", "local"), self._samples("write", "local"))
        # Flat, indexed by a slot's kind (2 * target + write).
        self._cxl_samples = [
            self._samples(cls, f"cxl:{t.name}") for t in self.targets for cls in ("read", "write")
        ]
        gens = [
            make_generator(workload, space.lines, core, params.cores, self.rng)
            for core in range(params.cores)
        ]
        per_core = 1 if gens[0].dependent else params.outstanding
        self.nslots = params.cores * per_core
        if self.nslots >= MAX_TAGS:
            raise ValueError(
                f"host {self.name}: {params.cores} cores x {per_core} outstanding needs "
                f"{self.nslots} tags; CXL.mem tags are 16 bits, keep the product below 65536"
            )
        self.generators = gens
        self._base = space.base
        self._mapper = space.mapper
        self._random = self.rng.random
        self._llc_latency = params.llc_latency
        # The state of slots and cores in one flat list, one object to fetch per request rather
        # than five. Per slot, three entries: where its core's entries are; the issue time of
        # its CXL request in flight; and that request's kind, 2 * target + write (which
        # _cxl_samples array its completion goes to), or -1 when none is in flight (a small
        # int, cached by CPython, so storing one frees nothing). Then per core, two entries:
        # requests left to issue and the address generator.
        first_core = 3 * self.nslots
        slots: list[Any] = [0, 0, -1] * self.nslots
        slots[::3] = [first_core + 2 * (slot // per_core) for slot in range(self.nslots)]
        for gen in gens:
            slots += [workload.requests, gen]
        self._slots = slots
        self.wb_free.clear()
        self._wb_next = self.nslots  # writeback tags are handed out from here on first use
        self._think = workload.think_time
        self._read_ratio = workload.read_ratio
        for slot in range(self.nslots):
            self.sim.schedule(0, self.issue, slot)

    def _samples(self, cls: str, path: str) -> array[int]:
        return self.samples.setdefault((cls, path), array("q"))

    # Derived rather than counted on the hot path (see ``Budget``).
    @property
    def remaining(self) -> list[int]:
        """Requests each core has still to issue."""
        return self._slots[3 * self.nslots :: 2]

    @property
    def issued(self) -> int:
        workload = self.params.workload
        remaining = self.remaining
        if workload is None or not remaining:
            return 0
        return workload.requests * len(remaining) - sum(remaining)

    def _in_flight(self, kind: int) -> int:
        kinds = self._slots[2 : 3 * self.nslots : 3]  # the slots' entries only, not the cores'
        return sum(1 for k in kinds if k == kind)

    # CXL requests per target, derived like ``issued``: completed (one latency sample each)
    # plus in flight.
    @property
    def target_reads(self) -> list[int]:
        return [self._cxl_count(2 * t) for t in range(len(self.targets))]

    @property
    def target_rfo(self) -> list[int]:
        return [self._cxl_count(2 * t + 1) for t in range(len(self.targets))]

    def _cxl_count(self, kind: int) -> int:
        done = len(self._cxl_samples[kind]) if self.nslots else 0
        return done + self._in_flight(kind)

    @property
    def completed(self) -> int:
        """Every completion records exactly one latency sample."""
        return sum(len(samples) for samples in self.samples.values())

    # -- hot path ----------------------------------------------------------------------------

    def issue(self, slot: int) -> None:
        """Issue the slot's next request (called at the core's issue time)."""
        slots = self._slots
        core = slots[3 * slot]
        left = slots[core]
        if left == 0:
            return
        slots[core] = left - 1
        line = slots[core + 1].next()
        mapper = self._mapper
        addr = self._base + (line << 6) if mapper is None else mapper(line)
        write = self._read_ratio < 1.0 and self._random() >= self._read_ratio
        sim = self.sim
        now = sim.now
        victim = self.llc.access(addr >> 6, write)
        if victim == -2:
            latency = self._llc_latency
            self._hit_samples[write].append(latency)
            self._complete(now + latency)
            sim.schedule(latency + self._think, self.issue, slot)
            return
        if victim >= 0:
            self._write_back(victim << 6, now)
        decoder = self.decoder
        target = -1 if decoder is None else decoder.decode(addr)
        if target < 0:
            # Local DRAM behind the home agent; the miss path is the LLC lookup.
            if write:
                self.local_writes += 1
            else:
                self.local_reads += 1
            done = self.dram.access(now + self._llc_latency)
            self._local_samples[write].append(done - now)
            self._complete(done)
            sim.schedule_at(done + self._think, self.issue, slot)
            return
        slots[3 * slot + 1] = now
        slots[3 * slot + 2] = 2 * target + write
        tx, ld, pid = self._t_route[target]
        tx.send(_make_req(_MEMRD, slot, addr, ld, self.pid, pid))

    def on_response(self, msg: Any) -> None:
        """Port handler: S2M DRS for a request slot, or NDR Cmp for a writeback."""
        tag = msg.tag
        now = self.sim.now
        if tag >= self.nslots:
            self._write_back_done(tag, now)
            return
        if msg.poison:
            # MemData-NXM: the device refused the access (no LD of ours decodes it).
            self.violations += 1
        slots = self._slots
        at = 3 * tag
        self._cxl_samples[slots[at + 2]].append(now - slots[at + 1])
        slots[at + 2] = -1
        self._complete(now)
        think = self._think
        if think:
            self.sim.schedule(think, self.issue, tag)
        else:
            self.issue(tag)

    def _complete(self, when: int) -> None:
        budget = self.budget
        if when > budget.last_completion:
            budget.last_completion = when
        budget.completed += 1
        budget.left -= 1
        if budget.left == 0:
            budget.sim.stop()

    # -- writebacks --------------------------------------------------------------------------

    def _write_back(self, addr: int, now: int) -> None:
        decoder = self.decoder
        target = -1 if decoder is None else decoder.decode(addr)
        if target < 0:
            self.local_writebacks += 1
            self.dram.write(now + self.params.llc_latency)
            return
        if self.wb_free:
            tag = self.wb_free.popleft()
        elif self._wb_next < MAX_TAGS:
            tag = self._wb_next
            self._wb_next += 1
        else:
            # Every tag is in flight: the writeback waits for one to complete.
            self.wb_pending.append(addr)
            return
        self._send_write_back(tag, addr, target)

    def _send_write_back(self, tag: int, addr: int, target: int) -> None:
        self.target_writebacks[target] += 1
        tx, ld, pid = self._t_route[target]
        tx.send(_make_rwd(_MEMWR, tag, addr, ld, self.pid, pid))

    def _write_back_done(self, tag: int, now: int) -> None:
        if self.wb_pending:
            addr = self.wb_pending.popleft()
            self._send_write_back(tag, addr, self.decoder.decode(addr))  # type: ignore[union-attr]
        else:
            self.wb_free.append(tag)


class Host(Component):
    """The host component: it owns the ports and RNG stream; ``core`` runs the requests.

    Attribute reads that the component does not answer itself (``issued``, ``llc``,
    ``samples`` ...) are forwarded to ``core``.
    """

    def __init__(self, sim: Simulator, name: str, params: HostParams, pid: int, budget: Budget):
        super().__init__(sim, name)
        self.params = params
        self.pid = pid
        self.core = HostCore(sim, name, params, pid, budget, self.rng)

    def __getattr__(self, name: str) -> Any:
        if name == "core":  # not built yet: avoid recursing while __init__ runs
            raise AttributeError(name)
        return getattr(self.core, name)
