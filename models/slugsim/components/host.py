"""A host: cores issuing loads and stores, an LLC, a home agent with local DRAM and HDM decoders.

Each core keeps ``outstanding`` requests in flight (one for a dependent pointer chase), each in a
``Slot`` whose number is its CXL.mem tag (16 bits), so no tag is allocated per request. A
request costs the host one event:

- a slot issues at its core's issue time: it looks the line up in the LLC and either completes
  on a hit (``llc_latency``), starts a local DRAM access, or sends an M2S ``MemRd`` on the port
  towards the decoded device. The miss path (LLC lookup, home agent, root port) is the port's
  ``pipeline``, so the message leaves ``llc_latency`` later without an event of its own;
- the response handler records the latency and issues the slot's next request at once.

Stores are write-allocate: a store miss reads the line (``MemRd``, as an RFO) and dirties it; a
dirty victim is written back with ``MemWr`` (tags above the request slots) and completes on an
NDR ``Cmp``. Latency is measured from issue to data at the core, per request class (read/write)
and path (``llc``, ``local``, ``cxl:<device>``), into constant-memory histograms
(``slugsim.stats.histogram``); with a request log attached (``slugsim run --log-requests``) each
completed request is also written as a row.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..contract import DOWNSTREAM, Component, PortSpec, component, kind_spec
from ..cxl import M2SReq, M2SReqOpcode, M2SRwD, M2SRwDOpcode, MessageClass
from ..fabric.errors import Issue, Where, did_you_mean
from ..fabric.params import HdmWindow, WorkloadParams, doc, format_size
from ..kernel import NS, Port, SimulationError
from ..stats.histogram import LatencyHistogram
from ..stats.request_log import RequestLog
from ..workloads import Generator, make_generator
from .cache import MODIFIED, Cache, Hit
from .dram_timing import make_dram
from .hdm import NO_WINDOWS, HdmDecoder

if TYPE_CHECKING:
    from ..ats.iommu import Iommu
    from .devmem_timing import TimedHostMem
    from .home_agent import TimedHomeAgent
    from .translation_agent import TimedTranslationAgent

MAX_TAGS = 1 << 16  # CXL.mem Tag is 16 bits (CXL_REFERENCE.md §2.1)
# HDM decoders interleave over 1, 2, 4, 8, 16 or 3, 6, 12 targets (CXL 2.0+ decoder IW encodings).
INTERLEAVE_WAYS = (1, 2, 3, 4, 6, 8, 12, 16)
# CXL.mem carries Addr[51:6]: a 52-bit host physical address space (CXL_REFERENCE.md §2.1).
ADDRESS_LIMIT = 1 << 52

# Requests are built without range checks: tags are below 2**16 (checked at start), addresses
# line-aligned inside validated HDM windows, LD-IDs and PIDs below their limits (validation).
_memrd = M2SReq.unchecked("opcode", "tag", "addr", "ld_id", "spid", "dpid")
_memwr = M2SRwD.unchecked("opcode", "tag", "addr", "ld_id", "spid", "dpid")
_MEMRD = M2SReqOpcode.MEMRD
_MEMWR = M2SRwDOpcode.MEMWR
_D2H_REQ = int(MessageClass.D2H_REQ)  # D2H Req, Rsp, Data: classes 6 .. 8
_IO = int(MessageClass.IO)  # ATS on CXL.io


@dataclass(frozen=True)
class HostParams:
    cores: int = field(default=1, metadata=doc("cores issuing requests", ge=1, le=4096))
    outstanding: int = field(
        default=10, metadata=doc("outstanding misses per core", ge=1, le=65536)
    )
    llc_size: int = field(
        default=32 << 20, metadata=doc("last-level cache size", unit="size", ge=1)
    )
    llc_ways: int = field(default=16, metadata=doc("LLC associativity", ge=1, le=1024))
    # Calibration (slugsim calibrate): llc_latency + dram_latency = the 130 ns idle local DDR
    # load of CXL_REFERENCE.md §7b (Vistara, AMD Turin); the 20/110 split is derived, no
    # measurement gives it. llc_latency is also the miss path to the CXL root port.
    llc_latency: int = field(default=20 * NS, metadata=doc("LLC hit latency", unit="time"))
    dram_latency: int = field(
        default=110 * NS, metadata=doc("local DRAM latency after the LLC miss", unit="time")
    )
    dram_size: int = field(default=64 << 30, metadata=doc("local DRAM capacity", unit="size"))
    # 12 x DDR5-6400 x 8 B = 614.4 GB/s, the calibration platform (CXL_REFERENCE.md §7b).
    dram_bandwidth: int = field(
        default=614_400 * 10**6, metadata=doc("local DRAM bandwidth", unit="bandwidth", ge=1)
    )
    # "simple" (dram_latency, dram_bandwidth: components/dram.py) keeps every calibrated figure
    # as it was; "timing" is the bank/row/refresh model of components/dram_timing.py.
    dram_model: Literal["simple", "timing"] = field(
        default="simple", metadata=doc("local DRAM model: simple (bandwidth server) or timing")
    )
    dram_preset: Literal["ddr4-2400", "ddr5-4400", "ddr5-4800", "ddr5-6400"] = field(
        default="ddr5-6400", metadata=doc("DRAM speed bin of the timing model")
    )
    # 12 x DDR5-6400: the calibration platform (CXL_REFERENCE.md §7b).
    dram_channels: int = field(
        default=12, metadata=doc("64-bit DRAM channels of the timing model", ge=1, le=64)
    )
    # One rank per channel unless a platform's DIMM population says more (docs/dram.md).
    dram_ranks: int = field(
        default=1, metadata=doc("ranks per channel of the timing model", ge=1, le=16)
    )
    # Derived: 130 ns idle (§7b) - llc_latency 20 - a DDR5-6400 row miss (tRCD + CL + burst =
    # 35 ns) = 75. A dependent chase finds its bank precharged: 768 banks, and an all-bank
    # refresh closes them every tREFI (3.9 us, 30 loads).
    dram_page_policy: Literal["open", "closed"] = field(
        default="open",
        metadata=doc("timing model: keep rows open after an access, or precharge at once"),
    )
    dram_controller_latency: int = field(
        default=75 * NS,
        metadata=doc("timing model: read latency outside the DRAM (controller, mesh)", unit="time"),
    )
    hdm: tuple[HdmWindow, ...] = field(default=(), metadata=doc("HDM decoders"))
    workload: WorkloadParams | None = field(default=None, metadata=doc("traffic generator"))
    # Assumption: 1024 sets x 16 ways tracks 1 MiB of device-cached lines. CXL_REFERENCE.md §5
    # reports Skylake-SP's SF as 12-way; the filter's tree pseudo-LRU needs a power of two.
    sf_sets: int = field(
        default=1024,
        metadata=doc("snoop filter sets (a power of two; coherent devices)", ge=1, le=1 << 20),
    )
    sf_ways: int = field(
        default=16, metadata=doc("snoop filter ways (a power of two)", ge=1, le=64)
    )
    # Issue 13: "check" refuses a translated CXL.cache request outside what the IOMMU granted
    # the device; "trust_translated" is the insecure host that lets every one through.
    iommu_policy: Literal["check", "trust_translated"] = field(
        default="check",
        metadata=doc("IOMMU: check devices' translated requests against their grants, or trust"),
    )
    # Issue 12: the share of the host's caches that holds lines of an HDM-DB device's memory.
    # Assumption: 64 KiB (1024 lines); the device-SF sizing sweep varies it against the filter
    # (CXL_REFERENCE.md §3.2: track >= 4x the host caching).
    devmem_cache: int = field(
        default=64 << 10,
        metadata=doc("HDM-DB: bytes of the device's memory the host may cache", unit="size", ge=64),
    )


@dataclass(frozen=True)
class AddressSpace:
    """Where a workload's footprint lives: ``addr = base + line * 64`` unless ``mapper`` maps
    the line (a workload aimed at one device of an interleaved window)."""

    base: int
    lines: int
    mapper: Callable[[int], int] | None = None

    def address(self, line: int) -> int:
        return self.base + (line << 6) if self.mapper is None else self.mapper(line)


class Target:
    """A device this host reaches through an HDM window, and the traffic it sent there."""

    __slots__ = ("latency", "ld_id", "name", "path", "pid", "port", "writebacks")

    def __init__(self, name: str, pid: int, ld_id: int, port: Port) -> None:
        self.name = name
        self.pid = pid
        self.ld_id = ld_id
        self.port = port
        self.path = f"cxl:{name}"
        # Latencies (ps) of completed loads [0] and store misses [1] served here; their counts
        # are the requests completed here (exact).
        self.latency = (LatencyHistogram(), LatencyHistogram())
        self.writebacks = 0  # MemWr sent


class Core:
    """A core's request stream: how many requests it has still to issue, and its addresses
    (``requests``: how many it had at the start; a migrated stream starts part-way)."""

    __slots__ = ("addresses", "remaining", "requests")

    def __init__(self, requests: int, addresses: Generator) -> None:
        self.requests = requests
        self.remaining = requests
        self.addresses = addresses


class Slot:
    """One outstanding request of a core; its index in ``Host.slots`` is its CXL.mem tag."""

    __slots__ = ("addr", "core", "issued_at", "tag", "target", "write")

    def __init__(self, tag: int, core: Core) -> None:
        self.tag = tag
        self.core = core
        self.issued_at = 0
        self.addr = 0  # of the request in flight (for the request log)
        self.target: Target | None = None  # the device serving the request in flight, if any
        self.write = False


class Budget:
    """Completed-request count shared by every host; stops the run when ``left`` reaches 0, and
    keeps the time of the latest completion (the end of the measured run)."""

    __slots__ = ("completed", "last_completion", "left", "sim")

    def __init__(self, sim: Any, limit: int | None) -> None:
        self.sim = sim
        self.completed = 0
        self.last_completion = 0
        self.left = -1 if limit is None else limit

    def complete(self, when: int) -> None:
        if when > self.last_completion:
            self.last_completion = when
        self.completed += 1
        self.left -= 1
        if self.left == 0:
            self.sim.stop()


HOST_STATS = {
    "issued": "requests issued by the cores",
    "completed": "requests completed",
    "llc_hits": "LLC hits",
    "llc_misses": "LLC misses",
    "llc_writebacks": "dirty LLC victims written back",
    "local_reads": "load misses served by local DRAM",
    "local_rfo": "store misses served by local DRAM",
    "local_writebacks": "writebacks to local DRAM",
    "local_dram_utilisation": "busy fraction of local DRAM",
    "violations": "accesses refused by a device (MemData-NXM)",
}


def _host_stats_schema() -> dict[str, Any]:
    from ..stats.schema import INT, NUM, described, map_of, obj

    fields = {
        name: described(NUM if name.endswith("utilisation") else INT, text)
        for name, text in HOST_STATS.items()
    }
    per_device = obj(
        {
            "reads": described(INT, "MemRd sent for loads"),
            "rfo": described(INT, "MemRd sent for store misses"),
            "writebacks": described(INT, "MemWr sent"),
        },
        "traffic to one device",
    )
    schema = obj({**fields, "cxl": map_of(per_device, "by device")}, "one host")
    # Only a host that is home to coherent devices has this section (the others' entries
    # stay as they were).
    from .home_agent import home_agent_schema

    schema["properties"]["coherence"] = home_agent_schema()
    from .translation_agent import translation_agent_schema

    schema["properties"]["ats"] = translation_agent_schema()
    from .devmem_timing import host_mem_schema

    schema["properties"]["hdm_db"] = host_mem_schema()  # hosts of an HDM-DB device only
    schema["properties"]["hdm_d"] = host_mem_schema()  # hosts of an HDM-D device only
    return schema


@component(
    "host",
    params=HostParams,
    ports=(PortSpec("root", DOWNSTREAM, {"mem", "cache", "io"}, doc="CXL root ports"),),
    section="hosts",
    stats_schema=_host_stats_schema,  # type: ignore[arg-type]
)
class Host(Component):
    """A CPU host: cores, LLC, home agent, local DRAM, HDM decoders."""

    def build(self) -> None:
        params: HostParams = self.params
        self.budget: Budget = self.fabric.budget
        self.llc = Cache(params.llc_size, params.llc_ways)
        # Local DRAM: the home agent's memory controller behind the LLC.
        self.dram = make_dram(
            self.sim,
            params.dram_model,
            latency=params.dram_latency,
            bandwidth=params.dram_bandwidth,
            preset_name=params.dram_preset,
            channels=params.dram_channels,
            ranks=params.dram_ranks,
            controller_latency=params.dram_controller_latency,
            page_policy=params.dram_page_policy,
        )
        self.targets: list[Target] = []
        self.decoder: HdmDecoder = NO_WINDOWS
        self.space = AddressSpace(0, 0)
        self.read_ratio = 1.0  # the workload's, from start()
        self.think_time = 0
        self.llc_latency = params.llc_latency  # the LLC hit latency and the miss path
        self.cores: list[Core] = []
        self.slots: list[Slot] = []
        self.violations = 0
        self.local_reads = 0
        self.local_rfo = 0
        self.local_writebacks = 0
        # Latencies (ps) of loads [0] and stores [1] that hit the LLC / went to local DRAM.
        self.llc_latency_ps = (LatencyHistogram(), LatencyHistogram())
        self.local_latency_ps = (LatencyHistogram(), LatencyHistogram())
        self.log: RequestLog | None = None  # one row per completed request, if attached
        self.free_writeback_tags: deque[int] = deque()
        self.waiting_writebacks: deque[int] = deque()  # addresses waiting for a free tag
        self.next_writeback_tag = 0
        # The home agent of the coherent devices that name this host (None: there are none),
        # and its CXL.mem reads in flight by tag (tags shared with the writebacks).
        self.home_agent: TimedHomeAgent | None = None
        self.iommu: Iommu | None = None  # a translation agent when a device uses ATS
        self.translation: TimedTranslationAgent | None = None  # ... and its timed part
        self.home_reads: dict[int, Callable[[int], object]] = {}
        self.paused = False  # a migration stops its cores issuing (sim/migration.py)
        self.devmem: TimedHostMem | None = None  # the side of an HDM-DB device's memory

    # -- elaboration ---------------------------------------------------------------------------

    def connect(self) -> None:
        for attachment in self.attachments:
            attachment.port.handler = self.on_response
            attachment.port.pipeline = self.llc_latency
        self._connect_windows()
        self._connect_devmem()
        devices = self.fabric.shared(("cache-homes",), lambda: _cache_homes(self.fabric))
        mine = devices.get(self.name)
        if mine:
            from .home_agent import TimedHomeAgent

            self.home_agent = TimedHomeAgent(self, mine)
            # Root ports towards a coherent device also take its D2H messages; CXL.mem-only
            # ports keep the plain handler. H2D messages leave through the port's pipeline,
            # the host's miss path, as CXL.mem requests do.
            for port in {id(p): p for p in self.home_agent.ports}.values():
                port.handler = self.on_coherent
            self._connect_iommu(mine)

    def _connect_devmem(self) -> None:
        """An HDM-DB device in the window (validation: then the only one): its S2M messages
        go to the host's device-memory agent."""
        for target in self.targets:
            device = self.fabric.components[target.name]
            coherence = getattr(device.params, "coherence", "")
            if coherence in ("hdm_db", "hdm_d"):
                from .devmem_timing import TimedHostMem

                self.devmem = TimedHostMem(self, device, hdm_d=coherence == "hdm_d")
                target.port.handler = self.devmem.receive
                return

    def _connect_iommu(self, devices: list[Any]) -> None:
        """A translation agent when a device it is home to translates (``params.ats``)."""
        from .translation_agent import TimedTranslationAgent

        translating = [d for d in devices if getattr(d, "atc", None) is not None]
        if not translating:
            return
        self.translation = TimedTranslationAgent(self, translating)
        self.iommu = self.translation.iommu
        self.ats_ports = self.translation.ports

    def _connect_windows(self) -> None:
        windows = self.params.hdm
        if not windows:
            return
        index: dict[str, int] = {}
        for window in windows:
            for name in window.targets:
                if name not in index:
                    index[name] = len(self.targets)
                    device = self.fabric.components[name]
                    self.targets.append(
                        Target(
                            name,
                            device.pid,
                            device.ld_id_for(self.name),
                            self.fabric.port_towards(self.name, name),
                        )
                    )
        self.decoder = self.fabric.shared(
            ("hdm-decoder", *((w.base, w.size, w.granularity, w.targets) for w in windows)),
            lambda: HdmDecoder(windows, index),
        )

    def start(self) -> None:
        params: HostParams = self.params
        if self.home_agent is not None:
            self.home_agent.start()
        if self.translation is not None:
            self.translation.start()
        workload = params.workload
        if workload is None:
            return
        if self.devmem is not None:  # the workload is on the HDM-DB device's memory
            self.devmem.start()
            return
        self.space = self._address_space(workload)
        self.read_ratio = workload.read_ratio
        self.think_time = workload.think_time
        generators = [
            make_generator(workload, self.space.lines, core, params.cores, self.rng)
            for core in range(params.cores)
        ]
        per_core = 1 if generators[0].dependent else params.outstanding
        if params.cores * per_core >= MAX_TAGS:
            raise ValueError(
                f"host {self.name}: {params.cores} cores x {per_core} outstanding needs "
                f"{params.cores * per_core} tags; CXL.mem tags are 16 bits, keep the product "
                "below 65536"
            )
        self.cores = [Core(workload.requests, g) for g in generators]
        self.slots = [
            Slot(tag, core)
            for tag, core in enumerate(c for c in self.cores for _ in range(per_core))
        ]
        self.next_writeback_tag = len(self.slots)  # writeback tags come after the slots'
        for slot in self.slots:
            self.sim.schedule(0, self.issue, slot)

    def _address_space(self, workload: WorkloadParams) -> AddressSpace:
        lines = workload.footprint >> 6
        if workload.target == "local":
            return AddressSpace(0, lines)
        if workload.target == "cxl":
            return AddressSpace(min(w.base for w in self.params.hdm), lines)
        window = workload_window(self.params)
        decoder = self.decoder
        assert window is not None and decoder is not None
        way = window.targets.index(workload.target)
        return AddressSpace(
            window.base, lines, lambda line: decoder.device_address(window, way, line << 6)
        )

    # -- requests ------------------------------------------------------------------------------

    def issue(self, slot: Slot) -> None:
        """Issue the slot's next request (at its core's issue time)."""
        core = slot.core
        if core.remaining == 0 or self.paused:
            return
        core.remaining -= 1
        addr = self.space.address(core.addresses.next())
        write = self.read_ratio < 1.0 and self.rng.random() >= self.read_ratio
        now = self.sim.now
        lookup = self.llc.access(addr >> 6, write)
        if lookup.__class__ is Hit:
            latency = self.llc_latency
            self.llc_latency_ps[write].record(latency)
            if self.log is not None:
                self.log.row(self.name, slot.tag, write, "llc", addr, now, now + latency)
            self.budget.complete(now + latency)
            self.sim.schedule(latency + self.think_time, self.issue, slot)
            return
        if lookup.victim_state is MODIFIED:  # type: ignore[union-attr]
            self.write_back(lookup.victim << 6, now)  # type: ignore[union-attr,operator]
        index = self.decoder.decode(addr)
        if index < 0:
            # Local DRAM behind the home agent; the miss path is the LLC lookup.
            if write:
                self.local_rfo += 1
            else:
                self.local_reads += 1
            slot.issued_at = now
            slot.addr = addr
            slot.write = write
            self.dram.access(now + self.llc_latency, addr >> 6, self.local_read_done, slot)
            return
        target = self.targets[index]
        slot.issued_at = now
        slot.addr = addr
        slot.target = target
        slot.write = write
        target.port.send(_memrd(_MEMRD, slot.tag, addr, target.ld_id, self.pid, target.pid))

    def local_read_done(self, slot: Slot, done: int) -> None:
        """Local DRAM has decided the slot's read: its data reaches the core at ``done``."""
        self.local_latency_ps[slot.write].record(done - slot.issued_at)
        if self.log is not None:
            self.log.row(self.name, slot.tag, slot.write, "local", slot.addr, slot.issued_at, done)
        self.budget.complete(done)
        self.sim.schedule_at(done + self.think_time, self.issue, slot)

    def on_coherent(self, msg: Any) -> None:
        """The handler of a root port towards coherent devices: D2H messages go to the home
        agent, CXL.mem responses where ``on_response`` sends them."""
        vc = msg.VC
        devmem = self.devmem
        if devmem is not None and (
            vc < _D2H_REQ or (vc == _D2H_REQ and msg.spid == devmem.device_pid)
        ):  # an HDM-D device's memory traffic (validation: the host maps nothing else)
            devmem.receive(msg)
        elif vc == _IO:
            self.on_ats(msg)
        elif vc >= _D2H_REQ:
            translation = self.translation
            if vc == _D2H_REQ and translation is not None and not translation.admit(msg):
                return  # a translated request outside the device's grants: refused
            self.home_agent.receive(msg)  # type: ignore[union-attr]
        else:
            self.on_response(msg)

    def on_ats(self, msg: Any) -> None:
        """A device's ATS or PRI message: the translation agent answers after its latency."""
        translation = self.translation
        assert translation is not None, f"{self.name} has no IOMMU, but {msg!r} reached it"
        translation.receive(msg)

    def on_response(self, msg: Any) -> None:
        """S2M DRS for a request slot, or NDR Cmp for a writeback."""
        tag = msg.tag
        if tag >= len(self.slots):
            self.write_back_done(tag)
            return
        if msg.poison:
            # MemData-NXM: the device refused the access (no LD of ours decodes it).
            self.violations += 1
        slot = self.slots[tag]
        now = self.sim.now
        target: Target = slot.target  # type: ignore[assignment]
        target.latency[slot.write].record(now - slot.issued_at)
        if self.log is not None:
            self.log.row(self.name, tag, slot.write, target.path, slot.addr, slot.issued_at, now)
        slot.target = None
        self.budget.complete(now)
        if self.think_time:
            self.sim.schedule(self.think_time, self.issue, slot)
        else:
            self.issue(slot)

    # -- writebacks ----------------------------------------------------------------------------

    def write_back(self, addr: int, now: int) -> None:
        index = self.decoder.decode(addr)
        if index < 0:
            self.local_writebacks += 1
            self.dram.write(now + self.llc_latency, addr >> 6)
            return
        target = self.targets[index]
        if self.free_writeback_tags:
            tag = self.free_writeback_tags.popleft()
        elif self.next_writeback_tag < MAX_TAGS:
            tag = self.next_writeback_tag
            self.next_writeback_tag += 1
        else:
            self.waiting_writebacks.append(addr)  # every tag is in flight
            return
        self.send_write_back(tag, addr, target)

    def send_write_back(self, tag: int, addr: int, target: Target) -> None:
        target.writebacks += 1
        target.port.send(_memwr(_MEMWR, tag, addr, target.ld_id, self.pid, target.pid))

    def home_read(self, item: tuple[int, Callable[[int], object]]) -> None:
        """The home agent reads an HDM line over CXL.mem; ``done(now)`` when its data is here."""
        addr, done = item
        target = self.targets[self.decoder.decode(addr)]
        if self.free_writeback_tags:
            tag = self.free_writeback_tags.popleft()
        elif self.next_writeback_tag < MAX_TAGS:
            tag = self.next_writeback_tag
            self.next_writeback_tag += 1
        else:
            raise SimulationError(f"host {self.name}: every CXL.mem tag is in flight")
        self.home_reads[tag] = done
        target.port.send(_memrd(_MEMRD, tag, addr, target.ld_id, self.pid, target.pid))

    def write_back_done(self, tag: int) -> None:
        if self.home_reads:
            done = self.home_reads.pop(tag, None)
            if done is not None:
                done(self.sim.now)
        if self.waiting_writebacks:
            addr = self.waiting_writebacks.popleft()
            self.send_write_back(tag, addr, self.targets[self.decoder.decode(addr)])
        else:
            self.free_writeback_tags.append(tag)

    # -- what the run reads --------------------------------------------------------------------

    @property
    def issued(self) -> int:
        devmem = 0 if self.devmem is None else self.devmem.issued
        return devmem + sum(core.requests - core.remaining for core in self.cores)

    @property
    def completed(self) -> int:
        devmem = 0 if self.devmem is None else self.devmem.completed
        return devmem + sum(h.count for h in self._histograms())

    def _histograms(self) -> list[LatencyHistogram]:
        every = [*self.llc_latency_ps, *self.local_latency_ps]
        for target in self.targets:
            every += target.latency
        return every

    def latency_histograms(self) -> Mapping[tuple[str, str], LatencyHistogram]:
        histograms: dict[tuple[str, str], LatencyHistogram] = {}
        if self.home_agent is not None:
            histograms.update(self.home_agent.latency_histograms())
        if self.devmem is not None:
            histograms.update(self.devmem.latency_histograms())
        paths = [("llc", self.llc_latency_ps), ("local", self.local_latency_ps)]
        paths += [(t.path, t.latency) for t in self.targets]
        for path, (reads, writes) in paths:
            for cls, kept in (("read", reads), ("write", writes)):
                if kept:
                    histograms[cls, path] = kept
        return histograms

    def log_requests(self, log: RequestLog) -> None:
        self.log = log

    def requests_to(self, target: Target, write: bool) -> int:
        """MemRd sent to ``target`` for loads (or, ``write``, for store misses): those completed
        and those in flight (counted, not kept: one update fewer per request)."""
        in_flight = sum(1 for s in self.slots if s.target is target and s.write == write)
        return target.latency[write].count + in_flight

    def expected_requests(self) -> int:
        workload = self.params.workload
        shared = 0 if self.home_agent is None else self.home_agent.expected_requests()
        return shared + (0 if workload is None else self.params.cores * workload.requests)

    def in_flight(self) -> int:
        shared = 0 if self.home_agent is None else self.home_agent.in_flight()
        return shared + self.issued - self.completed

    def traffic(self) -> Mapping[str, int]:
        cxl_reads = sum(t.latency[0].count + t.latency[1].count for t in self.targets)
        local_reads = self.local_latency_ps[0].count + self.local_latency_ps[1].count
        return {
            "cxl_read": cxl_reads,
            "cxl_write": sum(t.writebacks for t in self.targets),
            "local_read": local_reads,
        }

    def stats(self, elapsed: int) -> dict[str, Any]:
        coherence = {} if self.home_agent is None else {"coherence": self.home_agent.stats()}
        if self.translation is not None:
            coherence["ats"] = self.translation.stats()
        if self.devmem is not None:
            coherence["hdm_d" if self.devmem.hdm_d else "hdm_db"] = self.devmem.stats()
        return {
            **coherence,
            "issued": self.issued,
            "completed": self.completed,
            "llc_hits": self.llc.hits,
            "llc_misses": self.llc.misses,
            "llc_writebacks": self.llc.writebacks,
            "local_reads": self.local_reads,
            "local_rfo": self.local_rfo,
            "local_writebacks": self.local_writebacks,
            "local_dram_utilisation": round(self.dram.busy_ps / elapsed, 6) if elapsed else 0.0,
            "violations": self.violations,
            "cxl": {
                t.name: {
                    "reads": self.requests_to(t, write=False),
                    "rfo": self.requests_to(t, write=True),
                    "writebacks": t.writebacks,
                }
                for t in sorted(self.targets, key=lambda t: t.name)
            },
        }

    # -- validation ----------------------------------------------------------------------------

    @classmethod
    def check(
        cls, graph: Any, name: str, params: Any, place: Callable[[tuple], Where]
    ) -> list[Issue]:
        issues = host_memory_issues(graph, name, params, place)
        from .devmem_timing import hdm_db_host_issues

        issues += hdm_db_host_issues(graph, name, params, place)
        for field_name in ("sf_sets", "sf_ways"):
            value = getattr(params, field_name)
            if value & (value - 1):
                issues.append(
                    Issue(
                        place((field_name,)),
                        f"host '{name}': {field_name} = {value} is not a power of two",
                        "the snoop filter's index and tree pseudo-LRU need powers of two",
                    )
                )
        return issues


def _cache_homes(fabric: Any) -> dict[str, list[Any]]:
    """Host name -> the coherent devices it is home to (in name order)."""
    homes: dict[str, list[Any]] = {}
    for name in sorted(fabric.components):
        component = fabric.components[name]
        home = component.cache_home()
        if home is not None:
            homes.setdefault(home, []).append(component)
    return homes


# -- validation of a host's address map and workload -----------------------------------------


def _memory_kinds(graph: Any) -> list[str]:
    from ..contract import kinds

    memory = {k for k, spec in kinds().items() if spec.memory}
    return [n for n, k in graph.nodes(data="kind") if k in memory]


def host_memory_issues(
    graph: Any, name: str, host: HostParams, locate: Callable[[tuple], Where]
) -> list[Issue]:
    from ..fabric.routing import route_path

    issues = []
    devices = _memory_kinds(graph)
    spans = [(0, host.dram_size, "local DRAM")]
    # Memory device -> indices of the windows that map it (its share is summed over them).
    mapped: dict[str, list[int]] = {}
    for index, window in enumerate(host.hdm):
        label = f"host '{name}' HDM window {index}"
        where = locate(("hdm", index))
        issues += _window_shape_issues(window, label, where)
        spans.append((window.base, window.base + window.size, f"HDM window {index}"))
        for target in window.targets:
            if target not in graph:
                issues.append(
                    Issue(
                        where,
                        f"{label} names '{target}', which is not a component",
                        "targets are memory device names" + did_you_mean(target, devices),
                    )
                )
            elif target not in devices:
                kind = graph.nodes[target]["kind"]
                issues.append(
                    Issue(where, f"{label} names {kind} '{target}', which holds no memory", "")
                )
            elif not kind_spec(graph.nodes[target]["kind"]).modelled:
                kind = graph.nodes[target]["kind"]
                issues.append(
                    Issue(
                        where,
                        f"{label} names {kind} '{target}', which is not simulated yet",
                        "map type3 devices only, for now",
                    )
                )
            else:
                if index not in mapped.setdefault(target, []):
                    mapped[target].append(index)
                if route_path(graph, name, target) is None:
                    issues.append(
                        Issue(
                            where,
                            f"host '{name}' cannot reach '{target}' (named by its HDM "
                            f"window {index})",
                            "link both to the same fabric; only switches forward traffic",
                        )
                    )
    for target, indices in mapped.items():
        share = sum(host.hdm[i].size // len(host.hdm[i].targets) for i in indices)
        numbers = ", ".join(map(str, indices))
        maps = f"windows {numbers} map" if len(indices) > 1 else f"window {numbers} maps"
        label = f"host '{name}' HDM {maps}"
        issues += _capacity_issues(graph, name, target, share, label, locate(("hdm", indices[0])))
    spans.sort()
    where = locate(("hdm",))
    for (_, end, first), (start, _, second) in itertools.pairwise(spans):
        if start < end:
            issues.append(
                Issue(
                    where,
                    f"host '{name}': {second} overlaps {first}",
                    "HDM windows sit above local DRAM (base >= dram_size) and apart from "
                    "each other",
                )
            )
    if host.workload is not None:
        issues += _workload_issues(name, host, locate(("workload",)))
    return issues


def _window_shape_issues(window: HdmWindow, label: str, where: Where) -> list[Issue]:
    issues = []
    ways, gran = len(window.targets), window.granularity
    if ways not in INTERLEAVE_WAYS:
        issues.append(
            Issue(
                where,
                f"{label} interleaves over {ways} devices",
                "CXL HDM decoders interleave 1, 2, 3, 4, 6, 8, 12 or 16 ways",
            )
        )
    if len(set(window.targets)) != ways:
        issues.append(Issue(where, f"{label} names a device twice", "list each target once"))
    if gran not in [256 << n for n in range(7)]:
        issues.append(
            Issue(where, f"{label} has granularity {gran}", "use 256B, 512B, ... up to 16KiB")
        )
    elif window.base % gran or window.size % (gran * max(1, ways)):
        issues.append(
            Issue(
                where,
                f"{label}: base must be a multiple of the granularity ({gran} B) and size a "
                f"multiple of granularity x ways ({gran * max(1, ways)} B)",
                "use round sizes such as 64GiB",
            )
        )
    if window.base + window.size > ADDRESS_LIMIT:
        issues.append(
            Issue(
                where,
                f"{label} ends beyond the 52-bit physical address space CXL.mem carries",
                "lower base or size (CXL_REFERENCE.md §2.1: Addr[51:6])",
            )
        )
    return issues


def _capacity_issues(
    graph: Any, host: str, target: str, share: int, label: str, where: Where
) -> list[Issue]:
    """A memory device's params say how much of it a host may map: ``capacity`` and, for a
    multi-logical device, the ``lds`` bound to hosts."""
    device = graph.nodes[target]["params"]
    capacity = getattr(device, "capacity", None)
    if capacity is None:
        return []  # a memory kind that does not state its capacity
    lds = getattr(device, "lds", ())
    if lds:
        bound = next((ld.size for ld in lds if ld.host == host), 0)
        if not bound:
            return [
                Issue(
                    where,
                    f"{label} '{target}', a multi-logical device with no LD bound to host '{host}'",
                    f"add {{ld_id: N, host: {host}, size: ...}} to {target}'s lds",
                )
            ]
        have, what = bound, f"the LD of '{target}' bound to '{host}' holds"
    else:
        have, what = capacity, f"'{target}' holds"
    if share > have:
        return [
            Issue(
                where,
                f"{label} {format_size(share)} onto '{target}' but {what} {format_size(have)}",
                "shrink the window or grow the device",
            )
        ]
    return []


def workload_window(host: HostParams) -> HdmWindow | None:
    """The HDM window a workload aimed at one device runs in: the lowest one naming it."""
    assert host.workload is not None
    named = [w for w in host.hdm if host.workload.target in w.targets]
    return min(named, key=lambda w: w.base) if named else None


def contiguous_hdm(host: HostParams) -> int:
    """Bytes of HDM from the lowest window's base without a gap: what target 'cxl' may touch."""
    windows = sorted(host.hdm, key=lambda w: w.base)
    covered = windows[0].size
    for before, after in itertools.pairwise(windows):
        if before.base + before.size != after.base:
            break
        covered += after.size
    return covered


def _workload_issues(name: str, host: HostParams, where: Where) -> list[Issue]:
    workload = host.workload
    assert workload is not None
    target = workload.target
    label = f"host '{name}' workload"
    if target == "local":
        room, what = host.dram_size, "local DRAM"
    elif target == "cxl":
        if not host.hdm:
            return [
                Issue(
                    where,
                    f"{label} targets 'cxl' but the host has no HDM windows",
                    "add hdm: [{base: ..., size: ..., targets: [...]}] or use target: local",
                )
            ]
        room, what = contiguous_hdm(host), "contiguous HDM from the lowest window"
    else:
        window = workload_window(host)
        if window is None:
            named = sorted({t for w in host.hdm for t in w.targets})
            return [
                Issue(
                    where,
                    f"{label} targets '{target}', which none of its HDM windows names",
                    "use 'local', 'cxl' or one of the devices its windows name"
                    + did_you_mean(target, named),
                )
            ]
        room = window.size // len(window.targets)
        what = f"its share of the window at {window.base:#x}"
    if workload.footprint > room:
        return [
            Issue(
                where,
                f"{label} touches {format_size(workload.footprint)} but its target '{target}' "
                f"has {format_size(room)} ({what})",
                "lower footprint or enlarge the memory it targets",
            )
        ]
    return []
