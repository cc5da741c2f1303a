"""cocotb testbench of the DCOH bias / back-invalidation block (rtl/coherence/dcoh_bias.v)
through rtl/tb/tb_dcoh_bias.v.

The scoreboard is the Python model, ``slugsim.coherence.dcoh_bias.DcohBias``. The RTL takes at
most one input per event (a total order), so every accepted input of the six input streams is
fed to the model in the order of the edges that accepted it; each of the five output streams
must then carry exactly the model's outputs for that stream, in order. An input the model says
the RTL must not have accepted (a Req to a line with a BISnp pending, ...) fails the scoreboard
at once. At the end the CSR counters must equal the model's. Host-side responders answer every
BISnp with a BIRsp and every RdOwnNoData with its completion after a random delay.

Random tests log their seed; rerun one with
``SLUGSIM_SEED=<seed> .venv/bin/pytest cocotb_tests/dcoh_bias -k <name>``. The planted-bug tests
at the bottom build the RTL with ``DCOH_PLANT_BUG`` and require the scoreboard to fail.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import cocotb
import pytest
from cocotb.regression import TestFactory
from cocotb.triggers import ReadOnly, RisingEdge, Timer
from slugsim.coherence.dcoh_bias import (
    BiasData,
    BiasRd,
    BiasWr,
    BIRsp,
    BIRspOp,
    BISnp,
    BISnpOp,
    DcohError,
    DcohParams,
    DevAccess,
    DevRsp,
    Flip,
    FlipCpl,
    M2SGo,
    M2SReq,
    M2SReqOp,
    M2SRwd,
    M2SRwdOp,
    MetaValue,
    Ndr,
    NdrOp,
    RdOwnNoData,
    Want,
)
from slugsim.coherence.dcoh_csr import COUNTERS, CSR_CTRL, CSR_ID, DCOH_ID, counter_addr
from slugsim.coherence.dcoh_csr import counter_values as model_counters
from slugsim.testbench import runner, testing
from slugsim.testbench.blocks import DCOH_BIAS
from slugsim.testbench.csr import CsrMaster
from slugsim.testbench.pause import LfsrPause
from slugsim.testbench.stream import StreamBus, StreamSink, StreamSource, now_ps

TIMEOUT_US = 3000
SCOREBOARD = "scoreboard: "
INPUTS = {  # stream prefix -> (payload type, model method)
    "s_birsp": (BIRsp, "bi_rsp"),
    "s_flip_cpl": (FlipCpl, "flip_completion"),
    "s_cmp": (Ndr, "cmp"),
    "s_bias_data": (BiasData, "bias_data"),
    "s_rwd": (M2SRwd, "m2s_rwd"),
    "s_m2s": (M2SReq, "m2s_req"),
    "s_dev": (DevAccess, "device_access"),
    "s_flip": (Flip, "flip"),
}
OUTPUTS = {  # stream prefix -> (payload type, model output list)
    "m_dev_rsp": (DevRsp, "dev_rsp"),
    "m_bisnp": (BISnp, "bisnp"),
    "m_m2s_go": (M2SGo, "m2s_go"),
    "m_rwd_go": (M2SGo, "rwd_go"),
    "m_rdownnodata": (RdOwnNoData, "rdownnodata"),
    "m_ndr": (Ndr, "ndr"),
    "m_bias_rd": (BiasRd, "bias_rd"),
    "m_bias_wr": (BiasWr, "bias_wr"),
}


class TB:
    def __init__(self, dut: Any) -> None:
        self.dut = dut
        self.clk = dut.clk
        self.log = dut._log
        self.rng = testing.seeded_rng(dut)
        dut.rst.setimmediatevalue(0)
        self.csr = CsrMaster(dut, self.clk)
        self.src = {
            p: StreamSource(StreamBus.from_prefix(dut, p, t), self.clk, record=True)
            for p, (t, _) in INPUTS.items()
        }
        self.sink = {
            p: StreamSink(StreamBus.from_prefix(dut, p, t), self.clk)
            for p, (t, _) in OUTPUTS.items()
        }
        self.received: dict[str, list[Any]] = {p: [] for p in OUTPUTS}
        self.checked = dict.fromkeys(OUTPUTS, 0)
        self.fed = 0
        self.auto = True  # host-side responders answer BISnp and RdOwnNoData
        self.in_flight = 0  # responses the responders have yet to send
        self.conflict_rate = 0.0  # how often the host meets a BISnp with a BIConflict first
        self.conflict_tags = itertools.count(1)
        self.coverage: Counter[str] = Counter()
        built = json.loads(os.environ.get("SLUGSIM_PARAMS", "{}"))
        self.params = DcohParams.from_rtl(built) if built else DcohParams()
        assert len(dut.s_dev_line) == self.params.addr_width
        assert len(dut.s_flip_page) == self.params.page_width
        self.model = self.params.model()
        for prefix in OUTPUTS:
            cocotb.start_soon(self._collect(prefix))
        self.replays: list[Any] = []  # edges at which the RTL served its parked head
        self.memory: dict[int, int] = {}  # the bias table in device memory (page -> bias)
        self.bias_latency: list[int] = []  # cycles of each bias read (BIAS_IN_MEMORY)

    async def _watch_replays(self) -> None:
        """The replay queue's pops are the RTL's choice of *when*: record their edges so the
        model serves its head in the same place of the acceptance order."""
        take, timing = self.dut.dut.take_replay, self.src["s_m2s"].timing
        while True:
            await ReadOnly()
            taken = int(take.value)
            await RisingEdge(self.clk)
            if taken:
                self.replays.append(timing.beat(None, now_ps()))

    @classmethod
    async def create(cls, dut: Any) -> TB:
        tb = cls(dut)
        await testing.reset(dut, tb.clk, 3)
        cocotb.start_soon(tb._watch_replays())
        assert await tb.csr.read(CSR_ID) == DCOH_ID
        tb.log.info("DUT: %s", tb.params)
        return tb

    async def cycles(self, n: int) -> None:
        await Timer(n * 10, "ns")
        await RisingEdge(self.clk)

    # -- host-side responders -------------------------------------------------------------------

    async def _collect(self, prefix: str) -> None:
        sink = self.sink[prefix]
        while True:
            beat = await sink.recv_beat()
            self.received[prefix].append(beat)
            if prefix == "m_bias_wr":
                self.memory[beat.value.page] = beat.value.bias
            elif prefix == "m_bias_rd":
                self.in_flight += 1
                cocotb.start_soon(self._read_bias(beat.value.page))
            if self.auto and prefix in ("m_bisnp", "m_rdownnodata"):
                self.in_flight += 1
                cocotb.start_soon(self._respond(prefix, beat.value))

    async def _read_bias(self, page: int) -> None:
        """Device memory: the bias word after 4 ... 19 cycles (a DRAM-like read, not a figure)."""
        delay = self.rng.randrange(4, 20)
        self.bias_latency.append(delay)
        await self.cycles(delay)
        self.src["s_bias_data"].send_nowait(BiasData(self.memory.get(page, 0)))
        self.in_flight -= 1

    async def _respond(self, prefix: str, value: Any) -> None:
        await self.cycles(self.rng.randrange(0, 24))
        if prefix == "m_bisnp" and self.rng.random() < self.conflict_rate:
            # the host had a Req to the line in flight: BIConflict first (S4 §3.5.1.3), and
            # the BIRsp only once the device took it (the host waits for the Ack)
            tag = next(self.conflict_tags) % (1 << self.params.tag_width)
            conflict = M2SRwd(M2SRwdOp.BI_CONFLICT, value.line, tag, MetaValue.I)
            self.src["s_rwd"].send_nowait(conflict)
            while conflict not in [b.value for b in self.src["s_rwd"].sent]:
                await self.cycles(1)
        if prefix == "m_rdownnodata":
            self.src["s_flip_cpl"].send_nowait(FlipCpl(value.line))
        else:
            choices = {
                BISnpOp.INV: [BIRspOp.I],
                BISnpOp.DATA: [BIRspOp.I, BIRspOp.S, BIRspOp.E],
                BISnpOp.CUR: [BIRspOp.I, BIRspOp.S],
            }[BISnpOp(value.opcode)]
            self.src["s_birsp"].send_nowait(BIRsp(int(self.rng.choice(choices)), value.bitag))
        self.in_flight -= 1

    # -- scoreboard -----------------------------------------------------------------------------

    def score(self) -> None:
        """Feed the model every input accepted so far, in acceptance order; compare outputs."""
        accepted = sorted(
            [
                (beat.cycle, prefix, beat.value)
                for prefix, source in self.src.items()
                for beat in source.sent
            ]
            + [(beat.cycle, "replay", None) for beat in self.replays],
            key=lambda a: (a[0], a[1]),
        )
        for i in range(self.fed, len(accepted)):
            cycle, prefix, value = accepted[i]
            if i and accepted[i - 1][0] == cycle:
                raise AssertionError(f"{SCOREBOARD}two inputs accepted at edge {cycle}")
            try:
                if prefix == "replay":
                    self.model.replay()
                else:
                    getattr(self.model, INPUTS[prefix][1])(value)
            except DcohError as error:
                raise AssertionError(
                    f"{SCOREBOARD}edge {cycle} {prefix} {value}: {error}"
                ) from None
            self.coverage[prefix] += 1
        self.fed = len(accepted)
        for prefix, (_, name) in OUTPUTS.items():
            want, got = self.model.outputs[name], self.received[prefix]
            for k in range(self.checked[prefix], min(len(want), len(got))):
                assert got[k].value == want[k], (
                    f"{SCOREBOARD}{prefix} #{k} at edge {got[k].cycle}: RTL {got[k].value} "
                    f"!= model {want[k]}"
                )
                self.coverage[f"{prefix}"] += 1
            self.checked[prefix] = min(len(want), len(got))
            assert len(got) <= len(want), (
                f"{SCOREBOARD}{prefix}: RTL sent {got[len(want)].value} the model never did"
            )

    async def quiesce(self, limit: int = 400) -> None:
        for sink in self.sink.values():
            sink.set_pause_generator(None)
        for _ in range(limit):
            await self.cycles(20)
            self.score()
            done = all(s.idle() for s in self.src.values()) and self.in_flight == 0
            same = all(
                len(self.received[p]) == len(self.model.outputs[n]) for p, (_, n) in OUTPUTS.items()
            )
            settled = not self.model.parked and (not self.auto or not any(self.model.trackers))
            if done and same and settled:
                return
        missing = {
            p: len(self.model.outputs[n]) - len(self.received[p]) for p, (_, n) in OUTPUTS.items()
        }
        raise AssertionError(f"{SCOREBOARD}not quiet: outputs the RTL still owes {missing}")

    async def counters(self) -> dict[str, int]:
        return {name: await self.csr.read(counter_addr(name)) for name in COUNTERS}

    async def check(self) -> dict[str, int]:
        await self.quiesce()
        got = await self.counters()
        want = model_counters(self.model)
        blocked = got.pop("M2S_BLOCKED_CYCLES")
        assert got == want, f"{SCOREBOARD}counters: RTL {got} != model {want}"
        self.log.info("checked %d inputs; blocked %d; counters %s", self.fed, blocked, got)
        got["M2S_BLOCKED_CYCLES"] = blocked
        return got

    # -- stimulus -----------------------------------------------------------------------------

    def send(self, prefix: str, value: Any) -> None:
        self.src[prefix].send_nowait(value)

    def lines(self, count: int) -> list[int]:
        return self.rng.sample(range(1 << self.params.addr_width), count)


def idle_cycles(rng: random.Random) -> Iterator[int]:
    while True:
        yield rng.choice([0, 0, 0, 1, 3, 9])


# -- directed tests ---------------------------------------------------------------------------


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def bias_and_flips(dut: Any) -> None:
    """Host bias -> via host; a host->device flip sends one RdOwnNoData per line and turns the
    page device bias only after the last completion; device bias -> local; device->host flip
    is state only."""
    tb = await TB.create(dut)
    tb.auto = False
    p = tb.params
    page = tb.rng.randrange(1 << p.page_width)
    lines = [(page << p.page_lines_log2) + i for i in range(1 << p.page_lines_log2)]
    tb.send("s_dev", DevAccess(1, lines[-1], 0, Want.SHARED))
    tb.send("s_flip", Flip(page, 1))
    await tb.quiesce()
    assert [b.value for b in tb.received["m_dev_rsp"]] == [DevRsp(1, 0, 0)]
    assert [b.value.line for b in tb.received["m_rdownnodata"]] == lines
    for line in lines[:-1]:
        tb.send("s_flip_cpl", FlipCpl(line))
    tb.send("s_dev", DevAccess(2, lines[0], 1, Want.OWN))
    await tb.quiesce()
    assert tb.received["m_dev_rsp"][-1].value == DevRsp(2, 0, 0), "flipped before the last cpl"
    tb.send("s_flip_cpl", FlipCpl(lines[-1]))
    await tb.quiesce()
    tb.send("s_dev", DevAccess(3, lines[0], 1, Want.OWN))
    await tb.quiesce()
    assert tb.received["m_dev_rsp"][-1].value == DevRsp(3, 1, 0)
    tb.send("s_flip", Flip(page, 0))
    await tb.quiesce()
    tb.send("s_dev", DevAccess(4, lines[0], 0, Want.CUR))
    counters = await tb.check()
    assert tb.received["m_dev_rsp"][-1].value == DevRsp(4, 0, 0)
    assert counters["FLIPS_TO_DEVICE"] == 1 and counters["FLIPS_TO_HOST"] == 1
    assert counters["RDOWNNODATA"] == len(lines)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def pending_bisnp_blocks_req_not_rwd(dut: Any) -> None:
    """A device write hitting a line the host may cache sends BISnpInv; a Req to another line
    passes, a Req to that line waits (counted in M2S_BLOCKED_CYCLES) while RwD to it drains;
    BIRspI releases it. Then an SF victim: BISnpInv to the pLRU line, the Req that caused it
    waits for the BIRsp."""
    tb = await TB.create(dut)
    tb.auto = False
    p = tb.params
    page = 1
    base = page << p.page_lines_log2
    tb.send("s_flip", Flip(page, 1))
    await tb.quiesce()
    for b in tb.received["m_rdownnodata"]:
        tb.send("s_flip_cpl", FlipCpl(b.value.line))
    x = base
    tb.send("s_m2s", M2SReq(M2SReqOp.MEM_RD_DATA, x, 1, MetaValue.I))
    tb.send("s_dev", DevAccess(5, x, 1, Want.CUR))
    await tb.quiesce()
    assert [b.value for b in tb.received["m_bisnp"]] == [BISnp(BISnpOp.INV, 0, x)]
    other = x + p.sf_sets if p.sf_sets > 1 else x + 1
    tb.send("s_m2s", M2SReq(M2SReqOp.MEM_RD, other, 2, 0b01))  # MetaField no-op: no SF change
    tb.send("s_m2s", M2SReq(M2SReqOp.MEM_RD, x, 3, MetaValue.A))
    tb.send("s_rwd", M2SRwd(M2SRwdOp.MEM_WR, x, 4, MetaValue.I))
    await tb.cycles(40)
    tb.score()
    # another line passes (with a single tracker, every Req waits for a free one)
    passed = [1, 2] if p.bi_trackers > 1 else [1]
    assert [b.value.tag for b in tb.received["m_m2s_go"]] == passed, "Req to a pending line went"
    assert [b.value.tag for b in tb.received["m_rwd_go"]] == [4], "RwD did not drain"
    assert not tb.received["m_dev_rsp"]
    tb.send("s_birsp", BIRsp(BIRspOp.I, 0))
    counters = await tb.check()
    assert [b.value.tag for b in tb.received["m_m2s_go"]] == [1, 2, 3]
    assert tb.received["m_dev_rsp"][-1].value == DevRsp(5, 1, 1)
    if p.replay_depth and p.bi_trackers > 1:  # parked, not blocked at the input
        assert counters["M2S_PARKED"] == 1
    else:
        assert counters["M2S_BLOCKED_CYCLES"] >= 30

    # x's SF set holds x: WAYS more grants to it fill it and the last names the pLRU victim,
    # then waits for its BIRsp
    fill = [x + k * p.sf_sets for k in range(1, p.sf_ways + 1)]
    for tag, line in enumerate(fill, start=10):
        tb.send("s_m2s", M2SReq(M2SReqOp.MEM_RD, line, tag, MetaValue.S))
    await tb.quiesce()
    victim = tb.model.outputs["bisnp"][-1]
    assert victim.opcode == BISnpOp.INV and tb.model.counters.bisnp_victim == 1
    if p.sf_ways > 1:
        assert tb.received["m_m2s_go"][-1].value.tag == 10 + p.sf_ways - 2
    await tb.cycles(20)
    assert len(tb.received["m_m2s_go"]) == 3 + p.sf_ways - 1
    tb.send("s_birsp", BIRsp(BIRspOp.I, victim.bitag))
    await tb.check()
    assert tb.received["m_m2s_go"][-1].value.tag == 10 + p.sf_ways - 1


# -- random traffic -----------------------------------------------------------------------------


async def random_traffic(dut: Any, idle: bool = False, stall: bool = False) -> None:
    """Random device accesses, M2S Req/RwD and flips over a small pool of lines, with host
    responders; idle cycles on every input, back-pressure on every output; scored against the
    model and the counters at the end of each round."""
    tb = await TB.create(dut)
    p, rng = tb.params, tb.rng
    tb.conflict_rate = 0.5
    # lines of three pages, crowded into two SF sets: sets fill, victims and device hits snoop
    pages = rng.sample(range(1 << p.page_width), 3)
    pool = sorted(
        {
            (rng.choice(pages) << p.page_lines_log2 | rng.randrange(1 << p.page_lines_log2))
            & ~(p.sf_sets - 2 if p.sf_sets > 1 else 0)
            for _ in range(3 * p.sf_ways + 4)
        }
    )
    pages = sorted({line >> p.page_lines_log2 for line in pool})
    if idle:
        for source in tb.src.values():
            source.set_idle_generator(idle_cycles(rng))
    for _ in range(2):
        if stall:
            for prefix, sink in tb.sink.items():
                ratio = 0.7 if prefix == "m_bisnp" else 0.4
                sink.set_pause_generator(LfsrPause(ratio, seed=rng.getrandbits(32)))
        for n in range(120):
            kind = rng.choices(["dev", "m2s", "rwd", "flip", "cmp"], weights=[4, 5, 2, 1, 2])[0]
            line = rng.choice(pool)
            if kind == "dev":
                want = rng.randrange(3)
                tb.send("s_dev", DevAccess(n % (1 << p.id_width), line, rng.random() < 0.3, want))
            elif kind == "m2s":
                op, meta = rng.choice(
                    [
                        (M2SReqOp.MEM_RD, MetaValue.A),
                        (M2SReqOp.MEM_RD, MetaValue.S),
                        (M2SReqOp.MEM_RD, MetaValue.I),
                        (M2SReqOp.MEM_RD_DATA, MetaValue.I),
                        (M2SReqOp.MEM_INV, MetaValue.A),
                        (M2SReqOp.MEM_INV, MetaValue.I),
                        (M2SReqOp.MEM_CLN_EVCT, MetaValue.I),
                        (M2SReqOp.MEM_SPEC_RD, MetaValue.I),
                    ]
                )
                tb.send("s_m2s", M2SReq(op, line, rng.getrandbits(p.tag_width), meta))
            elif kind == "rwd":
                op = rng.choice([M2SRwdOp.MEM_WR, M2SRwdOp.MEM_WR, M2SRwdOp.BI_CONFLICT])
                meta = rng.choice([MetaValue.I, MetaValue.A])
                tb.send("s_rwd", M2SRwd(op, line, rng.getrandbits(p.tag_width), meta))
            elif kind == "cmp":
                op = rng.choice([NdrOp.CMP, NdrOp.CMP_S, NdrOp.CMP_E])
                tb.send("s_cmp", Ndr(op, rng.getrandbits(p.tag_width)))
            else:
                tb.send("s_flip", Flip(rng.choice(pages), rng.random() < 0.7))
        while not all(s.idle() for s in tb.src.values()):
            await tb.cycles(50)
            tb.score()
        await tb.check()
    c = tb.model.counters
    tb.log.info("coverage %s", dict(sorted(tb.coverage.items())))
    assert c.flips_to_device and c.dev_local and c.dev_via_host
    assert c.bisnp_dev + c.bisnp_victim > 0
    assert c.conflicts > 0


factory = TestFactory(random_traffic)
factory.add_option("idle", [False, True])
factory.add_option("stall", [False, True])
factory.generate_tests()


async def device_bias_page(tb: TB, page: int) -> None:
    """Flip ``page`` to device bias (RdOwnNoData answered by hand)."""
    tb.send("s_flip", Flip(page, 1))
    await tb.quiesce()
    for b in tb.received["m_rdownnodata"][-(1 << tb.params.page_lines_log2) :]:
        tb.send("s_flip_cpl", FlipCpl(b.value.line))
    await tb.quiesce()


def ndr(tb: TB) -> list[tuple[int, int]]:
    return [(b.value.opcode, b.value.tag) for b in tb.received["m_ndr"]]


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def bi_conflict_early_and_late(dut: Any) -> None:
    """S4 §3.5.1.3. Early conflict: the host's Req to a line with a BISnp pending is blocked,
    its BIConflict is acked at once (RwD drains) and the Req's Cmp follows the Ack. Late
    conflict: the Req was granted and its Cmp waits on a stalled NDR; the BIConflict must wait
    behind that Cmp, so the host sees Cmp, then Ack."""
    tb = await TB.create(dut)
    tb.auto = False
    p = tb.params
    await device_bias_page(tb, 1)
    await device_bias_page(tb, 2)
    x = 1 << p.page_lines_log2
    y = x + 1 if p.page_lines_log2 else 2  # another SF set (or a fully associative SF)
    ack, cmp_e = int(NdrOp.BI_CONFLICT_ACK), int(NdrOp.CMP_E)
    # early: x granted to the host, then a device write snoops it
    tb.send("s_m2s", M2SReq(M2SReqOp.MEM_RD, x, 1, MetaValue.A))
    tb.send("s_dev", DevAccess(2, x, 1, Want.OWN))
    await tb.quiesce()
    (snoop,) = [b.value for b in tb.received["m_bisnp"]]
    tb.send("s_m2s", M2SReq(M2SReqOp.MEM_RD, x, 7, MetaValue.A))
    tb.send("s_rwd", M2SRwd(M2SRwdOp.BI_CONFLICT, x, 7, MetaValue.I))
    await tb.cycles(30)
    tb.score()
    assert ndr(tb) == [(ack, 7)], "BIConflict not acked while its Req is blocked"
    assert [b.value.tag for b in tb.received["m_m2s_go"]] == [1], "Req passed a pending BISnp"
    tb.send("s_birsp", BIRsp(BIRspOp.I, snoop.bitag))
    await tb.quiesce()
    assert tb.received["m_m2s_go"][-1].value.tag == 7
    tb.send("s_cmp", Ndr(cmp_e, 7))  # the memory pipeline's grant for the released Req
    await tb.quiesce()
    assert ndr(tb) == [(ack, 7), (cmp_e, 7)], "early conflict: Ack then Cmp"
    assert tb.model.counters.conflicts == 1

    # late: y's Req went through; its Cmp-E is stuck on NDR when the BISnp and conflict meet
    tb.send("s_m2s", M2SReq(M2SReqOp.MEM_RD, y, 9, MetaValue.A))
    await tb.quiesce()
    tb.sink["m_ndr"].set_pause_generator(itertools.repeat(True))
    tb.send("s_cmp", Ndr(cmp_e, 9))
    tb.send("s_dev", DevAccess(3, y, 1, Want.OWN))
    await tb.cycles(40)  # with BIAS_IN_MEMORY a bias read first
    tb.score()
    snoop = tb.received["m_bisnp"][-1].value
    assert snoop.line == y and len(tb.received["m_bisnp"]) == 2
    tb.send("s_rwd", M2SRwd(M2SRwdOp.BI_CONFLICT, y, 9, MetaValue.I))
    await tb.cycles(30)
    tb.score()
    assert ndr(tb)[2:] == [], "NDR moved while stalled"
    tb.sink["m_ndr"].set_pause_generator(None)
    await tb.cycles(30)
    tb.score()
    assert ndr(tb)[2:] == [(cmp_e, 9), (ack, 9)], "late conflict: the Ack passed the Cmp"
    tb.send("s_birsp", BIRsp(BIRspOp.I, snoop.bitag))
    counters = await tb.check()
    assert counters["CONFLICTS"] == 2 and counters["CONFLICTS_STRAY"] == 0
    tb.send("s_rwd", M2SRwd(M2SRwdOp.BI_CONFLICT, y, 11, MetaValue.I))  # nothing pending
    counters = await tb.check()
    assert counters["CONFLICTS_STRAY"] == 1 and ndr(tb)[-1] == (ack, 11)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def replay_passes_blocked_req(dut: Any) -> None:
    """REPLAY_DEPTH > 0: a Req to a line with a BISnp pending is parked and a later Req to
    another line passes it (it needs a free tracker); a second Req to the parked line parks
    behind it (or, the queue full, blocks the input). REPLAY_DEPTH = 0: head-of-line, as the
    protocol model. Logs the cycle counts the docs quote: device access -> BISnp, BIRsp ->
    blocked Req released, Req accepted -> released."""
    tb = await TB.create(dut)
    tb.auto = False
    p = tb.params
    await device_bias_page(tb, 1)
    x = 1 << p.page_lines_log2
    other = x + 1  # another SF set (or a fully associative SF): no victim snoop
    tb.send("s_m2s", M2SReq(M2SReqOp.MEM_RD, x, 1, MetaValue.A))
    await tb.quiesce()
    go = tb.received["m_m2s_go"][-1]
    (accepted,) = tb.src["s_m2s"].sent
    req_latency = go.cycle - accepted.cycle
    tb.send("s_dev", DevAccess(2, x, 1, Want.OWN))
    await tb.quiesce()
    bisnp_latency = tb.received["m_bisnp"][-1].cycle - tb.src["s_dev"].sent[-1].cycle
    tb.send("s_m2s", M2SReq(M2SReqOp.MEM_RD, x, 3, MetaValue.A))
    tb.send("s_m2s", M2SReq(M2SReqOp.MEM_RD, other, 2, MetaValue.A))
    tb.send("s_m2s", M2SReq(M2SReqOp.MEM_RD, x, 4, MetaValue.A))
    await tb.cycles(40)
    tb.score()
    tags = [b.value.tag for b in tb.received["m_m2s_go"]]
    passes = p.replay_depth > 0 and p.bi_trackers > 1
    assert tags == ([1, 2] if passes else [1]), f"replay_depth {p.replay_depth}: {tags}"
    assert len(tb.model.parked) == min(p.replay_depth, 2 if p.bi_trackers > 1 else 1)
    tb.send("s_birsp", BIRsp(BIRspOp.I, tb.received["m_bisnp"][-1].value.bitag))
    counters = await tb.check()
    tags = [b.value.tag for b in tb.received["m_m2s_go"]]
    assert tags == ([1, 2, 3, 4] if passes else [1, 3, 2, 4])
    released = next(b for b in tb.received["m_m2s_go"] if b.value.tag == 3)
    blocked_latency = released.cycle - tb.src["s_birsp"].sent[-1].cycle
    tb.log.info(
        "cycles: Req accept->go %d, device access accept->BISnp %d, BIRsp accept->blocked Req "
        "go %d; parked %d, blocked cycles %d",
        req_latency,
        bisnp_latency,
        blocked_latency,
        counters["M2S_PARKED"],
        counters["M2S_BLOCKED_CYCLES"],
    )


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def sf_states(dut: Any) -> None:
    """I/S/A (SF_ISA=1) against I/A: after BIRspS the line is S, so device reads need no
    BISnp while a device write still sends BISnpInv; a shared ask (MemRdData) keeps S, an
    exclusive one (MetaValue A) makes it A again. Under I/A every device access to a tracked
    line snoops."""
    tb = await TB.create(dut)
    tb.auto = False
    p = tb.params
    isa = bool(p.sf_isa)
    await device_bias_page(tb, 1)
    x = 1 << p.page_lines_log2

    async def device(ident: int, write: int, want: int, answer: BIRspOp | None) -> bool:
        """One device access; True when it snooped (answered with ``answer``)."""
        before = len(tb.received["m_bisnp"])
        tb.send("s_dev", DevAccess(ident, x, write, want))
        await tb.quiesce()
        if len(tb.received["m_bisnp"]) == before:
            return False
        assert answer is not None, "unexpected BISnp"
        tb.send("s_birsp", BIRsp(answer, tb.received["m_bisnp"][-1].value.bitag))
        await tb.quiesce()
        return True

    tb.send("s_m2s", M2SReq(M2SReqOp.MEM_RD, x, 1, MetaValue.S))  # alone: A
    await tb.quiesce()
    assert await device(1, 0, Want.SHARED, BIRspOp.S)  # A: BISnpData; the host keeps S
    assert tb.received["m_bisnp"][-1].value.opcode == BISnpOp.DATA
    assert await device(2, 0, Want.SHARED, BIRspOp.S) != isa  # S: a read needs no snoop
    assert await device(3, 0, Want.CUR, BIRspOp.S) != isa
    tb.send("s_m2s", M2SReq(M2SReqOp.MEM_RD_DATA, x, 2, MetaValue.I))  # shared ask: stays S
    await tb.quiesce()
    assert await device(4, 0, Want.CUR, BIRspOp.S) != isa
    assert await device(5, 1, Want.OWN, BIRspOp.I)  # a write: BISnpInv in either
    assert tb.received["m_bisnp"][-1].value.opcode == BISnpOp.INV
    assert not await device(6, 0, Want.CUR, None)  # freed: no snoop
    tb.send("s_m2s", M2SReq(M2SReqOp.MEM_RD, x, 4, MetaValue.S))  # alone again: A
    await tb.quiesce()
    assert await device(7, 0, Want.CUR, BIRspOp.S)  # A: BISnpCur; S kept
    assert tb.received["m_bisnp"][-1].value.opcode == BISnpOp.CUR
    tb.send("s_m2s", M2SReq(M2SReqOp.MEM_INV, x, 5, MetaValue.A))  # exclusive ask: A
    await tb.quiesce()
    assert await device(8, 0, Want.SHARED, BIRspOp.E)  # A: snoops; BIRspE keeps A
    assert await device(9, 0, Want.SHARED, BIRspOp.I)  # still A: snoops again
    await tb.check()


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def bias_table_in_memory(dut: Any) -> None:
    """BIAS_IN_MEMORY: a bias-cache miss reads the page's word from device memory and the
    access waits for it; a hit does not; flips write the table through (and update a cached
    copy). Without it, no memory traffic. Logs the device access latency hit vs miss."""
    tb = await TB.create(dut)
    tb.auto = False
    p = tb.params
    line = 5 << p.page_lines_log2

    async def access(ident: int) -> int:
        tb.send("s_dev", DevAccess(ident, line, 0, Want.CUR))
        await tb.quiesce()
        return tb.received["m_dev_rsp"][-1].cycle - tb.src["s_dev"].sent[-1].cycle

    miss = await access(1)  # host bias, from memory
    hit = await access(2)
    await device_bias_page(tb, 5)  # written through, the cached copy updated
    assert tb.received["m_dev_rsp"][-1].value == DevRsp(2, 0, 0)
    assert await access(3) == hit and tb.received["m_dev_rsp"][-1].value == DevRsp(3, 1, 0)
    tb.send("s_flip", Flip(5, 0))
    await tb.quiesce()
    for n in range(1, 5):  # push page 5 out of the bias cache (same set, every way)
        tb.send("s_dev", DevAccess(4, line + (n * p.bias_sets << p.page_lines_log2), 0, 0))
    await tb.quiesce()
    again = await access(5)  # a miss again: memory holds the host bias written by the flip
    counters = await tb.check()
    assert tb.received["m_dev_rsp"][-1].value == DevRsp(5, 0, 0)
    reads = [b.value.page for b in tb.received["m_bias_rd"]]
    writes = [b.value for b in tb.received["m_bias_wr"]]
    if p.bias_in_memory:
        assert reads[0] == 5 and reads[-1] == 5 and len(reads) == counters["BIAS_MISSES"]
        assert writes == [BiasWr(5, 1), BiasWr(5, 0)]
        assert miss > hit and again > hit
    else:
        assert not reads and not writes and miss == hit
    tb.log.info(
        "cycles: device access accept->rsp, bias-cache hit %d, miss %d and %d (memory read "
        "latencies %s)",
        hit,
        miss,
        again,
        tb.bias_latency,
    )


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def csr_clear(dut: Any) -> None:
    """CTRL.CLEAR zeroes every counter; unmapped addresses read 0."""
    tb = await TB.create(dut)
    tb.send("s_dev", DevAccess(0, 0, 0, 0))
    await tb.check()
    assert (await tb.counters())["BIAS_MISSES"] == 1
    await tb.csr.write(CSR_CTRL, 1)
    assert await tb.counters() == dict.fromkeys(COUNTERS, 0)
    assert await tb.csr.read(0xFC) == 0 and await tb.csr.read(0x04) == 0


# -- pytest: one test per (simulator, parameter set, cocotb test) -------------------------------

COCOTB_TESTS = testing.cocotb_test_names(globals())


@pytest.mark.parametrize(("sim", "param_set", "testcase"), testing.cases(DCOH_BIAS, COCOTB_TESTS))
def test_dcoh_bias(sim: str, param_set: str, testcase: str) -> None:
    testing.run_case(DCOH_BIAS, sim, param_set, testcase)


# -- planted bugs: the scoreboard must catch them ----------------------------------------------

# DCOH_PLANT_BUG value -> the test that must catch it
PLANTED_BUGS = {
    1: "pending_bisnp_blocks_req_not_rwd",  # a Req to a pending line is neither held nor parked
    2: "bias_and_flips",  # a flip turns the page device bias one completion early
    3: "bi_conflict_early_and_late",  # a BIConflictAck overwrites a Cmp stalled on NDR
    4: "sf_states",  # I/S/A: a device write to an S line skips its BISnpInv (needs SF_ISA=1)
    5: "replay_passes_blocked_req",  # the parked head replays with its BISnp still pending
    6: "bias_table_in_memory",  # a flip leaves the cached bias stale (needs BIAS_IN_MEMORY=1)
}
BUG_PARAM_SET = {6: "a12-p8-sf4x1-t2-bm"}  # default: the first set
PLANTED_SIM = "icarus" if "icarus" in runner.selected_simulators() else "verilator"


@pytest.mark.parametrize(
    ("sim", "bug"), [pytest.param(PLANTED_SIM, b, id=f"{PLANTED_SIM}-bug{b}") for b in PLANTED_BUGS]
)
def test_planted_bug_is_caught(sim: str, bug: int) -> None:
    """Build with ``DCOH_PLANT_BUG=bug``: the named test must fail on a scoreboard check (not a
    timeout or a crash)."""
    param_set = BUG_PARAM_SET.get(bug, next(iter(DCOH_BIAS.param_sets)))
    first = next(iter(DCOH_BIAS.param_sets))  # an I/S/A set (bug 4 needs one)
    assert DCOH_BIAS.params(first).get("SF_ISA") == 1  # and REPLAY_DEPTH > 0 (bug 5)
    assert DCOH_BIAS.params(first).get("REPLAY_DEPTH", 0) > 0
    testcase = PLANTED_BUGS[bug]
    assert testcase in COCOTB_TESTS
    result = runner.run(
        DCOH_BIAS,
        sim,
        DCOH_BIAS.params(param_set),
        testcase=testcase,
        seed=testing.seed_for(DCOH_BIAS, param_set, testcase),
        defines={"DCOH_PLANT_BUG": bug},
        run_name=f"bug{bug}-{testcase}",
    )
    log = result.log.read_text(errors="replace")
    assert result.failures, f"planted bug {bug} went unnoticed by {testcase} ({result.log})"
    assert f"AssertionError: {SCOREBOARD}" in log, f"failed, not on the scoreboard: {result.log}"
    line = next(x for x in log.splitlines() if f"AssertionError: {SCOREBOARD}" in x)
    print(f"bug {bug} caught by {testcase}: {line.strip()}")
