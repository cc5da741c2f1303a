"""The host's home agent in time: ``slugsim.coherence.home.HomeAgent`` inside a ``host``.

A host builds one when coherent devices name it as their home (``Component.cache_home``). The
untimed agent decides; this part gives it time and wires it to the fabric:

- **Timing.** A request (a D2H request or a core operation) costs the tag lookup of the LLC and
  the snoop filter, the host's ``llc_latency`` (the calibrated miss path, CXL_REFERENCE.md §7b),
  each time it is taken up. Data the agent hands over from memory — a line no core holds and no
  snoop brought — is read from the host's memory first: its local DRAM model, or over CXL.mem
  (``MemRd``) when the line is in an HDM window (a Type-3 device's, or a Type-2 device's own
  memory in host bias). Writes to memory are posted. Everything else (snoops, GOs, tracker
  updates) costs nothing on the host: the agent's other latencies are the devices' and the
  links'. What one call produced leaves after its latency, messages in order per device
  (``coherence_timing.TimedOutbox``), so a snoop never passes the GO before it.
- **UQIDs on the wire.** The agent gives one UQID to a transaction and snoops every sharer with
  it, telling the answers apart by their sender. D2H Rsp and D2H Data carry no source ID (only a
  DPID, CXL_REFERENCE.md §1.2), so behind a switch the host gives every snoop and every pull its
  own wire UQID and maps it back when the answer arrives.
- **Host cores that share lines with devices.** A device whose workload is ``producer_consumer``
  with this host as ``partner`` gets a core here running the other side of the channel on the
  same lines; its operations go to the agent (the host's ordinary ``workload`` cores do not).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from ..coherence.home import REFUSED_EVENTS, CoreState, HomeAgent, HostEvent, HostLine
from ..coherence.ops import Completion, CoreOp
from ..coherence.ops import Op as ProtocolOp
from ..coherence.snoop_filter import SnoopFilter
from ..coherence.spec import FORWARDING_RESPONSES
from ..cxl import D2HData, D2HReq, D2HRsp, H2DData, H2DReq, H2DRsp, H2DRspOpcode
from ..stats.histogram import LatencyHistogram
from ..workloads.coherent import OpKind, ProducerConsumer, line_span
from .coherence_timing import HOME_ACTION_LATENCY_PS, TimedOutbox
from .coherent_device import go_count, named, response_key, responses_named

MAX_UQIDS = 1 << 12  # UQID is 12 bits (CXL_REFERENCE.md §1.2)
PRUNE_EVERY = (1 << 16) - 1  # calls between two sweeps of the agent's idle entries (a mask)
_PULLS = frozenset(
    {
        H2DRspOpcode.WRITEPULL,
        H2DRspOpcode.GO_WRITEPULL,
        H2DRspOpcode.FAST_GO_WRITEPULL,
        H2DRspOpcode.GO_ERR_WRITEPULL,
    }
)
# Events that take up a request (a D2H request or a core operation): each pays the lookup.
_E = HostEvent
_VICTIM = HostEvent.SfVictim
REQUEST_EVENTS = frozenset(
    {_E.RdCurr, _E.RdShared, _E.RdAny, _E.RdOwn, _E.RdOwnNoData, _E.ItoMWr, _E.WrCur,
     _E.CLFlush, _E.CleanEvict, _E.CleanEvictPull, _E.DirtyEvict, _E.CleanEvictNoData,
     _E.WOWrInv, _E.WOWrInvF, _E.WrInv, _E.CacheFlushed, _E.SfFull, _E.CoreLoad,
     _E.CoreLoadHit, _E.CoreStore, _E.CoreStoreHit, _E.CoreEvict, *REFUSED_EVENTS}
)  # fmt: skip
_D2H_RSP = D2HRsp.unchecked("opcode", "uqid", "dpid")
_D2H_DATA = D2HData.unchecked("uqid", "bogus", "poison", "dpid", "data")


class _Agent(HomeAgent):
    """The untimed agent, with hooks that tell the timed part where memory is read and which
    snoops back-invalidate snoop-filter victims (writes come through ``on_write``)."""

    def __init__(self, timed: TimedHomeAgent, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.timed = timed
        self.cached: dict[int, bool] = {}  # UQID -> a core held the line when it was taken up
        self.in_victim = False
        self.sf_hits = 0
        self.sf_misses = 0
        self.full_set_waits = 0  # requests that found their filter set full
        self.victims = 0  # entries back-invalidated (SnpInv to their sharers)

    def allocate_tbe(self, entry: Any) -> None:
        super().allocate_tbe(entry)
        self.cached[entry.txn.uqid] = any(c is not CoreState.I for c in entry.cores)

    def free_tbe(self, entry: Any) -> None:
        self.cached.pop(entry.txn.uqid, None)
        super().free_tbe(entry)

    def _from_memory(self, entry: Any) -> None:
        txn = entry.txn
        if txn.data is None and not self.cached.get(txn.uqid, False):
            self.timed.reads.append(entry.line)

    def send_data(self, entry: Any) -> None:
        self._from_memory(entry)
        super().send_data(entry)

    def grant_core_e(self, entry: Any) -> None:
        self._from_memory(entry)
        super().grant_core_e(entry)

    def grant_core_f(self, entry: Any) -> None:
        self._from_memory(entry)
        super().grant_core_f(entry)

    def grant_core_m(self, entry: Any) -> None:
        self._from_memory(entry)
        super().grant_core_m(entry)

    def allocate_sf(self, entry: Any) -> None:
        if self.sf.sharers(entry.line):
            self.sf_hits += 1
        else:
            self.sf_misses += 1
        super().allocate_sf(entry)

    def park_for_sf_way(self, entry: Any) -> None:
        self.full_set_waits += 1
        self.in_victim = True
        try:
            super().park_for_sf_way(entry)
        finally:
            self.in_victim = False


class Wire:
    """A wire UQID in use: the device it went to and the agent's UQID it stands for."""

    __slots__ = ("data", "device", "expect_data", "pull", "response", "uqid")

    def __init__(self, device: int, uqid: int, pull: bool) -> None:
        self.device = device
        self.uqid = uqid
        self.pull = pull
        self.response = False
        self.expect_data = pull
        self.data = False


class SharingCore:
    """A host core running the other side of a device's producer/consumer channel."""

    __slots__ = ("device", "latency", "program")

    def __init__(self, device: str, program: ProducerConsumer) -> None:
        self.device = device
        self.program = program
        self.latency = (LatencyHistogram(), LatencyHistogram())  # loads, stores


class TimedHomeAgent:
    def __init__(self, host: Any, devices: list[Any]) -> None:
        self.host = host
        self.sim = host.sim
        params = host.params
        fabric = host.fabric
        self.devices = [d.name for d in devices]
        self.device_pids = [d.pid for d in devices]
        self.index_of_pid = {d.pid: i for i, d in enumerate(devices)}
        self.ports = [fabric.port_towards(host.name, d.name) for d in devices]
        self.lookup = params.llc_latency
        self.cores: list[SharingCore] = []
        for device in devices:
            workload = device.params.workload
            if (
                workload is not None
                and workload.kind == "producer_consumer"
                and workload.partner == host.name
            ):
                base, lines = line_span(workload.base, workload.footprint)
                producer = workload.role != "producer"
                program = ProducerConsumer(producer, base, lines, workload.requests)
                self.cores.append(SharingCore(device.name, program))
        self.poll_interval = {
            i: d.params.workload.poll_interval for i, d in enumerate(devices) if d.params.workload
        }
        sf = SnoopFilter(params.sf_sets, params.sf_ways, max(1, len(devices)))
        self.agent = _Agent(
            self,
            len(devices),
            len(self.cores),
            self._produce,
            self._complete,
            snoop_filter=sf,
            name=f"home:{host.name}",  # ':' is in no component's name, so no core's "coreN"
            on_transition=self._charge,
            on_write=self._written,
        )
        self.out = TimedOutbox(self.sim, HOME_ACTION_LATENCY_PS)
        self.reads: list[int] = []  # lines the call in progress reads from memory
        self.writes: list[int] = []
        self.wires: dict[int, Wire] = {}
        self.calls = 0
        self.free_wires = list(range(MAX_UQIDS - 1, -1, -1))
        self.core_ops: dict[int, tuple[SharingCore, Any, int]] = {}  # id(op) -> core, op, t0
        # statistics
        # by opcode (H2D responses by coherent_device.response_key); named in stats()
        self.d2h_requests: Counter[Any] = Counter()
        self.h2d_responses: Counter[int] = Counter()
        self.snoops_sent: Counter[Any] = Counter()
        self.snoop_responses: Counter[Any] = Counter()
        self._costs: dict[tuple[int, int], int] = {}  # (id(rule), id(event)) -> its latency
        self.back_invalidation_snoops = 0
        self.memory_reads = 0
        self.memory_writes = 0

    # -- driving the agent ---------------------------------------------------------------------

    def start(self) -> None:
        for index in range(len(self.cores)):
            self.sim.schedule(0, self.pump, index)

    def receive(self, msg: Any, refused: str | None = None) -> None:
        """A D2H message from one of the host's coherent devices; ``refused``: why the host's
        translation agent refused this request (it is answered with an error)."""
        cls = msg.__class__
        if cls is D2HReq:
            device = self.index_of_pid[msg.spid]
            self.d2h_requests[msg.opcode] += 1
        else:
            number = msg.uqid
            wire = self.wires[number]
            device = wire.device
            if cls is D2HRsp:
                self.snoop_responses[msg.opcode] += 1
                wire.response = True
                wire.expect_data = msg.opcode in FORWARDING_RESPONSES
                msg = _D2H_RSP(msg.opcode, wire.uqid, msg.dpid)
            else:
                wire.data = True
                msg = _D2H_DATA(wire.uqid, msg.bogus, msg.poison, msg.dpid, msg.data)
            if (wire.response or wire.pull) and (wire.data or not wire.expect_data):
                del self.wires[number]
                self.free_wires.append(number)
        self._call(self.agent.receive, device, msg, refused)

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        self.out.begin()
        fn(*args)
        self.calls += 1
        if self.calls & PRUNE_EVERY == 0:
            self._prune()
        reads, self.reads = self.reads, []
        for line in self.writes:
            self.memory_writes += 1
            self.host.write_back(line << 6, self.sim.now)
        self.writes.clear()
        if not reads:
            self.out.release()
            return
        self.memory_reads += len(reads)
        start = self.sim.now + self.out.latency
        self.out.release([(self._read, (line, start)) for line in reads])

    def _read(self, item: tuple[int, int], done: Callable[[int], None]) -> None:
        """Read a line from the host's memory, reaching it at ``start``; ``done(ready)``."""
        line, start = item
        host = self.host
        addr = line << 6
        if host.decoder.decode(addr) < 0:
            host.dram.access(start, line, _call_with_time, done)
        else:
            self.sim.schedule_at(start, host.home_read, (addr, done))

    def _written(self, agent: str, line: int, value: int) -> None:
        """The agent wrote ``line``: into memory (posted, timed by ``_call``), or a core's copy."""
        if agent == self.agent.name:
            self.writes.append(line)

    def _charge(self, transition: Any) -> None:
        event, rule = transition.event, transition.rule
        key = (id(rule), id(event))
        cost = self._costs.get(key)
        if cost is None:
            cost = sum(map(HOME_ACTION_LATENCY_PS.get, rule.actions))
            cost += self.lookup if event in REQUEST_EVENTS else 0
            self._costs[key] = cost
        self.out.latency += cost
        if event is _VICTIM and rule.actions:
            self.agent.victims += 1

    def _produce(self, device: int, msg: Any) -> None:
        msg.dpid = self.device_pids[device]
        cls = msg.__class__
        if cls is H2DReq:
            msg.spid = self.host.pid
            self.snoops_sent[msg.opcode] += 1
            if self.agent.in_victim:
                self.back_invalidation_snoops += 1
            msg.uqid = self._wire(device, msg.uqid, pull=False)
        elif cls is H2DRsp:
            self.h2d_responses[response_key(msg)] += 1
            if msg.opcode in _PULLS:
                msg.rsp_data = self._wire(device, msg.rsp_data, pull=True)
        else:
            assert cls is H2DData
        self.out.message(self.ports[device], msg)

    def _prune(self) -> None:
        """Drop the agent's entries that are as a fresh one would be (line I, nothing pending,
        memory value 0): an absent line is exactly that, so the agent's memory grows with the
        lines written, not with every line read."""
        agent = self.agent
        fresh = HostLine(0, agent.cores).key()[1:]
        lines = agent.lines
        for line in [n for n, entry in lines.items() if entry.key()[1:] == fresh]:
            del lines[line]

    def _wire(self, device: int, uqid: int, pull: bool) -> int:
        if not self.free_wires:
            raise RuntimeError(
                f"{self.host.name}: more than {MAX_UQIDS} snoops and pulls in flight"
            )
        number = self.free_wires.pop()
        self.wires[number] = Wire(device, uqid, pull)
        return number

    # -- host cores ----------------------------------------------------------------------------

    def pump(self, index: int) -> None:
        core = self.cores[index]
        program = core.program
        while True:
            op = program.next()
            if op is None:
                return
            kind = CoreOp.Load if op.kind is OpKind.LOAD else CoreOp.Store
            protocol_op = ProtocolOp(kind, op.line, op.value)
            self.core_ops[id(protocol_op)] = (core, op, self.sim.now)
            self._call(self.agent.core_issue, index, protocol_op)

    def _complete(self, completion: Completion) -> None:
        self.out.completion(self._core_done, completion)

    def _core_done(self, completion: Completion) -> None:
        core, op, started = self.core_ops.pop(id(completion.op))
        now = self.sim.now
        store = op.kind is not OpKind.LOAD
        core.latency[store].record(now - started)
        value = completion.value if completion.value is not None else op.value
        program = core.program
        program.complete(op, value)
        self.host.budget.complete(now)
        index = self.cores.index(core)
        if program.backoff:
            program.backoff = False
            device = self.devices.index(core.device)
            self.sim.schedule(self.poll_interval[device], self.pump, index)
        else:
            self.pump(index)

    # -- what the run reads --------------------------------------------------------------------

    def expected_requests(self) -> int:
        return sum(c.program.expected_operations() for c in self.cores)

    def in_flight(self) -> int:
        return sum(0 if c.program.finished else 1 for c in self.cores)

    def latency_histograms(self) -> dict[tuple[str, str], LatencyHistogram]:
        kept: dict[tuple[str, str], LatencyHistogram] = {}
        for core in self.cores:
            for cls, histogram in zip(("read", "write"), core.latency, strict=True):
                if histogram:
                    path = "coherent"
                    if (cls, path) in kept:
                        merged = LatencyHistogram()
                        merged.add(kept[cls, path])
                        merged.add(histogram)
                        histogram = merged
                    kept[cls, path] = histogram
        return kept

    def completed(self) -> int:
        return sum(h.count for c in self.cores for h in c.latency)

    def stats(self) -> dict[str, Any]:
        agent = self.agent
        sf = agent.sf.counters
        programs = [c.program for c in self.cores]
        return {
            "devices": list(self.devices),
            "d2h_requests": named(self.d2h_requests),
            "h2d_responses": responses_named(self.h2d_responses),
            "go_sent": go_count(self.h2d_responses),
            "snoops_sent": named(self.snoops_sent),
            "snoop_responses": named(self.snoop_responses),
            "snoop_filter": {
                "sets": agent.sf.sets,
                "ways": agent.sf.ways,
                "hits": agent.sf_hits,
                "misses": agent.sf_misses,
                "allocations": sf.allocations,
                "victims": agent.victims,
                "full_set_waits": agent.full_set_waits,
                "back_invalidation_snoops": self.back_invalidation_snoops,
                "entries": len(agent.sf.lines()),
            },
            "memory_reads": self.memory_reads,
            "memory_writes": self.memory_writes,
            "bogus_dropped": agent.bogus_dropped,
            "refused": agent.refused,
            "error_data_dropped": agent.error_data_dropped,
            "cores": {
                "count": len(programs),
                "issued": sum(p.issued for p in programs),
                "completed": sum(p.completed for p in programs),
                "data_errors": sum(p.errors for p in programs),
                "items": sum(p.items_done for p in programs),
                "polls": sum(p.polls for p in programs),
            },
        }


def home_agent_schema() -> dict[str, Any]:
    from ..stats.schema import INT, STRING, described, map_of, obj

    def counts(what: str, by: str) -> dict[str, Any]:
        return map_of(described(INT, what), by)

    return obj(
        {
            "devices": described(
                {"type": "array", "items": STRING}, "the coherent devices it serves, in order"
            ),
            "d2h_requests": counts("requests", "D2H requests received, by opcode"),
            "h2d_responses": counts("responses", "H2D responses sent, by kind (GO by state)"),
            "go_sent": described(INT, "H2D responses that are a GO of some kind"),
            "snoops_sent": counts("snoops", "H2D snoops sent, by opcode"),
            "snoop_responses": counts("responses", "D2H snoop responses received, by opcode"),
            "snoop_filter": obj(
                {
                    "sets": described(INT, "sets"),
                    "ways": described(INT, "ways"),
                    "hits": described(INT, "caching reads whose line had an entry"),
                    "misses": described(INT, "caching reads whose line had none"),
                    "allocations": described(INT, "entries allocated"),
                    "victims": described(INT, "entries back-invalidated to make room"),
                    "full_set_waits": described(
                        INT, "times a caching read found its set full and waited for a victim"
                    ),
                    "back_invalidation_snoops": described(INT, "SnpInv sent for those"),
                    "entries": described(INT, "entries in use at the end"),
                },
                "the inclusive snoop filter over the devices' caches",
            ),
            "memory_reads": described(INT, "lines read from memory for devices and cores"),
            "memory_writes": described(INT, "lines written to memory (posted)"),
            "bogus_dropped": described(INT, "pulled data marked Bogus, dropped"),
            "refused": described(
                INT, "D2H requests the translation agent refused, answered with an error (GO-Err)"
            ),
            "error_data_dropped": described(INT, "write data pulled from those, dropped"),
            "cores": obj(
                {
                    "count": described(INT, "host cores sharing lines with devices"),
                    "issued": described(INT, "their loads and stores issued"),
                    "completed": described(INT, "completed"),
                    "data_errors": described(
                        INT, "values read that coherence should not have produced"
                    ),
                    "items": described(INT, "producer_consumer items passed"),
                    "polls": described(INT, "flag reads that found nothing new"),
                },
                "host cores running the other side of a device's producer_consumer",
            ),
        },
        "the home agent of the host's coherent devices (only hosts that have some)",
    )


def _call_with_time(done: Callable[[int], None], ready: int) -> None:
    done(ready)
