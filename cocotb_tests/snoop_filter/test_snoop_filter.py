"""cocotb testbench of the snoop filter (rtl/coherence/snoop_filter.v) through
rtl/tb/tb_snoop_filter.v.

The scoreboard is the Python model, ``slugsim.coherence.SnoopFilter``: every request the RTL
accepts goes to the model in the same order, and each response must equal the model's result
(hit, sharers after the request, whether a victim was named); the victim stream must carry
exactly the model's victims, in order, each once, no earlier than its request allows. At the end
the event counters and ENTRIES must equal the model's, and every request must have been answered.
While an output is stalled its valid and payload must hold (checked every cycle).

Sizes are read back from the DUT (``INFO``, port widths) and checked against the build. Random
tests log their seed; rerun one with
``SLUGSIM_SEED=<seed> .venv/bin/pytest cocotb_tests/snoop_filter -k <name>``. The planted-bug
tests at the bottom build the RTL with ``SF_PLANT_BUG`` and require this scoreboard to fail.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cocotb
import pytest
from cocotb.regression import TestFactory
from cocotb.triggers import ReadOnly, RisingEdge, Timer
from slugsim.coherence.csr import (
    COUNTERS,
    SF_ID,
    SfCsr,
    SfParams,
    counter_values,
    csr_read,
    csr_write,
    place_field,
)
from slugsim.coherence.snoop_filter import SfOp, SfRequest, SfResult, Victim
from slugsim.testbench import runner, testing
from slugsim.testbench.beat import Beat, ClockTiming
from slugsim.testbench.blocks import SNOOP_FILTER
from slugsim.testbench.csr import CsrMaster
from slugsim.testbench.pause import LfsrPause, pause_pattern
from slugsim.testbench.stream import StreamBus, StreamSink, StreamSource

TIMEOUT_US = 2000
LATENCY = 3  # edges from the one accepting a request to the first that can take its response
CLEAR = place_field(1, "CTRL", "CLEAR")
BUSY = place_field(1, "STATUS", "BUSY")
SCOREBOARD = "scoreboard: "  # starts every scoreboard failure (the planted-bug tests look for it)


@dataclass(slots=True)
class SfResponse:
    """One beat of ``m_rsp``: the model's ``SfResult`` as the wire carries it."""

    hit: int
    sharers: int
    victim: int  # 1: this request's victim went out on m_victim

    @classmethod
    def of(cls, result: SfResult) -> SfResponse:
        return cls(int(result.hit), result.sharers, int(result.victim is not None))


# -- stimulus -------------------------------------------------------------------------------------


class Stimulus:
    """Lines from a small pool of tags shared by every set (1.5 x ways, at least ways + 2, two
    pairs a single bit apart so that a partial tag compare shows): sets fill, hit and replace."""

    OP_WEIGHTS = {SfOp.LOOKUP: 3.0, SfOp.ALLOCATE: 4.0, SfOp.UPDATE: 2.0, SfOp.DEALLOCATE: 1.5}

    def __init__(self, rng: random.Random, params: SfParams) -> None:
        self.rng = rng
        self.params = params
        self.tag_width = params.addr_width - params.index_width
        base = rng.getrandbits(self.tag_width)
        tags = {base, base ^ 1, base ^ (1 << (self.tag_width - 1))}
        while len(tags) < min(params.ways + max(2, params.ways // 2), 1 << self.tag_width):
            tags.add(rng.getrandbits(self.tag_width))
        self.tags = sorted(tags)

    def line_of(self, tag: int, index: int) -> int:
        return (tag << self.params.index_width) | index

    def line(self) -> int:
        return self.line_of(self.rng.choice(self.tags), self.rng.randrange(self.params.sets))

    def fresh_lines(self, index: int, count: int) -> list[int]:
        """``count`` distinct lines of set ``index``."""
        tags: list[int] = []
        while len(tags) < count:
            tag = self.rng.getrandbits(self.tag_width)
            if tag not in tags:
                tags.append(tag)
        return [self.line_of(tag, index) for tag in tags]

    def sharers(self, empty: float = 0.0) -> int:
        if self.rng.random() < empty:
            return 0
        return self.rng.randrange(1, 1 << self.params.sharer_width)

    def request(self) -> SfRequest:
        ops = list(self.OP_WEIGHTS)
        op = self.rng.choices(ops, weights=list(self.OP_WEIGHTS.values()))[0]
        if op is SfOp.ALLOCATE:
            sharers = self.sharers(empty=0.05)
        elif op is SfOp.UPDATE:
            sharers = self.sharers(empty=0.3)  # an empty vector frees the entry
        else:
            sharers = self.sharers()  # ignored by LOOKUP and DEALLOCATE: must not matter
        return SfRequest(op, self.line(), sharers)


def idle_cycles(rng: random.Random) -> Iterator[int]:
    """Idle-cycle generator: mostly back-to-back, sometimes a gap of up to 7 cycles."""
    while True:
        yield rng.choice([0, 0, 0, 0, 1, 2, 7])


# -- testbench ------------------------------------------------------------------------------------


class TB:
    """Clock (from the HDL wrapper), reset, the three streams, the CSR master and the scoreboard."""

    def __init__(self, dut: Any) -> None:
        self.dut = dut
        self.clk = dut.clk
        self.log = dut._log
        self.rng = testing.seeded_rng(dut)
        dut.rst.setimmediatevalue(0)
        self.timing = ClockTiming(self.clk)
        self.csr = CsrMaster(dut, self.clk)
        self.req_bus = StreamBus.from_prefix(dut, "s_req", SfRequest)
        self.rsp_bus = StreamBus.from_prefix(dut, "m_rsp", SfResponse)
        self.victim_bus = StreamBus.from_prefix(dut, "m_victim", Victim)
        self.requests = StreamSource(self.req_bus, self.clk, record=True)
        self.responses = StreamSink(self.rsp_bus, self.clk)
        self.victims = StreamSink(self.victim_bus, self.clk)
        self.params = SfParams()
        self.model = self.params.model()
        self.stim: Stimulus
        self.scored = 0  # requests answered and checked (index into requests.sent)
        self.expected_victims: list[tuple[int, int, Victim]] = []  # (request, its edge, victim)
        self.received_victims: list[Beat[Victim]] = []  # not yet matched with the model's
        self.victims_checked = 0
        self.answered: list[Beat[SfResponse]] = []  # every response, in order
        self.victim_log: list[Beat[Victim]] = []  # every victim, in order
        self.violations: list[str] = []  # stream protocol breaches seen by hold_checker
        self.coverage: Counter[str] = Counter()

    @classmethod
    async def create(cls, dut: Any) -> TB:
        tb = cls(dut)
        await tb.timing.measure()
        await tb.reset()
        tb.params = SfParams.from_info(await tb.csr.read(SfCsr.INFO))
        built = json.loads(os.environ.get("SLUGSIM_PARAMS", "{}"))
        if built:
            assert tb.params == SfParams.from_rtl(built), f"INFO {tb.params} != build {built}"
        assert len(dut.s_req_line) == len(dut.m_victim_line) == tb.params.addr_width
        assert len(dut.s_req_sharers) == len(dut.m_rsp_sharers) == tb.params.sharer_width
        assert len(dut.m_victim_sharers) == tb.params.sharer_width
        tb.log.info("DUT: %s", tb.params)
        tb.model = tb.params.model()
        tb.stim = Stimulus(tb.rng, tb.params)
        return tb

    async def reset(self, cycles: int = 3) -> None:
        await testing.reset(self.dut, self.clk, cycles)

    async def cycles(self, n: int) -> None:
        """Sleep n clock cycles with one wake-up (ends just after a rising edge)."""
        period = self.timing.period_ps
        if n > 0:
            await Timer(n * period - period // 2, "ps")
        await RisingEdge(self.clk)

    # -- traffic --------------------------------------------------------------------------

    def send(self, op: SfOp, line: int, sharers: int = 0) -> None:
        self.requests.send_nowait(SfRequest(op, line, sharers))

    async def send_random(self, count: int) -> None:
        for _ in range(count):
            await self.requests.send(self.stim.request())

    async def status(self) -> int:
        return await self.csr.read(SfCsr.STATUS)

    async def quiesce(self, limit: int = 20000) -> None:
        """Release the outputs and wait until every request is answered and nothing is held."""
        self.responses.set_pause_generator(None)
        self.victims.set_pause_generator(None)
        await self.requests.wait()
        for _ in range(limit // 8):
            if not await self.status() & BUSY:
                return
            await self.cycles(8)
        raise AssertionError(f"{SCOREBOARD}still busy {limit} cycles after the last request")

    async def counters(self) -> dict[str, int]:
        return {name: await self.csr.read(SfCsr[name]) for name in COUNTERS}

    # -- scoreboard -----------------------------------------------------------------------

    def score(self) -> None:
        """Check every response and victim received so far against the model, in request
        order, so that the first divergence is the one reported."""
        sent = self.requests.sent
        arrived = self.victims.drain()
        self.victim_log.extend(arrived)
        self.received_victims.extend(arrived)
        self._match_victims()
        for beat in self.responses.drain():
            self.answered.append(beat)
            i = self.scored
            assert i < len(sent), (
                f"{SCOREBOARD}response {beat.value} at edge {beat.cycle}: only {len(sent)} requests"
            )
            request, accepted = sent[i].value, sent[i].cycle
            result = self.model.request(request.op, request.line, request.sharers)
            want = SfResponse.of(result)
            where = (
                f"request #{i} {SfOp(request.op).name} line {request.line:#x} "
                f"sharers {request.sharers:#x} (accepted at edge {accepted})"
            )
            assert beat.value == want, f"{SCOREBOARD}{where}: RTL {beat.value} != model {want}"
            assert beat.cycle >= accepted + LATENCY, (
                f"{SCOREBOARD}{where}: response at edge {beat.cycle}, before its time"
            )
            if result.victim is not None:
                self.expected_victims.append((i, accepted, result.victim))
                self._match_victims()
            self.coverage[f"{SfOp(request.op).name}-{'hit' if result.hit else 'miss'}"] += 1
            self.coverage["victim"] += result.victim is not None
            self.scored += 1
        if self.received_victims and self.scored == len(sent):
            extra = self.received_victims[0]
            raise AssertionError(
                f"{SCOREBOARD}victim {extra.value} at edge {extra.cycle} that the model never named"
            )

    def _match_victims(self) -> None:
        while self.expected_victims and self.received_victims:
            i, accepted, want = self.expected_victims.pop(0)
            beat = self.received_victims.pop(0)
            where = f"victim #{self.victims_checked} (of request #{i}, accepted at edge {accepted})"
            assert beat.value == want, f"{SCOREBOARD}{where}: RTL {beat.value} != model {want}"
            assert beat.cycle >= accepted + LATENCY, (
                f"{SCOREBOARD}{where}: out at edge {beat.cycle}, before its time"
            )
            self.victims_checked += 1

    async def check(self) -> dict[str, int]:
        """Quiesce, score everything, then counters, ENTRIES and STATUS against the model."""
        await self.quiesce()
        self.score()
        sent = len(self.requests.sent)
        assert self.scored == sent, f"{SCOREBOARD}{sent - self.scored} requests never answered"
        assert not self.expected_victims, (
            f"{SCOREBOARD}{len(self.expected_victims)} victims the model named never came out, "
            f"the first {self.expected_victims[0][2]} of request #{self.expected_victims[0][0]}"
        )
        assert not self.received_victims, f"{SCOREBOARD}unexpected victims {self.received_victims}"
        assert not self.violations, f"{SCOREBOARD}stream protocol: {self.violations[:3]}"
        counters = await self.counters()
        want = counter_values(self.model.counters)
        assert counters == want, f"{SCOREBOARD}counters: RTL {counters} != model {want}"
        entries = await self.csr.read(SfCsr.ENTRIES)
        assert entries == len(self.model.lines()), (
            f"{SCOREBOARD}ENTRIES: RTL {entries} != model {len(self.model.lines())}"
        )
        assert await self.status() == 0
        self.log.info(
            "checked %d requests, %d victims; counters %s; entries %d; coverage %s",
            sent,
            self.victims_checked,
            counters,
            entries,
            dict(sorted(self.coverage.items())),
        )
        return counters

    def restart(self) -> None:
        """After a reset: requests not yet answered and victims not yet out are gone; the model
        starts empty."""
        self.score()
        self.scored = len(self.requests.sent)
        self.expected_victims.clear()
        self.received_victims.clear()
        self.model = self.params.model()

    # -- the stream protocol --------------------------------------------------------------

    def start_hold_checkers(self) -> None:
        for bus in (self.rsp_bus, self.victim_bus):
            cocotb.start_soon(self._hold_checker(bus))

    async def _hold_checker(self, bus: StreamBus) -> None:
        """Every cycle: a beat offered and not taken is offered again, unchanged, next cycle."""
        edge, readonly = RisingEdge(self.clk), ReadOnly()
        held: Any = None
        while True:
            await readonly
            valid = bus.valid.value.is_resolvable and int(bus.valid.value)
            value = bus.sample() if valid else None
            if held is not None and (not valid or value != held) and not int(self.dut.rst.value):
                self.violations.append(f"{bus.prefix}: {held} withdrawn or changed to {value}")
            held = value if valid and not int(bus.ready.value) else None
            await edge


# -- tests ----------------------------------------------------------------------------------------


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def reset_state_and_csrs(dut: Any) -> None:
    """Every CSR after reset; read-only registers ignore writes; unmapped addresses read 0;
    an empty filter misses every line and counts it; CTRL.CLEAR zeroes the counters."""
    tb = await TB.create(dut)
    assert await tb.csr.read(SfCsr.ID) == SF_ID
    for reg in SfCsr:
        got = await tb.csr.read(reg)
        assert got == csr_read(tb.model, tb.params, reg), f"{reg.name} after reset: {got:#x}"
    for reg in SfCsr:
        if reg is not SfCsr.CTRL:
            await tb.csr.write(int(reg) | tb.rng.randrange(4), tb.rng.getrandbits(32))
    for addr in (0x2C, 0x40, 0x80, 0xFC):
        await tb.csr.write(addr, tb.rng.getrandbits(32))
        assert await tb.csr.read(addr) == 0, f"unmapped {addr:#x} must read 0"
    for reg in SfCsr:
        assert await tb.csr.read(reg) == csr_read(tb.model, tb.params, reg), reg.name

    # an empty filter: every request misses, nothing is allocated by LOOKUP/UPDATE/DEALLOCATE
    for i in range(12):
        op = tb.rng.choice([SfOp.LOOKUP, SfOp.UPDATE, SfOp.DEALLOCATE]) if i else SfOp.LOOKUP
        tb.send(op, tb.stim.line(), tb.stim.sharers())
    await tb.check()
    assert tb.coverage["LOOKUP-hit"] == 0 and tb.model.counters.misses > 0
    await tb.csr.write(SfCsr.CTRL, CLEAR)
    csr_write(tb.model, SfCsr.CTRL, CLEAR)
    assert await tb.counters() == dict.fromkeys(COUNTERS, 0)
    assert await tb.csr.read(SfCsr.CTRL) == 0


def bit_reversed(value: int, bits: int) -> int:
    return int(f"{value:0{bits}b}"[::-1], 2) if bits else 0


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def fill_a_set_then_victims_in_plru_order(dut: Any) -> None:
    """Directed, and checked by hand as well as by the model: a set filled way by way takes new
    lines without victims; once full, a stream of new lines replaces the ways in bit-reversed
    order (tree pLRU); a lookup hit protects its way. Unstalled timing: one request every 3
    cycles, each response (and victim) 3 edges after its request."""
    tb = await TB.create(dut)
    ways, levels = tb.params.ways, tb.params.ways.bit_length() - 1
    index = tb.params.sets - 1
    lines = tb.stim.fresh_lines(index, 3 * ways + 1)
    fill, new, more = lines[:ways], lines[ways : 2 * ways], lines[2 * ways :]
    vectors = {line: tb.stim.sharers() for line in lines}
    for line in fill + new:
        tb.send(SfOp.ALLOCATE, line, vectors[line])
    await tb.check()
    assert [b.value.victim for b in tb.answered] == [0] * ways + [1] * ways
    # way k of the filled set holds fill[k]; pLRU replaces ways 0, W/2, W/4, 3W/4, ...
    want = [
        Victim(fill[bit_reversed(k, levels)], vectors[fill[bit_reversed(k, levels)]])
        for k in range(ways)
    ]
    assert [b.value for b in tb.victim_log] == want, "victims not in tree-pLRU order"

    # timing: back to back, a request every LATENCY cycles, its response LATENCY edges later
    accepted = [b.cycle for b in tb.requests.sent]
    assert all(b - a == LATENCY for a, b in itertools.pairwise(accepted)), accepted
    assert [b.cycle for b in tb.answered] == [a + LATENCY for a in accepted]
    victim_edges = [a + LATENCY for a in accepted[ways:]]
    assert [b.cycle for b in tb.victim_log] == victim_edges

    # the set now holds `new` in ways bitrev(k); a hit on the line the walk would pick next
    # (in way 0) protects it: the next victim is the one in way W/2
    if ways > 1:
        tb.send(SfOp.LOOKUP, new[0])
        tb.send(SfOp.ALLOCATE, more[0], vectors[more[0]])
        await tb.check()
        assert tb.answered[-2].value.hit == 1
        assert tb.victim_log[-1].value.line == new[1], "the touched way was replaced"
    # and the set keeps replacing as the model says, whatever the order
    for line in more[1:] + fill:
        tb.send(tb.rng.choice([SfOp.ALLOCATE, SfOp.LOOKUP]), line, vectors[line])
    await tb.check()
    assert await tb.csr.read(SfCsr.ENTRIES) == ways


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def update_and_deallocate(dut: Any) -> None:
    """ALLOCATE on a present line adds sharers; UPDATE replaces them, misses without allocating,
    and frees the entry with an empty vector; DEALLOCATE frees; a freed way is taken before any
    victim; the opcodes that ignore s_req_sharers do."""
    tb = await TB.create(dut)
    width = tb.params.sharer_width
    low, high = 1, 1 << (width - 1)
    index = 0
    lines = tb.stim.fresh_lines(index, tb.params.ways + 2)
    first, absent = lines[0], lines[-1]
    expect: list[SfResponse] = []

    def do(op: SfOp, line: int, sharers: int, hit: int, after: int) -> None:
        tb.send(op, line, sharers)
        expect.append(SfResponse(hit, after, 0))

    do(SfOp.ALLOCATE, first, low, 0, low)
    do(SfOp.ALLOCATE, first, high, 1, low | high)
    do(SfOp.LOOKUP, first, (1 << width) - 1, 1, low | high)  # sharers ignored
    do(SfOp.UPDATE, first, high, 1, high)
    do(SfOp.UPDATE, absent, low, 0, 0)  # a miss allocates nothing
    do(SfOp.LOOKUP, absent, 0, 0, 0)
    do(SfOp.UPDATE, first, 0, 1, 0)  # an empty vector frees the entry
    do(SfOp.LOOKUP, first, 0, 0, 0)
    do(SfOp.DEALLOCATE, first, 0, 0, 0)  # already gone
    await tb.check()
    assert [b.value for b in tb.answered] == expect
    assert tb.model.counters.deallocations == 1
    assert await tb.csr.read(SfCsr.ENTRIES) == 0

    # fill the set, free one way in the middle: the next new line takes it, no victim
    fill = lines[: tb.params.ways]
    for line in fill:
        tb.send(SfOp.ALLOCATE, line, tb.stim.sharers())
    gone = fill[len(fill) // 2]
    tb.send(SfOp.DEALLOCATE, gone, tb.stim.sharers())  # sharers ignored
    tb.send(SfOp.ALLOCATE, absent, low)
    tb.send(SfOp.LOOKUP, gone)
    await tb.check()
    assert not tb.victim_log, "a free way must be taken before a victim is made"
    assert [b.value.hit for b in tb.answered[-3:]] == [1, 0, 0]
    assert await tb.csr.read(SfCsr.ENTRIES) == tb.params.ways


async def random_traffic(dut: Any, idle: bool = False, stall: bool = False) -> None:
    """Constrained random requests scored against the model, with idle cycles on the request
    stream and back-pressure on the response and victim streams; then counters and CLEAR."""
    tb = await TB.create(dut)
    if stall:
        tb.start_hold_checkers()
    if idle:
        tb.requests.set_idle_generator(idle_cycles(tb.rng))
    for round_ in range(3):
        if stall:
            tb.responses.set_pause_generator(LfsrPause(0.4, seed=tb.rng.getrandbits(32)))
            tb.victims.set_pause_generator(LfsrPause(0.7, seed=tb.rng.getrandbits(32)))
        await tb.send_random(200)
        while not tb.requests.idle():
            await tb.cycles(50)
            tb.score()  # as it goes: the first mismatch is reported near where it happened
        await tb.check()
        if round_ == 1:
            await tb.csr.write(SfCsr.CTRL, CLEAR)
            csr_write(tb.model, SfCsr.CTRL, CLEAR)
            assert await tb.counters() == dict.fromkeys(COUNTERS, 0)
            assert await tb.csr.read(SfCsr.ENTRIES) == len(tb.model.lines())
    assert tb.coverage["victim"] > 0 and tb.coverage["LOOKUP-hit"] > 0
    assert tb.coverage["UPDATE-hit"] > 0 and tb.coverage["DEALLOCATE-hit"] > 0


factory = TestFactory(random_traffic)
factory.add_option("idle", [False, True])
factory.add_option("stall", [False, True])
factory.generate_tests()


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def outputs_hold_under_back_pressure(dut: Any) -> None:
    """Stalled outputs hold their beat and stop the filter at the right point: a held response
    blocks the next request's answer; a held victim blocks only the next replacement."""
    tb = await TB.create(dut)
    tb.start_hold_checkers()
    ways = tb.params.ways
    lines = tb.stim.fresh_lines(0, ways + 2)
    for line in lines[:ways]:
        tb.send(SfOp.ALLOCATE, line, tb.stim.sharers())
    await tb.check()

    tb.responses.set_pause_generator(itertools.repeat(True))
    tb.victims.set_pause_generator(itertools.repeat(True))
    before = tb.requests.count
    tb.send(SfOp.ALLOCATE, lines[ways], tb.stim.sharers())  # replaces
    for line in lines[:3]:
        tb.send(SfOp.LOOKUP, line)
    await tb.cycles(30)
    # the ALLOCATE's response and victim wait; the first LOOKUP waits to answer; no more taken
    assert tb.requests.count - before == 2
    assert dut.m_rsp_valid.value == 1 and dut.m_victim_valid.value == 1
    assert await tb.status() & BUSY

    tb.responses.set_pause_generator(None)  # answers flow; the victim still waits
    await tb.cycles(40)
    tb.score()
    assert tb.scored == len(tb.requests.sent) and tb.requests.idle()
    assert dut.m_victim_valid.value == 1 and not tb.victim_log

    before = tb.requests.count
    tb.send(SfOp.ALLOCATE, lines[ways + 1], tb.stim.sharers())  # replaces: must wait
    tb.send(SfOp.LOOKUP, lines[ways + 1])
    await tb.cycles(30)
    assert tb.requests.count - before == 1
    tb.score()
    assert tb.scored == len(tb.requests.sent) - 1, "a replacement answered past a held victim"

    tb.victims.set_pause_generator(pause_pattern([1, 1, 0]))
    await tb.cycles(20)
    await tb.check()
    assert len(tb.victim_log) == 2


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def reset_in_mid_traffic(dut: Any) -> None:
    """A reset while requests, responses and victims are moving: empty again (every line
    misses, counters and ENTRIES 0, outputs idle), then exact again."""
    tb = await TB.create(dut)
    tb.responses.set_pause_generator(LfsrPause(0.3, seed=tb.rng.getrandbits(32)))
    tb.victims.set_pause_generator(LfsrPause(0.6, seed=tb.rng.getrandbits(32)))
    pool = [tb.stim.line_of(t, i) for t in tb.stim.tags for i in range(tb.params.sets)]
    for line in pool:
        tb.send(SfOp.ALLOCATE, line, tb.stim.sharers())
    await tb.send_random(100)
    await tb.cycles(tb.rng.randrange(60, 150))
    assert not tb.requests.idle()
    tb.requests.clear()  # stop: the request on offer is taken, the rest dropped
    await tb.requests.wait()
    await tb.reset(cycles=tb.rng.randrange(1, 4))
    assert dut.m_rsp_valid.value == 0 and dut.m_victim_valid.value == 0
    tb.restart()
    assert tb.scored > 0
    for reg in SfCsr:
        got = await tb.csr.read(reg)
        assert got == csr_read(tb.model, tb.params, reg), f"{reg.name} after reset: {got:#x}"
    for line in pool:
        tb.send(SfOp.LOOKUP, line)
    await tb.check()
    assert tb.model.counters.misses == len(pool)
    await tb.send_random(150)
    await tb.check()


# -- pytest: one test per (simulator, parameter set, cocotb test) -------------------------------

COCOTB_TESTS = testing.cocotb_test_names(globals())


@pytest.mark.parametrize(
    ("sim", "param_set", "testcase"), testing.cases(SNOOP_FILTER, COCOTB_TESTS)
)
def test_snoop_filter(sim: str, param_set: str, testcase: str) -> None:
    testing.run_case(SNOOP_FILTER, sim, param_set, testcase)


# -- planted bugs: the scoreboard must catch them ----------------------------------------------

# random_traffic_00N from TestFactory, in the order of its options: (idle, stall)
RANDOM_PLAIN, RANDOM_STALL = "random_traffic_001", "random_traffic_002"
# SF_PLANT_BUG value -> (the test that must catch it, tests it escapes)
PLANTED_BUGS = {
    1: (RANDOM_PLAIN, ()),  # a touch forgets the pLRU tree's leaf level: wrong victims
    2: (RANDOM_STALL, (RANDOM_PLAIN,)),  # a victim offered to a stalled m_victim is dropped
}


# The planted bugs are properties of the RTL and this scoreboard, not of the simulator, and each
# costs a build of its own: they run on Icarus (a build in well under a second; Verilator's takes
# about 10 s), or on Verilator when the regression is restricted to it (SIM=verilator).
PLANTED_SIM = "icarus" if "icarus" in runner.selected_simulators() else "verilator"


@pytest.mark.parametrize(
    ("sim", "bug"), [pytest.param(PLANTED_SIM, b, id=f"{PLANTED_SIM}-bug{b}") for b in PLANTED_BUGS]
)
def test_planted_bug_is_caught(sim: str, bug: int) -> None:
    """Build the RTL with ``SF_PLANT_BUG=bug``: the random test must fail on a scoreboard check
    (not a timeout or a crash); where listed, a test without the right inserter misses it."""
    assert {RANDOM_PLAIN, RANDOM_STALL} <= set(COCOTB_TESTS)
    param_set = next(iter(SNOOP_FILTER.param_sets))
    catcher, escapes = PLANTED_BUGS[bug]
    for testcase in (catcher, *escapes):
        result = runner.run(
            SNOOP_FILTER,
            sim,
            SNOOP_FILTER.params(param_set),
            testcase=testcase,
            seed=testing.seed_for(SNOOP_FILTER, param_set, testcase),
            defines={"SF_PLANT_BUG": bug},
            run_name=f"bug{bug}-{testcase}",
        )
        log = result.log.read_text(errors="replace")
        if testcase == catcher:
            assert result.failures, f"planted bug {bug} went unnoticed by {testcase} ({result.log})"
            assert SCOREBOARD in log, f"{testcase} failed, but not on the scoreboard: {result.log}"
            line = next(x for x in log.splitlines() if SCOREBOARD in x)
            print(f"bug {bug} caught by {testcase}: {line.strip()}")
        else:
            assert not result.failures, f"{testcase} was expected to miss planted bug {bug}"
