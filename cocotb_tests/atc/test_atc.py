"""cocotb testbench of the device ATC (rtl/ats/atc.v) through rtl/tb/tb_atc.v.

The scoreboard is the Python model, ``slugsim.ats.Atc``. The RTL takes at most one operation
per clock from its three inputs (requests, Translation Completions, Invalidate Requests) and is
atomic in that order, so every accepted beat goes to the model in the order of the edges that
took it (two on one edge is itself a failure). Each output stream must then carry exactly the
model's beats, in order: responses (``m_rsp``), Translation Requests (``m_treq``) and
Invalidate Completions (``m_invcpl``). An Invalidate Completion must come strictly after the
last response the model produced before the invalidation (``InvalidationDone.after``): every
response that used a dropped translation has left first; every later response is the model's,
so none may use a dropped translation. At the end the counters and ENTRIES must equal the
model's and STATUS must be idle; under back-pressure held outputs must not change.

The testbench plays the host: it answers each Translation Request after a random delay (so
completions come back out of order) from a page table it remaps when it invalidates.

Random tests log their seed; rerun one with
``SLUGSIM_SEED=<seed> .venv/bin/pytest cocotb_tests/atc -k <name>``. The planted-bug tests at the
bottom build the RTL with ``ATC_PLANT_BUG`` and require this scoreboard to fail.
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
from slugsim.ats import (
    AtcOverflow,
    AtcRequest,
    AtcResponse,
    InvalidateCompletion,
    InvalidateRequest,
    InvSize,
    Status,
    TranslationCompletion,
    TranslationRequest,
)
from slugsim.ats.atc import LARGE_BITS, LARGE_PAGES
from slugsim.ats.csr import (
    ATC_ID,
    COUNTERS,
    AtcCsr,
    AtcParams,
    counter_values,
    csr_read,
    csr_write,
    place_field,
)
from slugsim.testbench import runner, testing
from slugsim.testbench.beat import Beat, ClockTiming
from slugsim.testbench.blocks import ATC
from slugsim.testbench.csr import CsrMaster
from slugsim.testbench.pause import LfsrPause
from slugsim.testbench.stream import StreamBus, StreamSink, StreamSource

TIMEOUT_US = 2000
HIT_LATENCY = 2  # edges from the one accepting a request to the first that can take its hit
CLEAR = place_field(1, "CTRL", "CLEAR")
BUSY = place_field(1, "STATUS", "BUSY")
SCOREBOARD = "scoreboard: "  # starts every scoreboard failure (the planted-bug tests look for it)


@dataclass(slots=True)
class Expected:
    """An output beat the model produced, and the edge of the operation that produced it."""

    value: Any
    edge: int
    after: int = 0  # Invalidate Completions: responses that must have left first


# -- the host: a page table and a translation agent -----------------------------------------------


class Host:
    """Translations for the pages the stimulus uses: a region is mapped with one 2 MiB page or
    with 4 KiB pages; each mapping has random permissions; a remap (after an invalidation)
    gives the region new host pages."""

    def __init__(self, rng: random.Random, params: AtcParams) -> None:
        self.rng = rng
        self.params = params
        self.large: dict[int, bool] = {}
        self.generation: Counter[int] = Counter()
        self.fail_rate = 0.05

    def remap(self, region: int | None) -> None:
        for key in [region] if region is not None else list(self.large):
            self.large.pop(key, None)
            self.generation[key] += 1

    def completion(self, treq: TranslationRequest) -> TranslationCompletion:
        region = treq.page >> LARGE_BITS
        if region not in self.large:
            self.large[region] = self.rng.random() < 0.35
        large = self.large[region]
        key = (region if large else treq.page, self.generation[region], large)
        mapping = random.Random(hash(key) ^ 0x5A5A)  # the same page, the same answer
        ppn = mapping.getrandbits(self.params.ppn_width)
        r = int(mapping.random() < 0.93)
        w = int(mapping.random() < 0.7)
        io = int(mapping.random() < 0.15)
        ok = int(self.rng.random() >= self.fail_rate)
        return TranslationCompletion(treq.tag, ok, ppn, int(large), r, w, io)


class Stimulus:
    """Pages from a few 2 MiB regions, a few pages each, so sets fill and replace, requests
    merge, and 2 MiB translations cover several of them."""

    def __init__(self, rng: random.Random, params: AtcParams) -> None:
        self.rng = rng
        self.params = params
        region_bits = params.vpn_width - LARGE_BITS
        regions: set[int] = set()
        while len(regions) < min(5, 1 << region_bits):
            regions.add(rng.getrandbits(region_bits))
        self.regions = sorted(regions)
        count = params.entries + 6  # more pages than entries: sets replace
        self.pages = sorted(
            {
                (rng.choice(self.regions) << LARGE_BITS) | rng.getrandbits(LARGE_BITS)
                for _ in range(count)
            }
        )
        self.tag = 0

    def request(
        self, page: int | None = None, write: int | None = None, cache: int | None = None
    ) -> AtcRequest:
        self.tag = (self.tag + 1) % (1 << self.params.tag_width)
        return AtcRequest(
            self.tag,
            self.rng.choice(self.pages) if page is None else page,
            int(self.rng.random() < 0.3) if write is None else write,
            int(self.rng.random() < 0.8) if cache is None else cache,
        )

    def invalidation(self, itag: int) -> InvalidateRequest:
        size = self.rng.choices([InvSize.PAGE, InvSize.LARGE, InvSize.ALL], [6, 3, 1])[0]
        page = self.rng.choice(self.pages)
        if self.rng.random() < 0.3:  # another page of a region in use
            page ^= self.rng.getrandbits(LARGE_BITS)
        return InvalidateRequest(itag, page, int(size))


def idle_cycles(rng: random.Random) -> Iterator[int]:
    """Idle-cycle generator: mostly back to back, sometimes a gap of up to 7 cycles."""
    while True:
        yield rng.choice([0, 0, 0, 0, 1, 2, 7])


# -- testbench ------------------------------------------------------------------------------------


class TB:
    """Clock (from the HDL wrapper), reset, six streams, the CSR master, the host and the
    scoreboard."""

    def __init__(self, dut: Any) -> None:
        self.dut = dut
        self.clk = dut.clk
        self.log = dut._log
        self.rng = testing.seeded_rng(dut)
        dut.rst.setimmediatevalue(0)
        self.timing = ClockTiming(self.clk)
        self.csr = CsrMaster(dut, self.clk)
        self.buses = {
            "s_req": StreamBus.from_prefix(dut, "s_req", AtcRequest),
            "m_rsp": StreamBus.from_prefix(dut, "m_rsp", AtcResponse),
            "m_treq": StreamBus.from_prefix(dut, "m_treq", TranslationRequest),
            "s_tcpl": StreamBus.from_prefix(dut, "s_tcpl", TranslationCompletion),
            "s_inv": StreamBus.from_prefix(dut, "s_inv", InvalidateRequest),
            "m_invcpl": StreamBus.from_prefix(dut, "m_invcpl", InvalidateCompletion),
        }
        self.requests = StreamSource(self.buses["s_req"], self.clk, record=True)
        self.completions = StreamSource(self.buses["s_tcpl"], self.clk, record=True)
        self.invalidations = StreamSource(self.buses["s_inv"], self.clk, record=True)
        self.responses = StreamSink(self.buses["m_rsp"], self.clk)
        self.treqs = StreamSink(self.buses["m_treq"], self.clk)
        self.invcpls = StreamSink(self.buses["m_invcpl"], self.clk)
        self.params = AtcParams()
        self.model = self.params.model()
        self.stim: Stimulus
        self.host: Host
        self.auto_host = True  # answer Translation Requests as they come
        self.host_delay = (0, 24)  # cycles before an answer, uniformly
        self.taken = {"req": 0, "tcpl": 0, "inv": 0}  # beats of each input given to the model
        self.expected: dict[str, list[Expected]] = {"rsp": [], "treq": [], "invcpl": []}
        self.log_out: dict[str, list[Beat[Any]]] = {"rsp": [], "treq": [], "invcpl": []}
        self.checked = {"rsp": 0, "treq": 0, "invcpl": 0}
        self.violations: list[str] = []
        self.coverage: Counter[str] = Counter()
        self.itag = 0

    @classmethod
    async def create(cls, dut: Any) -> TB:
        tb = cls(dut)
        await tb.timing.measure()
        await tb.reset()
        info = await tb.csr.read(AtcCsr.INFO)
        tb.params = AtcParams.from_info(info, await tb.csr.read(AtcCsr.WIDTHS))
        built = json.loads(os.environ.get("SLUGSIM_PARAMS", "{}"))
        if built:
            assert tb.params == AtcParams.from_rtl(built), f"INFO {tb.params} != build {built}"
        assert len(dut.s_req_page) == len(dut.m_treq_page) == tb.params.vpn_width
        assert len(dut.m_rsp_page) == len(dut.s_tcpl_page) == tb.params.ppn_width
        assert len(dut.s_req_tag) == len(dut.m_rsp_tag) == tb.params.tag_width
        assert len(dut.m_treq_tag) == len(dut.s_tcpl_tag) == tb.params.mshr_tag_width
        tb.log.info("DUT: %s", tb.params)
        tb.model = tb.params.model()
        tb.stim = Stimulus(tb.rng, tb.params)
        tb.host = Host(tb.rng, tb.params)
        cocotb.start_soon(tb._host())
        return tb

    async def reset(self, cycles: int = 3) -> None:
        await testing.reset(self.dut, self.clk, cycles)

    async def cycles(self, n: int) -> None:
        """Sleep n clock cycles with one wake-up (ends just after a rising edge)."""
        period = self.timing.period_ps
        if n > 0:
            await Timer(n * period - period // 2, "ps")
        await RisingEdge(self.clk)

    # -- the host ---------------------------------------------------------------------------

    async def _host(self) -> None:
        while True:
            beat = await self.treqs.recv_beat()
            self.log_out["treq"].append(beat)
            if self.auto_host:
                cocotb.start_soon(self._answer(beat.value, self.rng.randint(*self.host_delay)))

    async def _answer(self, treq: TranslationRequest, delay: int) -> None:
        await self.cycles(delay)
        await self.completions.send(self.host.completion(treq))

    def invalidate(self, page: int, size: InvSize = InvSize.PAGE) -> None:
        self.send_inv(InvalidateRequest(self.next_itag(), page, int(size)))

    def next_itag(self) -> int:
        self.itag = (self.itag + 1) % 32
        return self.itag

    def send_inv(self, inv: InvalidateRequest) -> None:
        """An invalidation; the host remaps what it covers (the old translation is gone)."""
        self.host.remap(None if inv.size == InvSize.ALL else inv.page >> LARGE_BITS)
        self.invalidations.send_nowait(inv)

    # -- traffic ----------------------------------------------------------------------------

    def request(
        self, page: int | None = None, write: int | None = None, cache: int | None = None
    ) -> AtcRequest:
        req = self.stim.request(page, write, cache)
        self.requests.send_nowait(req)
        return req

    async def status(self) -> int:
        return await self.csr.read(AtcCsr.STATUS)

    def release(self) -> None:
        for sink in (self.responses, self.treqs, self.invcpls):
            sink.set_pause_generator(None)

    async def quiesce(self, limit: int = 20000) -> None:
        """Release the outputs and wait until every input is taken and nothing is in flight."""
        self.release()
        for source in (self.requests, self.invalidations):
            await source.wait()
        for _ in range(limit // 8):
            if self.completions.idle() and not await self.status() & BUSY:
                return
            await self.cycles(8)
        raise AssertionError(f"{SCOREBOARD}still busy {limit} cycles after the last request")

    async def counters(self) -> dict[str, int]:
        return {name: await self.csr.read(AtcCsr[name]) for name in COUNTERS}

    # -- scoreboard -------------------------------------------------------------------------

    def score(self, final: bool = False) -> None:
        """Feed the model every input beat taken before this edge, in edge order, then check
        every output beat received so far against the model's, stream by stream."""
        now = self.timing.cycle_of(round(cocotb.utils.get_sim_time("ps")))
        inputs = []
        for kind, source in (
            ("req", self.requests),
            ("tcpl", self.completions),
            ("inv", self.invalidations),
        ):
            for beat in source.sent[self.taken[kind] :]:
                if final or beat.cycle < now:
                    inputs.append((beat.cycle, kind, beat))
        inputs.sort(key=lambda x: x[0])
        for (a, ka, _), (b, kb, _) in itertools.pairwise(inputs):
            assert a != b, f"{SCOREBOARD}{ka} and {kb} both taken at edge {a}"
        for edge, kind, beat in inputs:
            self.taken[kind] += 1
            self._apply(kind, beat.value, edge)
        self.log_out["rsp"].extend(self.responses.drain())
        self.log_out["invcpl"].extend(self.invcpls.drain())
        for stream in ("rsp", "treq", "invcpl"):
            self._match(stream)

    def _apply(self, kind: str, value: Any, edge: int) -> None:
        where = f"{kind} {value} taken at edge {edge}"
        if kind == "req":
            try:
                out = self.model.request(value)
            except AtcOverflow as exc:
                raise AssertionError(f"{SCOREBOARD}{where}: accepted without room: {exc}") from None
            hit = bool(out.responses)
            self.coverage[
                "hit" if hit else "merge" if not out.translation_requests else "miss"
            ] += 1
        elif kind == "tcpl":
            stale = self.model.discards(value)
            pending = self.model.pending().get(value.tag)
            # another page of its region was invalidated, but this 4 KiB translation is used
            self.coverage["region-mate-kept"] += bool(pending and pending[3] and not stale)
            out = self.model.complete(value)
            self.coverage["stale-completion" if stale else "completion"] += 1
            self.coverage["large-fill"] += bool(value.large and value.ok and not stale)
            self.coverage["waiters>=3"] += len(out.responses) >= 3
        else:
            out = self.model.invalidate(value)
            self.coverage[f"inv-{InvSize(value.size).name}"] += 1
        for rsp in out.responses:
            self.expected["rsp"].append(Expected(rsp, edge))
            self.coverage[Status(rsp.status).name] += 1
        for treq in out.translation_requests:
            self.expected["treq"].append(Expected(treq, edge))
        for done in out.invalidations:
            self.expected["invcpl"].append(Expected(done.completion, edge, done.after))
            self.coverage["inv-behind-responses"] += done.after > len(self.log_out["rsp"])

    def _match(self, stream: str) -> None:
        got, want = self.log_out[stream], self.expected[stream]
        while self.checked[stream] < len(got):
            i = self.checked[stream]
            beat = got[i]
            if i >= len(want):
                raise AssertionError(
                    f"{SCOREBOARD}{stream} #{i} {beat.value} at edge {beat.cycle}: the model has "
                    f"only {len(want)} ({self.model.pending()})"
                )
            exp = want[i]
            where = f"{stream} #{i} (of the operation taken at edge {exp.edge})"
            assert beat.value == exp.value, (
                f"{SCOREBOARD}{where}: RTL {beat.value} != model {exp.value}"
            )
            assert beat.cycle > exp.edge, (
                f"{SCOREBOARD}{where}: out at edge {beat.cycle}, too early"
            )
            if stream == "invcpl" and exp.after:
                rsps = self.log_out["rsp"]
                last = rsps[exp.after - 1] if len(rsps) >= exp.after else None
                assert last is not None and last.cycle < beat.cycle, (
                    f"{SCOREBOARD}{where}: Invalidate Completion at edge {beat.cycle} before "
                    f"response #{exp.after - 1} ({exp.after} were produced before the "
                    f"invalidation) left" + (f" at edge {last.cycle}" if last else "")
                )
            self.checked[stream] += 1

    async def check(self) -> dict[str, int]:
        """Quiesce, score everything, then counters, ENTRIES and STATUS against the model."""
        await self.quiesce()
        await self.cycles(2)
        self.score(final=True)
        for stream in ("rsp", "treq", "invcpl"):
            missing = len(self.expected[stream]) - self.checked[stream]
            assert missing == 0, (
                f"{SCOREBOARD}{missing} {stream} beats the model produced never came out, the "
                f"first {self.expected[stream][self.checked[stream]].value}"
            )
        assert not self.violations, f"{SCOREBOARD}stream protocol: {self.violations[:3]}"
        counters = await self.counters()
        want = counter_values(self.model.counters)
        assert counters == want, f"{SCOREBOARD}counters: RTL {counters} != model {want}"
        entries = await self.csr.read(AtcCsr.ENTRIES)
        assert entries == len(self.model.translations()), (
            f"{SCOREBOARD}ENTRIES: RTL {entries} != model {len(self.model.translations())}"
        )
        assert await self.status() == 0
        self.log.info(
            "checked %d requests, %d completions, %d invalidations; counters %s; entries %d; "
            "coverage %s",
            self.taken["req"],
            self.taken["tcpl"],
            self.taken["inv"],
            counters,
            entries,
            dict(sorted(self.coverage.items())),
        )
        return counters

    # -- the stream protocol ----------------------------------------------------------------

    def start_hold_checkers(self) -> None:
        for prefix in ("m_rsp", "m_treq", "m_invcpl"):
            cocotb.start_soon(self._hold_checker(self.buses[prefix]))

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
    """Every CSR after reset (INFO and WIDTHS against the build); read-only registers ignore
    writes; unmapped addresses read 0; CTRL.CLEAR zeroes the counters but keeps the entries."""
    tb = await TB.create(dut)
    assert await tb.csr.read(AtcCsr.ID) == ATC_ID
    for reg in AtcCsr:
        got = await tb.csr.read(reg)
        assert got == csr_read(tb.model, tb.params, reg), f"{reg.name} after reset: {got:#x}"
    for reg in AtcCsr:
        if reg is not AtcCsr.CTRL:
            await tb.csr.write(int(reg) | tb.rng.randrange(4), tb.rng.getrandbits(32))
    for addr in (0x38, 0x40, 0x80, 0xFC):
        await tb.csr.write(addr, tb.rng.getrandbits(32))
        assert await tb.csr.read(addr) == 0, f"unmapped {addr:#x} must read 0"
    for reg in AtcCsr:
        assert await tb.csr.read(reg) == csr_read(tb.model, tb.params, reg), reg.name
    for _ in range(6):
        tb.request()
    await tb.check()
    assert tb.model.counters.lookups == 6 and tb.model.counters.hits < 6
    await tb.csr.write(AtcCsr.CTRL, CLEAR)
    csr_write(tb.model, AtcCsr.CTRL, CLEAR)
    assert await tb.counters() == dict.fromkeys(COUNTERS, 0)
    assert await tb.csr.read(AtcCsr.ENTRIES) == len(tb.model.translations())


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def miss_merge_fill_and_hit(dut: Any) -> None:
    """Directed: WAITERS requests to one page send one Translation Request and wait; the
    completion answers them in arrival order; then the page hits with exact unstalled timing
    (one request per cycle, each hit HIT_LATENCY edges after its request)."""
    tb = await TB.create(dut)
    tb.auto_host = False
    tb.host.fail_rate = 0.0
    page = tb.stim.pages[0]
    sent = [tb.request(page, write=0, cache=0) for _ in range(tb.params.waiters)]
    await tb.cycles(20)
    tb.score()
    assert [b.value for b in tb.log_out["treq"]] == [TranslationRequest(0, page)]
    assert tb.log_out["rsp"] == [] and tb.model.counters.merged == tb.params.waiters - 1
    # the waiter list is full: one more request to the page waits at the input
    tb.request(page, write=0, cache=0)
    await tb.cycles(10)
    assert tb.requests.count == tb.params.waiters
    cpl = TranslationCompletion(0, 1, tb.rng.getrandbits(tb.params.ppn_width), 0, 1, 1, 0)
    tb.completions.send_nowait(cpl)
    await tb.check()
    got = [b.value for b in tb.log_out["rsp"]]
    assert [r.tag for r in got[: len(sent)]] == [r.tag for r in sent], "not in arrival order"
    assert all(r == AtcResponse(r.tag, Status.OK, 0, cpl.page) for r in got[: len(sent)])
    assert got[-1].hit == 1  # the one that waited at the input came in after the fill
    # back-to-back hits
    first = len(tb.requests.sent)
    for _ in range(6):
        tb.request(page, write=tb.rng.randrange(2), cache=0)
    await tb.check()
    accepted = [b.cycle for b in tb.requests.sent[first:]]
    assert all(b - a == 1 for a, b in itertools.pairwise(accepted)), accepted
    assert [b.cycle for b in tb.log_out["rsp"][-6:]] == [a + HIT_LATENCY for a in accepted]
    assert all(b.value.hit and b.value.page == cpl.page for b in tb.log_out["rsp"][-6:])


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def large_pages_permissions_and_failures(dut: Any) -> None:
    """A 2 MiB completion covers every 4 KiB page of its region (HPA low bits from the
    request); R/W and CXL.io-only faults carry page 0; a failed completion faults its waiters
    and caches nothing."""
    tb = await TB.create(dut)
    tb.auto_host = False
    region = tb.stim.regions[0] << LARGE_BITS
    ppn = tb.rng.getrandbits(tb.params.ppn_width)
    tb.request(region | 5, write=0, cache=1)
    await tb.cycles(10)
    tb.completions.send_nowait(TranslationCompletion(0, 1, ppn, 1, 1, 0, 0))  # read-only
    await tb.check()
    for offset in (0, 5, 0x1FF, 0x100):
        tb.request(region | offset, write=0, cache=1)
    tb.request(region | 7, write=1, cache=1)  # a write to a read-only page
    await tb.check()
    rsps = [b.value for b in tb.log_out["rsp"][1:]]
    base = ppn & ~((1 << LARGE_BITS) - 1)
    assert [r.page for r in rsps[:4]] == [base | o for o in (0, 5, 0x1FF, 0x100)]
    assert rsps[4].status == Status.PERM and rsps[4].page == 0
    # a CXL.io-only page: CXL.io use fine, CXL.cache use faults
    page = tb.stim.pages[-1] ^ 1
    tb.request(page, write=1, cache=0)
    await tb.cycles(10)
    tb.completions.send_nowait(TranslationCompletion(0, 1, 0x3FF, 0, 1, 1, 1))
    await tb.check()
    tb.request(page, write=0, cache=1)
    tb.request(page, write=1, cache=0)
    await tb.check()
    assert [b.value.status for b in tb.log_out["rsp"][-3:]] == [
        Status.OK,
        Status.IO_ONLY,
        Status.OK,
    ]
    # a failed completion
    other = page ^ 2
    tb.request(other)
    tb.request(other)
    await tb.cycles(10)
    tb.completions.send_nowait(TranslationCompletion(0, 0, 0, 0, 1, 1, 0))
    await tb.check()
    assert [b.value.status for b in tb.log_out["rsp"][-2:]] == [Status.FAILED] * 2
    assert tb.model.counters.faults == 4  # PERM, IO_ONLY, FAILED x2


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def invalidation_waits_for_hits_in_flight(dut: Any) -> None:
    """The race: hits to a page are held in the response FIFO (m_rsp stalled) when an
    invalidation of the page arrives. The Invalidate Completion must wait until they have left;
    requests after the invalidation miss (none uses the old translation). Then an invalidation
    of a page whose translation is on its way: the completion is thrown away and asked again."""
    tb = await TB.create(dut)
    tb.start_hold_checkers()
    tb.host_delay = (2, 6)
    page = tb.stim.pages[0]
    tb.request(page, write=0, cache=0)
    await tb.check()
    tb.host.fail_rate = 0.0
    tb.responses.set_pause_generator(itertools.repeat(True))
    held = tb.params.rsp_depth
    for _ in range(held):
        tb.request(page, write=0, cache=0)
    await tb.cycles(held + 4)
    tb.invalidate(page)
    await tb.cycles(4)
    tb.request(page, write=0, cache=0)  # after the invalidation: must miss
    await tb.cycles(30)
    tb.score()
    assert tb.log_out["invcpl"] == [] and dut.m_invcpl_valid.value == 0, (
        "Invalidate Completion while hits on the page are still held"
    )
    assert tb.coverage["inv-behind-responses"] == 1
    # release the responses one every third cycle: the completion follows the last of them
    tb.responses.set_pause_generator(itertools.cycle([True, True, False]))
    await tb.cycles(6 * held)
    await tb.check()
    hits = tb.log_out["rsp"][1 : 1 + held]
    assert all(b.value.hit for b in hits)
    (invcpl,) = tb.log_out["invcpl"]
    assert invcpl.cycle > hits[-1].cycle
    after = tb.log_out["rsp"][1 + held]
    assert after.value.hit == 0, "a request after the invalidation used the old translation"
    # a translation on its way when its page is invalidated: thrown away and asked again
    tb.auto_host = False
    other = tb.stim.pages[-1] ^ 4
    tb.request(other)
    await tb.cycles(10)
    (treq,) = [b.value for b in tb.log_out["treq"][-1:]]
    tb.invalidate(other, InvSize.LARGE)
    await tb.cycles(6)
    tb.completions.send_nowait(tb.host.completion(treq))
    await tb.cycles(10)
    tb.score()
    assert tb.log_out["treq"][-1].value == treq and len(tb.log_out["treq"]) >= 2
    tb.auto_host = True
    tb.completions.send_nowait(tb.host.completion(treq))
    await tb.check()
    assert tb.coverage["stale-completion"] == 1
    # ... but not when another 4 KiB page of its region is invalidated: a 4 KiB translation of
    # the page does not overlap it and is used (the unmap-storm livelock, docs/ats.md)
    tb.auto_host = False
    region = other & ~(LARGE_PAGES - 1)
    mate, victim = [p for p in range(region, region + LARGE_PAGES) if p not in tb.stim.pages][:2]
    tb.invalidate(mate, InvSize.LARGE)  # no 2 MiB entry may serve it: it must miss
    await tb.cycles(6)
    tb.request(mate)
    await tb.cycles(10)
    treq = tb.log_out["treq"][-1].value
    assert treq.page == mate
    tb.invalidate(victim)
    await tb.cycles(6)
    asked = len(tb.log_out["treq"])
    tb.completions.send_nowait(tb.host.completion(treq)._replace(ok=1, large=0))
    await tb.cycles(10)
    tb.score()
    assert len(tb.log_out["treq"]) == asked, "a 4 KiB translation of another page thrown away"
    tb.auto_host = True
    await tb.check()
    assert tb.coverage["region-mate-kept"] >= 1


async def random_traffic(dut: Any, idle: bool = False, stall: bool = False) -> None:
    """Constrained random requests, invalidations and out-of-order completions scored against
    the model, with idle cycles on the inputs and back-pressure on every output."""
    tb = await TB.create(dut)
    if stall:
        tb.start_hold_checkers()
    if idle:
        for source in (tb.requests, tb.invalidations):
            source.set_idle_generator(idle_cycles(tb.rng))
    for round_ in range(3):
        if stall:
            tb.responses.set_pause_generator(LfsrPause(0.5, seed=tb.rng.getrandbits(32)))
            tb.treqs.set_pause_generator(LfsrPause(0.3, seed=tb.rng.getrandbits(32)))
            tb.invcpls.set_pause_generator(LfsrPause(0.5, seed=tb.rng.getrandbits(32)))
        for _ in range(150):
            tb.request()
            if tb.rng.random() < 0.08:
                tb.send_inv(tb.stim.invalidation(tb.next_itag()))
            if tb.rng.random() < 0.1:
                await tb.cycles(tb.rng.randrange(1, 6))
                tb.score()  # as it goes: the first mismatch is reported near where it happened
        while not tb.requests.idle():
            await tb.cycles(40)
            tb.score()
        await tb.check()
        if round_ == 1:
            await tb.csr.write(AtcCsr.CTRL, CLEAR)
            csr_write(tb.model, AtcCsr.CTRL, CLEAR)
            assert await tb.counters() == dict.fromkeys(COUNTERS, 0)
    cov = tb.coverage
    assert cov["hit"] and cov["miss"] and cov["merge"] and cov["inv-PAGE"] and cov["large-fill"]
    assert cov["PERM"] and cov["IO_ONLY"]


factory = TestFactory(random_traffic)
factory.add_option("idle", [False, True])
factory.add_option("stall", [False, True])
factory.generate_tests()


# -- pytest: one test per (simulator, parameter set, cocotb test) -------------------------------

COCOTB_TESTS = testing.cocotb_test_names(globals())


@pytest.mark.parametrize(("sim", "param_set", "testcase"), testing.cases(ATC, COCOTB_TESTS))
def test_atc(sim: str, param_set: str, testcase: str) -> None:
    testing.run_case(ATC, sim, param_set, testcase)


# -- planted bugs: the scoreboard must catch them ----------------------------------------------

# random_traffic_00N from TestFactory, in the order of its options: (idle, stall)
RANDOM_PLAIN, RANDOM_STALL = "random_traffic_001", "random_traffic_002"
# ATC_PLANT_BUG value -> (the test that must catch it, tests it escapes)
PLANTED_BUGS = {
    1: (RANDOM_STALL, (RANDOM_PLAIN,)),  # Invalidate Completion before the hits ahead drained
    2: (RANDOM_PLAIN, ()),  # the last of three or more merged waiters is never answered
}

# As the snoop filter's: each planted bug is a build of its own, on Icarus (fast to build) unless
# the regression is restricted to Verilator.
PLANTED_SIM = "icarus" if "icarus" in runner.selected_simulators() else "verilator"


@pytest.mark.parametrize(
    ("sim", "bug"), [pytest.param(PLANTED_SIM, b, id=f"{PLANTED_SIM}-bug{b}") for b in PLANTED_BUGS]
)
def test_planted_bug_is_caught(sim: str, bug: int) -> None:
    """Build the RTL with ``ATC_PLANT_BUG=bug``: the random test must fail on a scoreboard
    check (not a timeout or a crash); where listed, a test without the right inserter misses it."""
    assert {RANDOM_PLAIN, RANDOM_STALL} <= set(COCOTB_TESTS)
    param_set = next(iter(ATC.param_sets))
    catcher, escapes = PLANTED_BUGS[bug]
    for testcase in (catcher, *escapes):
        result = runner.run(
            ATC,
            sim,
            ATC.params(param_set),
            testcase=testcase,
            seed=testing.seed_for(ATC, param_set, testcase),
            defines={"ATC_PLANT_BUG": bug},
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
