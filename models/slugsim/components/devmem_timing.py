"""Device-memory coherence in time: the HDM-DB DCOH of a Type-3 device, the HDM-D DCOH of a
Type-2 device (``TimedBias``, the same wrapper around ``dcoh_d.BiasController``) and the hosts'
side.

The untimed controllers of ``slugsim.coherence`` decide (``dcoh_db.DeviceSnoopFilter``, the
device snoop filter with back-invalidation, and ``devmem_host.HostMemAgent``, one host's caches
of device memory); this module gives them time and wires them to the fabric, as
``home_agent.py`` does for the CXL.cache home agent (issue 12, items 3 and 6):

- **Device (``TimedDcoh``).** M2S messages reach the DCOH after the Type-3's controller latency
  and wait in separate queues: one M2S Req queue per host, whose head *stalls* while the table
  says so (the blocking rule of CXL_REFERENCE.md §3.2: no M2S Req to a line with a BISnp
  pending; one request waits for an SF victim at a time), while M2S RwD (MemWr, BIConflict) and
  M2S BIRsp are taken as they arrive (the table never stalls them: "RwD must drain
  independently", §3.2). A fired rule costs its actions' latencies (``coherence/latency.py``:
  filter lookups 5 ns, an assumption); memory reads and writes go through the Type-3's DRAM
  model instead of the table's 80/40 ns, so an HDM-DB read costs what an HDM-H read does plus
  the filter. What one call produced leaves after that, in order per (host, channel)
  (``TimedOutbox``), so a BI-ConflictAck never passes the Cmp before it (§3.2).
- **Host (``TimedHostMem``).** The host's workload on the device's window runs through the
  agent: loads and stores on lines of the device's memory, a finite cache of ``devmem_cache``
  bytes (LRU; a clean victim leaves with MemClnEvct, a dirty one with MemWr). BISnps wait in
  their own queue, whose head stalls while the table says so (a dirty eviction in flight, or a
  fill whose Cmp is here and whose data is not). Answering a BISnp costs the §3.2 target (≤ 90
  ns, S32 Tbl 13-2) in total: the table's 90 ns less the host's port pipeline (its
  ``llc_latency``, which every message leaving the host pays).
- **Values.** Stores write unique values; one ``ValueChecker`` per device sees every write
  (hosts' and the DCOH's) and checks every load, so a host that reads a line another host wrote
  must see that write (after the back-invalidation that took the writer's copy).

The tables use the line number as the CXL.mem Tag and BITag (12 bits, CXL_REFERENCE.md §2.1),
so the shared range is at most 4096 lines (256 KiB, checked at validation). Lines are numbered
from the start of the host's window (every host maps the device at the window's start).
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from typing import Any

from ..coherence.checker import ValueChecker
from ..coherence.dcoh_base import DevOp
from ..coherence.dcoh_d import BiasController
from ..coherence.dcoh_db import DeviceSnoopFilter, SfEvent
from ..coherence.devmem_host import HostMemAgent, HostMemEvent, HostMemState
from ..coherence.latency import ACTION_LATENCY_PS
from ..coherence.monitor import Violation
from ..coherence.ops import Completion, CoreOp, Op
from ..cxl import D2HReq, M2SBIRsp, M2SReq, M2SRwD, S2MBISnp
from ..stats.histogram import LatencyHistogram
from ..stats.latency import summarise
from ..workloads import make_generator
from .coherence_timing import TimedOutbox

MAX_LINES = 1 << 12  # BITag is 12 bits (CXL_REFERENCE.md §2.1): the tables' line numbers
LINE_BYTES = 64

# The DCOH's latencies: the table's (coherence/latency.py), with its memory actions free here
# because the Type-3's DRAM model times them (a hold on the call's output).
_READS = frozenset({"grant_alone", "grant_shared", "grant_kept", "grant_kept_alone"})
DCOH_ACTION_LATENCY_PS: dict[str, int] = {
    **ACTION_LATENCY_PS["dcoh_sf"],
    **dict.fromkeys((*_READS, "device_access", "write_memory", "device_evict"), 0),
}
_SNOOP_ANSWERS = frozenset(
    {
        "send_birsp_i",
        "send_birsp_s",
        "send_birsp_e",
        "send_conflict",
        "writeback_for_inv",
        "writeback_for_data",
        "writeback_for_cur",
    }
)
_STABLE = frozenset({HostMemState.S, HostMemState.E, HostMemState.M})
_HOST_OPS = frozenset({HostMemEvent.Load, HostMemEvent.Store})
BISNP_CAUSES = {"bisnp_victim": "victim", "bisnp_device": "device", "bisnp_request": "request"}


def host_mem_latency_ps(llc_latency: int) -> dict[str, int]:
    """The host table's latencies, a BISnp answer taking the 90 ns target in total: the port
    pipeline (``llc_latency``) is charged by the port, the rest here."""
    table = dict(ACTION_LATENCY_PS["host_mem"])
    for action in _SNOOP_ANSWERS:
        table[action] = max(0, table[action] - llc_latency)
    return table


class SharedChecks:
    """What every agent of one HDM-DB device shares: the value checker and the store values."""

    def __init__(self) -> None:
        self.values = ValueChecker()
        self.next_value = 0
        self.errors = 0
        self.first_error = ""

    def new_value(self) -> int:
        self.next_value += 1
        return self.next_value

    def on_write(self, agent: str, line: int, value: int) -> None:
        self.guard(self.values.on_write, agent, line, value)

    def guard(self, fn: Callable[..., object], *args: Any) -> None:
        try:
            fn(*args)
        except Violation as violation:
            self.errors += 1
            if not self.first_error:
                self.first_error = str(violation)


class _Channel:
    """One (destination, channel) stream out of a controller: the outbox's ordering key. It
    times BISnp and BIRsp for the BISnp -> BIRsp latency statistics."""

    __slots__ = ("delay", "on_send", "port", "sim")

    def __init__(
        self, port: Any, on_send: Callable[[Any], None] | None, sim: Any = None, delay: int = 0
    ) -> None:
        self.port = port
        self.on_send = on_send
        self.sim = sim
        self.delay = delay  # an outbound latency the port's pipeline does not charge

    def send(self, msg: Any) -> None:
        if self.on_send is not None:
            self.on_send(msg)
        if self.delay:
            self.sim.schedule(self.delay, self.port.send, msg)
        else:
            self.port.send(msg)


def _call_with_time(done: Callable[[int], None], ready: int) -> None:
    done(ready)


class TimedDcoh:
    """``DeviceSnoopFilter`` inside a Type-3 device, shared by ``hosts`` (names, in order)."""

    def __init__(self, device: Any, hosts: list[str]) -> None:
        params = device.params
        fabric = device.fabric
        self.device = device
        self.sim = device.sim
        self.hosts = hosts
        self.host_pids = [fabric.pids[h] for h in hosts]
        self.index_of_pid = {pid: i for i, pid in enumerate(self.host_pids)}
        self.checks: SharedChecks = fabric.shared(("hdm-db-checks", device.name), SharedChecks)
        self.dcoh: Any = self._controller(params, len(hosts))
        self.out = TimedOutbox(self.sim, self.LATENCIES)
        self._ports = [fabric.port_towards(device.name, h) for h in hosts]
        self._channels: dict[tuple[int, int], _Channel] = {}
        self.requests: list[deque[M2SReq]] = [deque() for _ in hosts]  # M2S Req, per host
        self.blocked_since: list[int | None] = [None] * len(hosts)  # head stalled since
        self.next_host = 0  # whose Req queue head is tried first
        # the controller's outbound latency, where the device's port pipeline does not charge
        # it (a Type-2's port carries CXL.cache too)
        self.egress = 0 if device.attachments[0].port.pipeline else params.controller_latency
        self.reads: list[int] = []  # lines the call in progress reads from memory
        self.writes: list[int] = []
        self.bisnp_out: dict[tuple[int, int], int] = {}  # (host, line) -> BISnp departure
        # device engine (near-memory accesses: the "device access" BISnp cause)
        self.engine_left = params.device_ops
        self.engine_rng = device.rng
        self.engine_started = 0
        # statistics
        self.received: Counter[str] = Counter()
        self.bisnp_sent: Counter[str] = Counter()  # by opcode
        self.blocked_requests = 0
        self.rwd_while_blocked = 0  # RwD taken while some Req head was stalled
        self.blocked_ps = 0
        self.blocked = LatencyHistogram()
        self.bisnp_round_trip = LatencyHistogram()
        self.device_access = (LatencyHistogram(), LatencyHistogram())  # loads, stores
        # ... by whether the access had to back-invalidate a host first
        self.device_snooped = (LatencyHistogram(), LatencyHistogram())  # without, with
        self.engine_snooped = False
        self.memory_reads = 0
        self.memory_writes = 0
        self._entries = 0  # filter entries in use
        self.occupancy_area = 0  # entries x ps
        self.occupancy_since = 0
        self.occupancy_max = 0

    LATENCIES = DCOH_ACTION_LATENCY_PS
    REMOTE = "bisnp_device"  # the counter that says a device access needed the hosts

    def _controller(self, params: Any, hosts: int) -> Any:
        return DeviceSnoopFilter(
            hosts,
            self._produce,
            self._complete,
            sf_sets=params.sf_sets,
            sf_ways=params.sf_ways,
            isa=params.sf_states == "isa",
            on_transition=self._charge,
            on_write=self._written,
        )

    def _reads_memory(self, action: str, transition: Any) -> bool:
        return action in _READS or (
            action == "device_access" and transition.event is not SfEvent.Store
        )

    # -- messages ------------------------------------------------------------------------------

    def arrive(self, msg: Any) -> None:
        """An M2S message reaches the DCOH (after the controller's inbound latency)."""
        src = self.index_of_pid[msg.spid]
        cls = msg.__class__
        self.received[cls.__name__] += 1
        if cls is M2SReq:
            self.requests[src].append(msg)
        else:  # RwD and BIRsp drain at once: the table never stalls them
            if cls is M2SRwD and any(t is not None for t in self.blocked_since):
                self.rwd_while_blocked += 1
            if cls is M2SBIRsp:
                sent = self.bisnp_out.pop((src, msg.bi_tag), None)
                if sent is not None:
                    self.bisnp_round_trip.record(self.sim.now - sent)
            self._call(self.dcoh.receive, src, msg)
        self._pump()

    def _pump(self) -> None:
        """Take every Req queue head the table lets through, until none moves. The hosts take
        turns, starting after the last one served, so that none starves behind the others
        while requests wait for filter victims one at a time."""
        dcoh, now, queues = self.dcoh, self.sim.now, self.requests
        hosts = len(queues)
        moved = True
        while moved:
            moved = False
            for turn in range(hosts):
                src = (self.next_host + turn) % hosts
                queue = queues[src]
                if not queue:
                    continue
                head = queue[0]
                if dcoh.stalls(src, head):
                    if self.blocked_since[src] is None:
                        self.blocked_since[src] = now
                    continue
                queue.popleft()
                since = self.blocked_since[src]
                if since is not None:
                    self.blocked_since[src] = None
                    self.blocked_requests += 1
                    self.blocked_ps += now - since
                    self.blocked.record(now - since)
                self._call(dcoh.receive, src, head)
                self.next_host = (src + 1) % hosts
                moved = True
                break

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        out = self.out
        out.begin()
        fn(*args)
        self._occupancy()
        reads, writes = self.reads, self.writes
        if not reads and not writes:
            out.release()
            return
        self.reads, self.writes = [], []
        start = self.sim.now + out.latency
        holds: list[tuple[Callable[..., object], Any]] = [
            (self._read, (line, start)) for line in reads
        ]
        holds += [(self._write, (line, start)) for line in writes]
        self.memory_reads += len(reads)
        self.memory_writes += len(writes)
        out.release(holds)

    def _read(self, item: tuple[int, int], done: Callable[[int], None]) -> None:
        line, start = item
        self.device.dram.access(start, line, _call_with_time, done)

    def _write(self, item: tuple[int, int], done: Callable[[int], None]) -> None:
        line, start = item
        self.device.dram.write(start, line, _call_with_time, done)

    def _charge(self, transition: Any) -> None:
        rule = transition.rule
        latencies = self.LATENCIES
        for action in rule.actions:
            self.out.latency += latencies[action]
            if self._reads_memory(action, transition):
                self.reads.append(transition.line)

    def _written(self, agent: str, line: int, value: int) -> None:
        self.writes.append(line)
        self.checks.on_write(agent, line, value)

    def _produce(self, host: int, msg: Any) -> None:
        msg.dpid = self.host_pids[host]
        if msg.__class__ is S2MBISnp:
            msg.spid = self.device.pid
            self.bisnp_sent[msg.opcode.name] += 1
        elif msg.__class__ is D2HReq:
            msg.spid = self.device.pid
        channel = self._channels.get((host, msg.VC))
        if channel is None:
            channel = self._channels[host, msg.VC] = _Channel(
                self._ports[host], self._sent, self.sim, self.egress
            )
        self.out.message(channel, msg)

    def _sent(self, msg: Any) -> None:
        if msg.__class__ is S2MBISnp:  # it leaves the DCOH now, the device a pipeline later
            self.bisnp_out[self.index_of_pid[msg.dpid], msg.bi_tag] = self.sim.now

    def _occupancy(self) -> None:
        sf = getattr(self.dcoh, "sf", None)
        if sf is None:
            return
        counters = sf.counters
        entries = counters.allocations - counters.deallocations
        now = self.sim.now
        self.occupancy_area += self._entries * (now - self.occupancy_since)
        self.occupancy_since = now
        self._entries = entries
        if entries > self.occupancy_max:
            self.occupancy_max = entries

    # -- the device's own accesses ---------------------------------------------------------------

    def start(self) -> None:
        if self.engine_left:
            self.sim.schedule(self.device.params.device_op_interval, self._engine)

    def _engine(self, _: object = None) -> None:
        """Issue the device engine's next access (one at a time, ``device_op_interval`` apart)."""
        params = self.device.params
        lines = max(1, params.device_footprint // LINE_BYTES)
        rng = self.engine_rng
        line = rng.randrange(lines)
        if rng.random() < params.device_store_ratio:
            op = Op(DevOp.Store, line, self.checks.new_value())
        else:
            op = Op(DevOp.Load, line)
        if not self.dcoh.can_issue(op):  # a transaction on the line: try again later
            self.sim.schedule(params.device_op_interval, self._engine)
            return
        self.engine_left -= 1
        self.engine_started = self.sim.now
        if op.kind is DevOp.Load:
            self.checks.values.on_issue("dcoh", op, True)
        snoops = self.dcoh.counters[self.REMOTE]
        self._call(self.dcoh.issue, op)
        self.engine_snooped = self.dcoh.counters[self.REMOTE] > snoops
        self._pump()

    def _complete(self, completion: Completion) -> None:
        self.out.completion(self._engine_done, completion)

    def _engine_done(self, completion: Completion) -> None:
        op = completion.op
        store = op.kind is DevOp.Store
        took = self.sim.now - self.engine_started
        self.device_access[store].record(took)
        self.device_snooped[self.engine_snooped].record(took)
        if store:
            self.checks.values.on_store(op)
        else:
            self.checks.guard(self.checks.values.on_load, "dcoh", op, completion.value)
        if self.engine_left:
            self.sim.schedule(self.device.params.device_op_interval, self._engine)

    # -- what the run reads --------------------------------------------------------------------

    def stats(self, elapsed: int) -> dict[str, Any]:
        dcoh, sf = self.dcoh, self.dcoh.sf
        self._occupancy()
        now = self.sim.now  # the occupancy is averaged over the whole run
        counters = dcoh.counters
        return {
            "hosts": list(self.hosts),
            "sf_sets": sf.sets,
            "sf_ways": sf.ways,
            "sf_states": "I/S/A" if dcoh.isa else "I/A",
            "received": dict(sorted(self.received.items())),
            "bisnp": dict(sorted(self.bisnp_sent.items())),
            "bisnp_by_cause": {BISNP_CAUSES[k]: counters[k] for k in BISNP_CAUSES},
            "bi_conflicts": counters["conflicts"],
            "req_blocked": {
                "requests": self.blocked_requests,
                "total_ns": round(self.blocked_ps / 1000, 3),
                "latency": summarise(self.blocked),
            },
            "rwd_while_blocked": self.rwd_while_blocked,
            "bisnp_round_trip": summarise(self.bisnp_round_trip),
            "sf_occupancy": {
                "entries": self._entries,
                "max": self.occupancy_max,
                "mean": round(self.occupancy_area / now, 3) if now else 0.0,
                "capacity": sf.sets * sf.ways,
                "allocations": sf.counters.allocations,
            },
            "device_access": {
                "loads": summarise(self.device_access[0]),
                "stores": summarise(self.device_access[1]),
                "without_bisnp": summarise(self.device_snooped[0]),
                "with_bisnp": summarise(self.device_snooped[1]),
            },
            "memory_reads": self.memory_reads,
            "memory_writes": self.memory_writes,
            "values_checked": self.checks.values.loads_checked,
            "data_errors": self.checks.errors,
        }


_BIAS_READS = frozenset({"local_load", "serve_read", "complete_rd_fwd"})
BIAS_ACTION_LATENCY_PS: dict[str, int] = {
    **ACTION_LATENCY_PS["dcoh_bias"],
    **dict.fromkeys(
        (*_BIAS_READS, "serve_write", "complete_wr_fwd", "flush_page"), 0
    ),  # the device's DRAM model times them
}
BIAS_COUNTERS = (
    "flips_to_device", "flips_to_host", "flips_failed", "forced_to_host", "predicted",
    "rdownnodata", "local", "via_host", "bias_hits", "bias_misses",
)  # fmt: skip


class TimedBias(TimedDcoh):
    """``BiasController`` (HDM-D, one host) inside a Type-2 device: device accesses complete
    in the device in device bias and go through the host (D2H RdCurr / WOWrInv, completed by
    M2S MemRdFwd / MemWrFwd) in host bias; flips by the predictor (RdOwnNoData per line)."""

    LATENCIES = BIAS_ACTION_LATENCY_PS
    REMOTE = "via_host"

    def __init__(self, device: Any, host: str) -> None:
        super().__init__(device, [host])
        self.flip_started: dict[int, int] = {}  # page -> when its flip began
        self.flip_time = LatencyHistogram()  # flip start -> device bias (or spoiled)

    def _controller(self, params: Any, hosts: int) -> Any:
        return BiasController(
            self._produce,
            self._complete,
            page_lines=params.page_lines,
            bias_sets=params.bias_sets,
            bias_ways=params.bias_ways,
            predictor=params.predictor,
            on_transition=self._charge,
            on_write=self._written,
        )

    def _reads_memory(self, action: str, transition: Any) -> bool:
        return action in _BIAS_READS

    def _charge(self, transition: Any) -> None:
        super()._charge(transition)
        actions = transition.rule.actions
        if "start_flip" in actions:
            self.flip_started[transition.line] = self.sim.now
        elif "finish_flip" in actions or "fail_flip" in actions:
            started = self.flip_started.pop(transition.line, None)
            if started is not None:  # charged until the call's output leaves
                self.flip_time.record(self.sim.now + self.out.latency - started)

    def stats(self, elapsed: int) -> dict[str, Any]:
        counters = self.dcoh.counters
        return {
            "host": self.hosts[0],
            "page_lines": self.dcoh.page_lines,
            "bias_cache": f"{self.dcoh.bias_cache.sets}x{self.dcoh.bias_cache.ways}",
            "predictor": self.dcoh.predictor,
            "counters": {name: counters[name] for name in BIAS_COUNTERS},
            "flip_time": summarise(self.flip_time),
            "received": dict(sorted(self.received.items())),
            "device_access": {
                "loads": summarise(self.device_access[0]),
                "stores": summarise(self.device_access[1]),
                "device_bias": summarise(self.device_snooped[0]),
                "host_bias": summarise(self.device_snooped[1]),
            },
            "memory_reads": self.memory_reads,
            "memory_writes": self.memory_writes,
            "values_checked": self.checks.values.loads_checked,
            "data_errors": self.checks.errors,
        }


def bias_schema() -> dict[str, Any]:
    from ..stats.schema import INT, LATENCY_SUMMARY, STRING, described, map_of, obj

    return obj(
        {
            "host": described(STRING, "the host"),
            "page_lines": described(INT, "lines per bias page"),
            "bias_cache": described(STRING, "bias cache sets x ways"),
            "predictor": described(INT, "flip after this many accesses through the host (0: off)"),
            "counters": map_of(
                described(INT, "count"),
                "flips (to device, to host, failed, forced back by a host access, predicted), "
                "RdOwnNoData sent, device accesses local / via the host, bias cache hits/misses",
            ),
            "flip_time": LATENCY_SUMMARY,
            "received": map_of(described(INT, "messages"), "M2S messages received, by class"),
            "device_access": obj(
                {
                    "loads": LATENCY_SUMMARY,
                    "stores": LATENCY_SUMMARY,
                    "device_bias": LATENCY_SUMMARY,
                    "host_bias": LATENCY_SUMMARY,
                },
                "the device's own accesses, issue to completion: all, and by where they went",
            ),
            "memory_reads": described(INT, "device memory reads"),
            "memory_writes": described(INT, "device memory writes"),
            "values_checked": described(INT, "loads whose value was checked"),
            "data_errors": described(INT, "loads or writes that broke coherence (must be 0)"),
        },
        "the HDM-D DCOH (bias table, flips; issue 12)",
    )


class _Slot:
    """One outstanding operation of a host core on device memory."""

    __slots__ = ("core", "issued_at", "op")

    def __init__(self, core: Any) -> None:
        self.core = core
        self.op: Op | None = None
        self.issued_at = 0


class _Core:
    __slots__ = ("addresses", "remaining")

    def __init__(self, requests: int, addresses: Any) -> None:
        self.remaining = requests
        self.addresses = addresses


class TimedHostMem:
    """``HostMemAgent`` inside a host: its workload's loads and stores on an HDM-DB device."""

    def __init__(self, host: Any, device: Any, hdm_d: bool = False) -> None:
        self.host = host
        self.sim = host.sim
        self.hdm_d = hdm_d
        self.device_name = device.name
        self.device_pid = device.pid
        fabric = host.fabric
        self.checks: SharedChecks = fabric.shared(("hdm-db-checks", device.name), SharedChecks)
        self.agent = HostMemAgent(
            0,
            hdm_d,
            self._produce,
            self._complete,
            on_transition=self._charge,
            on_write=self.checks.on_write,
        )
        self.agent.name = host.name
        self.lookup = host.params.llc_latency
        self.out = TimedOutbox(self.sim, host_mem_latency_ps(self.lookup))
        self._port = fabric.port_towards(host.name, device.name)
        self._channels: dict[int, _Channel] = {}
        self.capacity = max(1, host.params.devmem_cache // LINE_BYTES)
        self.held: OrderedDict[int, None] = OrderedDict()  # lines cached, LRU first
        self.busy: dict[int, _Slot | None] = {}  # line -> the op on it (None: an eviction)
        self.waiting: dict[int, deque[_Slot]] = {}  # line -> slots waiting for it
        self.snoops: deque[Any] = deque()  # BISnp (HDM-DB) or D2H Req (HDM-D); head may stall
        self.snoop_arrival: dict[int, int] = {}  # line -> when its BISnp arrived
        self.cores: list[_Core] = []
        self.slots: list[_Slot] = []
        self.read_ratio = 1.0
        self.think_time = 0
        # statistics
        self.latency = (LatencyHistogram(), LatencyHistogram())  # loads, stores
        self.bisnp_latency = LatencyHistogram()  # BISnp arrival -> BIRsp departure
        self.bisnp_received: Counter[str] = Counter()
        self.device_requests: Counter[str] = Counter()  # HDM-D: D2H from the device
        self.birsp_sent: Counter[str] = Counter()
        self.conflicts = 0
        self.evictions = Counter({"clean": 0, "dirty": 0})
        self.hits = 0
        self.misses = 0

    # -- the workload --------------------------------------------------------------------------

    def start(self) -> None:
        host = self.host
        params = host.params
        workload = params.workload
        lines = workload.footprint // LINE_BYTES
        self.read_ratio = workload.read_ratio
        self.think_time = workload.think_time
        self.cores = [
            _Core(workload.requests, make_generator(workload, lines, core, params.cores, host.rng))
            for core in range(params.cores)
        ]
        per_core = 1 if self.cores[0].addresses.dependent else params.outstanding
        self.slots = [_Slot(core) for core in self.cores for _ in range(per_core)]
        for slot in self.slots:
            self.sim.schedule(0, self.issue, slot)

    def issue(self, slot: _Slot) -> None:
        core = slot.core
        if core.remaining == 0:
            return
        core.remaining -= 1
        line = core.addresses.next()
        host = self.host
        if self.read_ratio < 1.0 and host.rng.random() >= self.read_ratio:
            op = Op(CoreOp.Store, line, self.checks.new_value())
        else:
            op = Op(CoreOp.Load, line)
        slot.op = op
        slot.issued_at = self.sim.now
        self._try(slot)

    def _try(self, slot: _Slot) -> None:
        op = slot.op
        assert op is not None
        line = op.line
        agent = self.agent
        if line in self.busy or not agent.can_issue(op):
            self.waiting.setdefault(line, deque()).append(slot)
            return
        if agent.state(line) is HostMemState.I:
            self._make_room()
        self.busy[line] = slot
        if op.kind is CoreOp.Load:
            self.checks.values.on_issue(agent.name, op, True)
        self._call(agent.issue, op)

    def _make_room(self) -> None:
        """Evict the least recently used idle line while the cache is full."""
        held, agent = self.held, self.agent
        while len(held) >= self.capacity:
            victim = None
            for line in held:
                state = agent.state(line)
                if state is HostMemState.I:  # back-invalidated meanwhile
                    victim = line
                    break
                if state in _STABLE and line not in self.busy:
                    victim = line
                    break
            if victim is None:
                return  # every cached line is busy: over capacity until one completes
            del held[victim]
            state = agent.state(victim)
            if state is HostMemState.I:
                continue
            self.evictions["dirty" if state is HostMemState.M else "clean"] += 1
            self.busy[victim] = None
            self._call(agent.issue, Op(CoreOp.Evict, victim))

    def _complete(self, completion: Completion) -> None:
        self.out.completion(self._done, completion)

    def _done(self, completion: Completion) -> None:
        op = completion.op
        line = op.line
        slot = self.busy.pop(line, None)
        if op.kind is not CoreOp.Evict:
            assert slot is not None and slot.op is op
            now = self.sim.now
            store = op.kind is CoreOp.Store
            self.latency[store].record(now - slot.issued_at)
            values = self.checks.values
            if store:
                values.on_store(op)
            else:
                self.checks.guard(values.on_load, self.agent.name, op, completion.value)
            if self.agent.state(line) is not HostMemState.I:
                self.held[line] = None
                self.held.move_to_end(line)
            self.host.budget.complete(now)
            slot.op = None
            if self.think_time:
                self.sim.schedule(self.think_time, self.issue, slot)
            else:
                self.sim.schedule(0, self.issue, slot)
        self._wake()

    def _wake(self) -> None:
        waiting = self.waiting
        if not waiting:
            return
        for line in list(waiting):
            queue = waiting[line]
            while queue and line not in self.busy and self.agent.can_issue(queue[0].op):  # type: ignore[arg-type]
                self._try(queue.popleft())
            if not queue:
                del waiting[line]

    # -- messages ------------------------------------------------------------------------------

    def receive(self, msg: Any) -> None:
        """An S2M message from the device: NDR and DRS at once, BISnp through its queue."""
        cls = msg.__class__
        if cls is S2MBISnp:
            self.bisnp_received[msg.opcode.name] += 1
            self.snoop_arrival[msg.bi_tag] = self.sim.now
            self.snoops.append(msg)
        elif cls is D2HReq:
            self.device_requests[msg.opcode.name] += 1
            self.snoops.append(msg)
        else:
            self._call(self.agent.receive, msg)
        self._snoops()
        self._wake()

    def _snoops(self) -> None:
        snoops, agent = self.snoops, self.agent
        while snoops and not agent.stalls(snoops[0]):
            self._call(agent.receive, snoops.popleft())

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        self.out.begin()
        fn(*args)
        self.out.release()

    def _charge(self, transition: Any) -> None:
        latencies = self.out._latencies
        cost = sum(latencies.get(action, 0) for action in transition.rule.actions)
        if transition.event in _HOST_OPS:
            if transition.state in _STABLE and transition.rule.next_state is not HostMemState.IXCD:
                cost += self.lookup  # a hit in the host's cache
                self.hits += 1
            else:
                self.misses += 1
        self.out.latency += cost

    def _produce(self, msg: Any) -> None:
        msg.spid = self.host.pid
        msg.dpid = self.device_pid
        cls = msg.__class__
        if cls is M2SRwD and msg.opcode.name == "BICONFLICT":
            self.conflicts += 1
        channel = self._channels.get(msg.VC)
        if channel is None:
            channel = self._channels[msg.VC] = _Channel(self._port, self._sent)
        self.out.message(channel, msg)

    def _sent(self, msg: Any) -> None:
        if msg.__class__ is M2SBIRsp:
            self.birsp_sent[msg.opcode.name] += 1
            arrived = self.snoop_arrival.pop(msg.bi_tag, None)
            if arrived is not None:  # until it leaves the host: after the port's pipeline
                self.bisnp_latency.record(self.sim.now + self._port.pipeline - arrived)

    # -- what the run reads --------------------------------------------------------------------

    def expected_requests(self) -> int:
        workload = self.host.params.workload
        return 0 if workload is None else self.host.params.cores * workload.requests

    @property
    def issued(self) -> int:
        return sum(self.host.params.workload.requests - c.remaining for c in self.cores)

    @property
    def completed(self) -> int:
        return self.latency[0].count + self.latency[1].count

    def latency_histograms(self) -> dict[tuple[str, str], LatencyHistogram]:
        path = f"{'hdm_d' if self.hdm_d else 'hdm_db'}:{self.device_name}"
        return {
            (cls, path): histogram
            for cls, histogram in zip(("read", "write"), self.latency, strict=True)
            if histogram
        }

    def stats(self) -> dict[str, Any]:
        return {
            "device": self.device_name,
            "cache_lines": self.capacity,
            "hits": self.hits,
            "misses": self.misses,
            "evictions": dict(self.evictions),
            "bisnp_received": dict(sorted(self.bisnp_received.items())),
            "birsp_sent": dict(sorted(self.birsp_sent.items())),
            "bi_conflicts_sent": self.conflicts,
            "bisnp_to_birsp": summarise(self.bisnp_latency),
            "device_requests": dict(sorted(self.device_requests.items())),
        }


def dcoh_schema() -> dict[str, Any]:
    from ..stats.schema import INT, LATENCY_SUMMARY, NUM, STRING, described, map_of, obj

    def counts(what: str) -> dict[str, Any]:
        return map_of(described(INT, what), what)

    return obj(
        {
            "hosts": described({"type": "array", "items": STRING}, "the hosts sharing it"),
            "sf_sets": described(INT, "device snoop filter sets"),
            "sf_ways": described(INT, "device snoop filter ways"),
            "sf_states": described(STRING, "I/S/A or I/A"),
            "received": counts("M2S messages received, by class"),
            "bisnp": counts("BISnp sent, by opcode"),
            "bisnp_by_cause": counts(
                "BISnp sent, by cause: victim (SF capacity), device (the device's own access), "
                "request (another host's request)"
            ),
            "bi_conflicts": described(INT, "BIConflict received (answered with BIConflictAck)"),
            "req_blocked": obj(
                {
                    "requests": described(INT, "M2S Req that stalled at the head of their queue"),
                    "total_ns": described(NUM, "time they spent stalled (ns)"),
                    "latency": LATENCY_SUMMARY,
                },
                "the blocking rule: M2S Req held while a BISnp (or SF victim) is pending",
            ),
            "rwd_while_blocked": described(
                INT, "M2S RwD taken while an M2S Req was stalled (RwD drains independently)"
            ),
            "bisnp_round_trip": LATENCY_SUMMARY,
            "sf_occupancy": obj(
                {
                    "entries": described(INT, "entries in use at the end"),
                    "max": described(INT, "most entries in use"),
                    "mean": described(NUM, "time-weighted mean entries in use"),
                    "capacity": described(INT, "sets x ways"),
                    "allocations": described(INT, "entries allocated"),
                },
                "device snoop filter occupancy",
            ),
            "device_access": obj(
                {
                    "loads": LATENCY_SUMMARY,
                    "stores": LATENCY_SUMMARY,
                    "without_bisnp": LATENCY_SUMMARY,
                    "with_bisnp": LATENCY_SUMMARY,
                },
                "the device engine's accesses to its own memory, issue to completion",
            ),
            "memory_reads": described(INT, "device memory reads"),
            "memory_writes": described(INT, "device memory writes"),
            "values_checked": described(INT, "loads whose value was checked"),
            "data_errors": described(INT, "loads or writes that broke coherence (must be 0)"),
        },
        "the HDM-DB DCOH (device snoop filter, back-invalidation)",
    )


def host_mem_schema() -> dict[str, Any]:
    from ..stats.schema import INT, LATENCY_SUMMARY, STRING, described, map_of, obj

    return obj(
        {
            "device": described(STRING, "the HDM-DB device"),
            "cache_lines": described(INT, "lines of its memory the host may cache"),
            "hits": described(INT, "loads and stores that hit the host's copy"),
            "misses": described(INT, "loads and stores that sent MemRd"),
            "evictions": map_of(described(INT, "lines"), "capacity evictions: clean, dirty"),
            "bisnp_received": map_of(described(INT, "snoops"), "BISnp received, by opcode"),
            "birsp_sent": map_of(described(INT, "answers"), "BIRsp sent, by opcode"),
            "bi_conflicts_sent": described(INT, "BIConflict sent"),
            "bisnp_to_birsp": LATENCY_SUMMARY,
            "device_requests": map_of(
                described(INT, "requests"), "HDM-D: D2H requests from the device, by opcode"
            ),
        },
        "the host's side of HDM-DB or HDM-D device memory (issue 12)",
    )


def hdm_db_host_issues(
    graph: Any, name: str, host: Any, locate: Callable[[tuple], Any]
) -> list[Any]:
    """A host that maps an HDM-DB device: one window, only that device, its workload on it and
    inside the 4096 lines a BITag can name."""
    from ..fabric.errors import Issue
    from ..fabric.params import format_size

    coherent = [
        target
        for window in host.hdm
        for target in window.targets
        if target in graph
        and getattr(graph.nodes[target]["params"], "coherence", "") in ("hdm_db", "hdm_d")
    ]
    if not coherent:
        return []
    device = coherent[0]
    hdm_d = graph.nodes[device]["params"].coherence == "hdm_d"
    limit = (MAX_LINES // 2 if hdm_d else MAX_LINES) * LINE_BYTES
    if len(host.hdm) != 1 or host.hdm[0].targets != (device,):
        return [
            Issue(
                locate(("hdm",)),
                f"host '{name}' maps HDM-DB device '{device}' with other memory",
                f"give '{name}' one HDM window whose only target is '{device}'",
            )
        ]
    workload = host.workload
    if workload is None:
        return []
    if workload.target not in (device, "cxl"):
        return [
            Issue(
                locate(("workload", "target")),
                f"host '{name}' maps HDM-DB device '{device}' but its workload targets "
                f"'{workload.target}'",
                f"set the workload's target to '{device}'",
            )
        ]
    if workload.footprint > limit:
        return [
            Issue(
                locate(("workload", "footprint")),
                f"host '{name}': its workload footprint on {'HDM-D' if hdm_d else 'HDM-DB'} "
                f"device '{device}' is {format_size(workload.footprint)}",
                "device-memory lines are named by a 12-bit BITag / CQID (CXL_REFERENCE.md "
                f"§2.1, §1.2): keep it at most {format_size(limit)}",
            )
        ]
    return []


def hdm_d_device_issues(
    graph: Any, name: str, device: Any, locate: Callable[[tuple], Any]
) -> list[Any]:
    """An HDM-D Type-2: a bias cache the table can index, its own accesses inside the 2048
    lines a CQID (line x 2 + flip) names, and no CXL.cache workload of its own."""
    from ..fabric.errors import Issue
    from ..fabric.params import format_size

    issues = []
    for field_name in ("bias_sets", "bias_ways"):
        value = getattr(device, field_name)
        if value & (value - 1):
            issues.append(
                Issue(
                    locate((field_name,)),
                    f"type2 '{name}': {field_name} = {value} is not a power of two",
                    "the bias cache's index and tree pseudo-LRU need powers of two",
                )
            )
    limit = MAX_LINES // 2 * LINE_BYTES
    if device.device_footprint > limit:
        issues.append(
            Issue(
                locate(("device_footprint",)),
                f"type2 '{name}': device_footprint is {format_size(device.device_footprint)}",
                f"HDM-D lines are named by a 12-bit CQID (line x 2 + flip): at most "
                f"{format_size(limit)}",
            )
        )
    if device.workload is not None:
        issues.append(
            Issue(
                locate(("workload",)),
                f"type2 '{name}' is HDM-D and also runs a CXL.cache workload",
                "drop the workload: an HDM-D device's accesses are its device_ops",
            )
        )
    return issues
