"""A CXL Type-3 memory expander (HDM-H): controller, device DRAM and logical devices.

A request arrives at the upstream port, crosses the controller (``controller_latency``), waits
for and uses the device DRAM (``dram_model``: ``DramChannel``, a bandwidth server, so loaded
latency is queueing; or ``DramTiming``, banks, rows and refresh: docs/dram.md), and its response
leaves through the controller again: the port's ``pipeline`` is the controller's outbound
latency. HDM-H reads return a DRS ``MemData`` only; writes complete with an NDR ``Cmp``
(CXL_REFERENCE.md §2.4). A request costs the device one event (the response's departure), plus
the timing DRAM's scheduler events.

Bounded request queue: the controller holds at most ``request_queue`` requests (reads and
writes, from their arrival until their response leaves). A request arriving at a full queue
stays in its link receive buffer, whose credit is then not returned (``Port.release``): the
sender's link runs out of credits for that class, and a busy device DRAM is felt upstream as
credit stalls, hop by hop through switches that hold their ingress buffers.

Multi-logical device: each LD is bound to one host (CXL_REFERENCE.md §2.5, up to 16 LDs). A
request must carry the LD-ID bound to the host it comes from (its SPID); any other is refused
with a poisoned ``MemData-NXM`` (read) or completed but dropped (write), and counted as a
violation. All LDs share the device DRAM, so pooled hosts contend for its bandwidth.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from ..contract import UPSTREAM, Component, PortSpec, component
from ..cxl import S2MDRS, S2MNDR, M2SReq, S2MDRSOpcode, S2MNDROpcode
from ..fabric.errors import Issue, Where, did_you_mean
from ..fabric.params import doc, format_size
from ..kernel import NS, Port
from .dram_timing import make_dram

if TYPE_CHECKING:
    from .devmem_timing import TimedDcoh

MAX_LDS = 16  # CXL_REFERENCE.md §2.5: an MLD has up to 16 LDs (4-bit LD-ID on CXL.mem)

# Responses are built without range checks: their tag, LD-ID and PID come from a request that
# was in range.
_drs = S2MDRS.unchecked("opcode", "tag", "ld_id", "poison", "dpid")
_ndr = S2MNDR.unchecked("opcode", "tag", "ld_id", "dpid")
_MEMDATA = S2MDRSOpcode.MEMDATA
_MEMDATA_NXM = S2MDRSOpcode.MEMDATA_NXM
_CMP = S2MNDROpcode.CMP


@dataclass(frozen=True)
class LogicalDevice:
    ld_id: int = field(metadata=doc("LD-ID, 0..15", ge=0, le=15))
    host: str = field(metadata=doc("host the LD is bound to"))
    size: int = field(metadata=doc("capacity of the LD", unit="size", ge=1))


@dataclass(frozen=True)
class Type3Params:
    capacity: int = field(default=64 << 30, metadata=doc("device capacity", unit="size", ge=1))
    # Vistara: the expander's controller/PHY/bridge add ≈150 ns per round trip, i.e. 75 ns
    # each way (CXL_REFERENCE.md §7b).
    controller_latency: int = field(
        default=75 * NS, metadata=doc("controller/PHY/bridge latency each way", unit="time")
    )
    # Derived: what is left of the 250 ns direct-attached load (§7b) after the host miss path
    # (20), two link crossings (2 x 10 + serialisation) and the controller (150).
    dram_latency: int = field(default=55 * NS, metadata=doc("device DRAM access", unit="time"))
    # Two DDR4-2400 channels, 2 x 2400 MT/s x 8 B = 38.4 GB/s: the calibration devices' DRAM,
    # whose 76.8 GB/s for the pair is the "theoretical" that 48 GB/s is 62 % of (§7b).
    dram_bandwidth: int = field(
        default=38_400 * 10**6, metadata=doc("device DRAM bandwidth", unit="bandwidth", ge=1)
    )
    # DDR4-2400 (1200 MHz clock) data-bus idle time of one read->write->read turnaround, 24
    # clocks = 20 ns: read->write 2 (JESD79-4 read-to-write spacing RL + BL/2 - WL + 2 nCK leaves
    # the bus 2 clocks idle) plus write->read tWTR + CL = 5 + 17. tWTR_S = max(2 nCK, 2.5 ns) = 3
    # and tWTR_L = max(4 nCK, 7.5 ns) = 9 clocks (JESD79-4); a random read lands in the last
    # write's bank group 1 time in 4 (4 bank groups), so 3/4 * 3 + 1/4 * 9 = 4.5, rounded up to 5.
    # CL 17 is the DDR4-2400T bin that gem5's DDR4_2400 interface takes from Micron MT40A2G4.
    dram_turnaround: int = field(
        default=20 * NS,
        metadata=doc("device DRAM bus idle per read->write->read turnaround", unit="time"),
    )
    # Derived: with the 20 ns turnaround, draining 4 writes per turnaround puts the model's 3:1
    # and 2:1 read:write memory traffic within 10 % of Vistara's 41-42 GB/s (CXL_REFERENCE.md
    # §7b; sim/calibration.py). Real controllers batch more (gem5's MemCtrl: at least 16 writes
    # per switch), so the small batch also stands for write costs not modelled otherwise.
    dram_write_batch: int = field(
        default=4,
        metadata=doc("posted writes the device DRAM drains per turnaround", ge=1, le=65536),
    )
    # "simple" (dram_latency, dram_bandwidth, dram_turnaround, dram_write_batch:
    # components/dram.py) keeps every calibrated figure as it was; "timing" is the
    # bank/row/refresh model of components/dram_timing.py.
    dram_model: Literal["simple", "timing"] = field(
        default="simple", metadata=doc("device DRAM model: simple (bandwidth server) or timing")
    )
    dram_preset: Literal["ddr4-2400", "ddr5-4400", "ddr5-4800", "ddr5-6400"] = field(
        default="ddr4-2400", metadata=doc("DRAM speed bin of the timing model")
    )
    # Two DDR4-2400 channels per device, as dram_bandwidth above (§7b).
    dram_channels: int = field(
        default=2, metadata=doc("64-bit DRAM channels of the timing model", ge=1, le=64)
    )
    # One rank per channel unless a platform's DIMM population says more (docs/dram.md).
    dram_ranks: int = field(
        default=1, metadata=doc("ranks per channel of the timing model", ge=1, le=16)
    )
    # Derived: dram_latency 55 ns - a DDR4-2400 row miss (tRCD + CL + burst = 31.7 ns) = 23.3,
    # rounded to 23, so the idle direct-attached load stays at 250 ns: an idle chase finds
    # most banks precharged (refresh closes them every tREFI), a third open on another row.
    dram_page_policy: Literal["open", "closed"] = field(
        default="open",
        metadata=doc("timing model: keep rows open after an access, or precharge at once"),
    )
    dram_controller_latency: int = field(
        default=23 * NS,
        metadata=doc("timing model: read latency outside the DRAM (controller)", unit="time"),
    )
    # The read and write queues of its DRAM channels: 2 channels x (64 + 64), the per-channel
    # buffer sizes of gem5's MemCtrl DRAM interfaces (e.g. DDR5_4400_4x8: read_buffer_size =
    # write_buffer_size = 64) and of dram_timing.DramTiming.
    request_queue: int = field(
        default=256,
        metadata=doc(
            "requests the controller holds at once (reads and writes); more wait in their link "
            "receive buffers and return no credits",
            ge=1,
            le=65536,
        ),
    )
    lds: tuple[LogicalDevice, ...] = field(
        default=(), metadata=doc("multi-logical-device partitions (empty: single LD)")
    )
    # Issue 12: HDM-DB, device-managed coherence with back-invalidation (CXL_REFERENCE.md §2.5,
    # §3.2), shared by every host that maps the device (components/devmem_timing.py).
    coherence: Literal["hdm_h", "hdm_db"] = field(
        default="hdm_h",
        metadata=doc("host-only memory (hdm_h) or device-coherent with back-invalidation"),
    )
    # Assumption: 256 x 8 = 2048 lines (128 KiB of host caching at the §3.2 4x guidance).
    sf_sets: int = field(
        default=256, metadata=doc("HDM-DB snoop filter sets (a power of two)", ge=1, le=1 << 20)
    )
    sf_ways: int = field(
        default=8, metadata=doc("HDM-DB snoop filter ways (a power of two)", ge=1, le=64)
    )
    sf_states: Literal["isa", "ia"] = field(
        default="isa", metadata=doc("HDM-DB snoop filter states: I/S/A (isa) or I/A (ia)")
    )
    device_ops: int = field(
        default=0,
        metadata=doc("HDM-DB: accesses the device itself makes to its memory", ge=0),
    )
    device_op_interval: int = field(
        default=100 * NS,
        metadata=doc("HDM-DB: time between the device's accesses", unit="time", ge=1),
    )
    device_store_ratio: float = field(
        default=0.5,
        metadata=doc("HDM-DB: fraction of the device's accesses that are stores", ge=0.0, le=1.0),
    )
    device_footprint: int = field(
        default=64 << 10,
        metadata=doc("HDM-DB: the lines the device accesses (from line 0)", unit="size", ge=64),
    )


def _type3_stats_schema() -> dict[str, Any]:
    from ..stats.schema import INT, NUM, described, map_of, obj

    per_ld = obj(
        {
            "reads": described(INT, "MemRd for this LD"),
            "writes": described(INT, "MemWr for this LD"),
        },
        "one logical device",
    )
    schema = obj(
        {
            "reads": described(INT, "MemRd received"),
            "writes": described(INT, "MemWr received"),
            "violations": described(INT, "requests with an LD-ID not bound to their host"),
            "dram_utilisation": described(NUM, "busy fraction of the device DRAM"),
            "dram_mean_queue_ns": described(NUM, "mean wait for the device DRAM (ns)"),
            "dram_turnaround": described(
                NUM, "fraction of the simulated time the DRAM bus spent turning around"
            ),
            "lds": map_of(per_ld, "by LD-ID (only LDs that saw traffic)"),
        },
        "one Type-3 device",
    )
    from .devmem_timing import dcoh_schema

    schema["properties"]["dcoh"] = dcoh_schema()  # HDM-DB devices only
    return schema


@component(
    "type3",
    params=Type3Params,
    ports=(PortSpec("usp", UPSTREAM, {"mem", "io"}, doc="upstream ports (more: multi-headed)"),),
    section="devices",
    stats_schema=_type3_stats_schema,  # type: ignore[arg-type]
    memory=True,
)
class Type3Device(Component):
    """A CXL Type-3 memory expander (HDM-H), single or multi-logical."""

    def build(self) -> None:
        params: Type3Params = self.params
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
            turnaround=params.dram_turnaround,
            write_batch=params.dram_write_batch,
        )
        # LD-ID -> PID of the host it is bound to; empty: one LD (0) open to every host.
        self.ld_owner: dict[int, int] = {}
        self.reply_port: dict[int, Port] = {}  # host PID -> the port its responses leave by
        self.controller_latency = params.controller_latency  # each way
        self.violations = 0
        self.ld_reads = [0] * MAX_LDS
        self.ld_writes = [0] * MAX_LDS
        self.queue_limit = params.request_queue
        self.queued = 0  # requests in the controller: arrived, response not yet left
        self.max_queued = 0
        # Requests that found the queue full, with the port whose receive buffer they hold.
        self.held: deque[tuple[Port, Any]] = deque()
        self.held_requests = 0  # requests that waited for the queue
        self.max_held = 0
        # Set by the per-hop breakdown: called as stage_probe(response, dram_arrive, dram_start,
        # ready) when the DRAM has timed a request (stats/breakdown.py).
        self.stage_probe: Callable[[Any, int, int, int], object] | None = None
        self.dcoh: TimedDcoh | None = None  # HDM-DB: the DCOH, from connect()

    def connect(self) -> None:
        for attachment in self.attachments:
            port = attachment.port
            port.handler = partial(self.arrive, port)
            port.pipeline = self.controller_latency
        for ld in self.params.lds:
            self.ld_owner[ld.ld_id] = self.fabric.pids[ld.host]
        if self.params.coherence == "hdm_db":
            from .devmem_timing import TimedDcoh

            self.dcoh = TimedDcoh(self, hdm_db_hosts(self.fabric.components, self.name))
            for attachment in self.attachments:
                attachment.port.handler = self.arrive_coherent

    def start(self) -> None:
        if self.dcoh is not None:
            self.dcoh.start()

    def arrive_coherent(self, msg: Any) -> None:
        """HDM-DB: an M2S message crosses the controller to the DCOH (its queues are the
        DCOH's; the request queue limit is not applied)."""
        self.sim.schedule(self.controller_latency, self.dcoh.arrive, msg)  # type: ignore[union-attr]

    def ld_id_for(self, host: str) -> int:
        """The LD-ID ``host`` uses on this device (0 on a single-LD device)."""
        bound = [ld.ld_id for ld in self.params.lds if ld.host == host]
        return bound[0] if bound else 0

    def arrive(self, port: Port, msg: Any) -> None:
        """An M2S request delivered on ``port``: into the queue (its receive buffer is freed as
        this returns, and its credit goes back), or, while the queue is full, held in that
        buffer (``Port.hold``) until ``respond`` makes room."""
        queued = self.queued
        if queued < self.queue_limit:
            self.queued = queued = queued + 1
            if queued > self.max_queued:
                self.max_queued = queued
            self.on_request(msg)
            return
        port.hold(msg)
        held = self.held
        held.append((port, msg))
        self.held_requests += 1
        if len(held) > self.max_held:
            self.max_held = len(held)

    def respond(self, reply: tuple[Any, ...]) -> None:
        """A response leaves: its request's queue entry is free for the oldest held one."""
        reply[0].send(reply[1])
        self.queued -= 1
        if self.held:
            waiting, request = self.held.popleft()
            self.queued += 1
            waiting.release(request.VC)
            self.on_request(request)

    def on_request(self, msg: Any) -> None:
        """M2S Req (a read) or RwD (a write), taken into the queue now. The response is built
        here; its departure (``respond``) is the one scheduled event."""
        now = self.sim.now
        ld = msg.ld_id
        host = msg.spid
        allowed = not self.ld_owner or self.ld_owner.get(ld) == host
        port = self.reply_port.get(host)
        if port is None:
            port = self.reply_port[host] = self.fabric.port_towards_pid(self.name, host)
        arrived = now + self.controller_latency
        if msg.__class__ is M2SReq:
            self.ld_reads[ld] += 1
            if allowed:
                reply = (port, _drs(_MEMDATA, msg.tag, ld, 0, host))
                if self.stage_probe is not None:
                    reply = (*reply, arrived)
                self.dram.access(arrived, msg.addr >> 6, self.send_at, reply)
            else:
                self.violations += 1
                refusal = _drs(_MEMDATA_NXM, msg.tag, ld, 1, host)
                self.sim.schedule_at(arrived, self.respond, (port, refusal))
            return
        self.ld_writes[ld] += 1
        completion = _ndr(_CMP, msg.tag, ld, host)
        if allowed:
            reply = (port, completion)
            if self.stage_probe is not None:
                reply = (*reply, arrived)
            self.dram.write(arrived, msg.addr >> 6, self.send_at, reply)
        else:
            self.violations += 1  # the write is dropped but still completed
            self.sim.schedule_at(arrived, self.respond, (port, completion))

    def send_at(self, reply: tuple[Any, ...], when: int) -> None:
        """The DRAM has timed a read's data or a write's acceptance: the response leaves then.
        (With a breakdown attached the reply also carries the time the request reached the
        DRAM, and the probe hears when the DRAM started on it.)"""
        if self.stage_probe is not None:
            self.stage_probe(reply[1], reply[2], self.dram.last_start, when)
        self.sim.schedule_at(when, self.respond, reply)

    @property
    def reads(self) -> int:
        return sum(self.ld_reads)

    @property
    def writes(self) -> int:
        return sum(self.ld_writes)

    def stats(self, elapsed: int) -> dict[str, Any]:
        dram = self.dram
        dcoh = {} if self.dcoh is None else {"dcoh": self.dcoh.stats(elapsed)}
        return {
            **dcoh,
            "reads": self.reads,
            "writes": self.writes,
            "violations": self.violations,
            "dram_utilisation": round(dram.busy_ps / elapsed, 6) if elapsed else 0.0,
            "dram_mean_queue_ns": round(dram.queued_ps / dram.accesses / 1000, 3)
            if dram.accesses
            else 0.0,
            "dram_turnaround": round(dram.turnaround_ps / elapsed, 6) if elapsed else 0.0,
            "lds": {
                str(ld): {"reads": self.ld_reads[ld], "writes": self.ld_writes[ld]}
                for ld in range(MAX_LDS)
                if self.ld_reads[ld] or self.ld_writes[ld]
            },
        }

    @classmethod
    def check(
        cls, graph: Any, name: str, params: Any, place: Callable[[tuple], Where]
    ) -> list[Issue]:
        issues = ld_issues(graph, name, params, place)
        if params.coherence == "hdm_db":
            issues += hdm_db_issues(graph, name, params, place)
        return issues


def ld_issues(
    graph: Any, name: str, device: Type3Params, locate: Callable[[tuple], Where]
) -> list[Issue]:
    issues = []
    where = locate(("lds",))
    ids = [ld.ld_id for ld in device.lds]
    if len(set(ids)) != len(ids):
        issues.append(Issue(where, f"type3 '{name}' uses an LD-ID twice", "LD-IDs are unique"))
    total = sum(ld.size for ld in device.lds)
    if total > device.capacity:
        issues.append(
            Issue(
                where,
                f"type3 '{name}': its LDs total {format_size(total)} but its capacity is "
                f"{format_size(device.capacity)}",
                "shrink the LDs or raise capacity",
            )
        )
    homes = hosts_kinds()
    hosts = [n for n, k in graph.nodes(data="kind") if k in homes]
    seen: set[str] = set()
    for index, ld in enumerate(device.lds):
        if ld.host in seen:
            # A host enumerates each LD as a device of its own (CXL_REFERENCE.md §2.5, MLD),
            # reached by its own HDM decoder; one window cannot address two LDs of one MLD.
            issues.append(
                Issue(
                    locate(("lds", index)),
                    f"type3 '{name}' binds a second LD (LD {ld.ld_id}) to '{ld.host}'",
                    "bind one LD per host and size it for the host's window(s)",
                )
            )
        seen.add(ld.host)
        if ld.host not in graph or graph.nodes[ld.host]["kind"] not in homes:
            issues.append(
                Issue(
                    locate(("lds", index)),
                    f"type3 '{name}' binds LD {ld.ld_id} to '{ld.host}', which is not a host",
                    "bind LDs to declared hosts" + did_you_mean(ld.host, hosts),
                )
            )
    return issues


def hdm_db_hosts(components: dict[str, Any], name: str) -> list[str]:
    """The hosts whose HDM windows map the device ``name``, in name order."""
    return sorted(
        host
        for host, component in components.items()
        if any(name in window.targets for window in getattr(component.params, "hdm", ()))
    )


def hdm_db_issues(
    graph: Any, name: str, device: Type3Params, locate: Callable[[tuple], Where]
) -> list[Issue]:
    """An HDM-DB device: a filter the tables can index, memory shared (not partitioned), inside
    the 4096 lines a BITag can name (its hosts: ``devmem_timing.hdm_db_host_issues``)."""
    from .devmem_timing import MAX_LINES

    issues = []
    for field_name in ("sf_sets", "sf_ways"):
        value = getattr(device, field_name)
        if value & (value - 1):
            issues.append(
                Issue(
                    locate((field_name,)),
                    f"type3 '{name}': {field_name} = {value} is not a power of two",
                    "the snoop filter's index and tree pseudo-LRU need powers of two",
                )
            )
    if device.lds:
        issues.append(
            Issue(
                locate(("lds",)),
                f"type3 '{name}' is HDM-DB but partitioned into LDs",
                "HDM-DB memory is shared by its hosts: drop lds (or use coherence: hdm_h)",
            )
        )
    if device.device_footprint > MAX_LINES * 64:
        issues.append(
            Issue(
                locate(("device_footprint",)),
                f"type3 '{name}': device_footprint is {format_size(device.device_footprint)}",
                f"HDM-DB lines are named by a 12-bit BITag: keep it at most "
                f"{format_size(MAX_LINES * 64)}",
            )
        )
    return issues


def hosts_kinds() -> set[str]:
    from ..contract import kinds

    return {k for k, spec in kinds().items() if spec.home}
