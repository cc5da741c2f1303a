"""DramTiming: banks, rows, JEDEC timings, refresh, write drain and FR-FCFS, checked exactly."""

import os
import random

import pytest
from slugsim.components.dram_presets import PRESETS, preset
from slugsim.components.dram_timing import DramTiming
from slugsim.kernel import Simulator

NEVER = 10**15  # first refresh far away, for the tests that are not about refresh


class Recorder:
    """Collects data-ready (reads) or accepted (writes) times by request name."""

    def __init__(self) -> None:
        self.times: dict[object, int] = {}

    def __call__(self, name: object, when: int) -> None:
        self.times[name] = when


def memory(name: str = "ddr4-2400", refresh_at: int = NEVER, **options) -> tuple:
    sim = Simulator()
    dram = DramTiming(sim, preset(name), first_refresh_at=refresh_at, **options)
    return sim, dram, Recorder()


@pytest.mark.parametrize("name", PRESETS)
def test_idle_read_of_a_closed_row_is_rcd_cl_burst(name):
    sim, dram, done = memory(name)
    d = dram.device
    dram.access(1_000, dram.line(bank_group=1, row=7), done, "first")
    sim.run()
    assert done.times["first"] == 1_000 + d.t_rcd + d.t_cl + d.burst


@pytest.mark.parametrize("name", PRESETS)
def test_idle_row_hit_is_cl_burst_and_a_conflict_adds_rp(name):
    sim, dram, done = memory(name)
    d = dram.device
    dram.access(0, dram.line(row=3, column=0), done, "open")
    sim.run()
    later = 200_000  # long after tRAS and every other constraint
    dram.access(later, dram.line(row=3, column=5), done, "hit")
    sim.run()
    assert done.times["hit"] == later + d.t_cl + d.burst
    dram.access(2 * later, dram.line(row=4), done, "conflict")
    sim.run()
    assert done.times["conflict"] == 2 * later + d.t_rp + d.t_rcd + d.t_cl + d.burst
    assert dram.counters()["row_hits"] == 1
    assert dram.counters()["row_misses"] == 1 and dram.counters()["row_conflicts"] == 1


def test_closed_page_policy_makes_every_access_a_miss():
    sim, dram, done = memory(page_policy="closed")
    d = dram.device
    dram.access(0, dram.line(row=3), done, "a")
    sim.run()
    dram.access(200_000, dram.line(row=3, column=1), done, "b")
    sim.run()
    assert done.times["b"] == 200_000 + d.t_rcd + d.t_cl + d.burst
    assert dram.counters()["row_hits"] == 0 and dram.counters()["row_misses"] == 2


def test_four_activate_window_delays_the_fifth_activate():
    sim, dram, done = memory("ddr4-2400")
    d = dram.device
    assert 4 * d.t_rrd_s < d.t_faw  # DDR4-2400: tFAW binds before tRRD_S
    # Five banks in turn of the four bank groups (never twice in a row: tRRD_S applies).
    for i in range(5):
        dram.access(0, dram.line(bank_group=i % 4, bank=i // 4), done, i)
    sim.run()
    assert done.times[3] == 3 * d.t_rrd_s + d.t_rcd + d.t_cl + d.burst
    assert done.times[4] == d.t_faw + d.t_rcd + d.t_cl + d.burst


@pytest.mark.parametrize("name", PRESETS)
def test_refresh_blocks_the_rank_for_rfc_every_refi(name):
    sim, dram, done = memory(name, refresh_at=None)  # first refresh at tREFI
    d = dram.device
    for k in (1, 2, 3):
        arrive = k * d.t_refi + 1
        dram.access(arrive, dram.line(row=k), done, k)
        sim.run()
        # The previous read left its row open: the refresh precharges it first (tRP).
        precharge = d.t_rp if k > 1 else 0
        refreshed = k * d.t_refi + precharge + d.t_rfc
        assert done.times[k] == refreshed + d.t_rcd + d.t_cl + d.burst
    assert dram.controllers[0].refreshes == 3
    # Between refreshes the rank is free: an idle read is not delayed.
    arrive = 3 * d.t_refi + d.t_rfc + 100_000
    dram.access(arrive, dram.line(row=9), done, "between")
    sim.run()
    assert done.times["between"] == arrive + d.t_rp + d.t_rcd + d.t_cl + d.burst


@pytest.mark.parametrize(
    ("name", "channels"), [("ddr4-2400", 2), ("ddr5-4800", 2), ("ddr5-6400", 1)]
)
def test_streaming_reaches_the_peak_bandwidth(name, channels):
    sim, dram, done = memory(name, refresh_at=None, channels=channels)
    d = dram.device
    lines = 40_000
    for line in range(lines):
        dram.access(0, line, done, line)
    sim.run()
    elapsed = max(done.times.values())
    bandwidth = lines * 64 / (elapsed / 1e12)
    peak = channels * d.peak_bytes_per_s
    # All-bank refresh takes tRFC of every tREFI (DDR5: 7.6 %), nothing else may be lost.
    assert bandwidth == pytest.approx(peak * (1 - d.t_rfc / d.t_refi), rel=0.03)
    assert bandwidth <= peak


def test_fr_fcfs_serves_a_younger_row_hit_before_an_older_conflict():
    sim, dram, done = memory()
    # Thirty hits to row 1 of bank 0 keep the bus busy well past the scheduler's lookahead.
    for column in range(30):
        dram.access(0, dram.line(row=1, column=column), done, column)
    dram.access(1_000, dram.line(row=2), done, "older conflict")
    dram.access(2_000, dram.line(row=1, column=40), done, "younger hit")
    sim.run()
    assert done.times["younger hit"] < done.times["older conflict"]
    counters = dram.counters()
    assert counters["row_conflicts"] == 1 and counters["row_hits"] == 30


def test_a_younger_miss_in_the_last_bursts_rank_goes_first_when_its_data_can():
    """First ready counts the data bus: another rank's burst waits tRTRS after this rank's, so
    with two ready misses the younger one in the rank of the last burst follows it at once
    and the older one in the other rank goes next (not: two rank switches)."""
    sim, dram, done = memory(page_policy="closed", ranks=2)
    d = dram.device
    assert d.t_rrd_s <= d.burst  # DDR4-2400: the second ACT of a rank does not hold the bus
    dram.access(0, dram.line(rank=0, bank_group=0), done, "first")
    dram.access(0, dram.line(rank=1, bank_group=0), done, "older, other rank")
    dram.access(0, dram.line(rank=0, bank_group=1), done, "younger, same rank")
    sim.run()
    first = d.t_rcd + d.t_cl + d.burst
    assert done.times["first"] == first
    assert done.times["younger, same rank"] == first + d.burst
    assert done.times["older, other rank"] == first + d.burst + d.t_rtrs + d.burst


def test_an_older_miss_in_another_rank_goes_first_when_this_rank_is_held_back():
    """The same-rank candidate is not preferred blindly: when tFAW holds its ACT back, the
    older request in the other rank has its data on the bus first and goes first."""
    sim, dram, done = memory(page_policy="closed", ranks=2)
    d = dram.device
    for group in range(4):  # four ACTs of rank 0, tRRD_S apart
        dram.access(0, dram.line(rank=0, bank_group=group), done, group)
    dram.access(0, dram.line(rank=1), done, "older, other rank")
    dram.access(0, dram.line(rank=0, bank=1), done, "younger, same rank")
    sim.run()
    fourth = 3 * d.t_rrd_s + d.t_rcd + d.t_cl + d.burst
    assert done.times[3] == fourth
    assert fourth + d.t_rtrs + d.burst < d.t_faw + d.t_rcd + d.t_cl + d.burst
    assert done.times["older, other rank"] == fourth + d.t_rtrs + d.burst
    assert done.times["younger, same rank"] == d.t_faw + d.t_rcd + d.t_cl + d.burst


def test_write_drain_starts_at_the_high_watermark_and_stops_at_the_low():
    options = {"write_queue": 16, "write_high": 8, "write_low": 2}
    # One write fewer than the high watermark: the read goes first, writes wait for idle time.
    sim, dram, done = memory(**options)
    d = dram.device
    for i in range(7):
        dram.write(0, dram.line(bank_group=1, row=i, column=i))
    dram.access(0, dram.line(bank_group=2), done, "read")
    sim.run()
    assert done.times["read"] == d.t_rcd + d.t_cl + d.burst
    assert dram.counters()["write_drains"] == 0 and dram.counters()["writes"] == 7
    # At the high watermark the writes drain first, down to the low watermark, then the read.
    sim, dram, done = memory(**options)
    controller = dram.controllers[0]
    left_when_read_served = []

    def read_done(name, when):
        left_when_read_served.append(len(controller.write_queue))
        done(name, when)

    for i in range(8):
        dram.write(0, dram.line(bank_group=1, column=i))
    dram.access(0, dram.line(bank_group=2), read_done, "read")
    sim.run()
    assert left_when_read_served == [2]  # the low watermark
    assert dram.counters()["write_drains"] == 1
    # Six write bursts went first, then the read turned the bus around.
    assert done.times["read"] >= 6 * d.burst + d.t_wtr_s + d.t_cl + d.burst


def test_a_full_write_queue_delays_acceptance():
    sim, dram, accepted = memory(write_queue=4, write_high=3, write_low=1)
    for i in range(10):
        dram.write(0, dram.line(column=i), accepted, i)
    sim.run()
    assert [accepted.times[i] for i in range(4)] == [0] * 4
    assert all(accepted.times[i] > 0 for i in range(4, 10))
    assert sorted(accepted.times.values()) == [accepted.times[i] for i in range(10)]
    assert dram.counters()["writes"] == 10


@pytest.mark.parametrize("ranks", [1, 2, 4])
def test_random_traffic_keeps_every_timing(ranks, capsys):
    # A fresh seed per run (DRAM_SEED replays one); drawn inside the test so pytest-xdist
    # workers collect the same tests.
    seed = int(os.environ.get("DRAM_SEED") or random.randrange(2**32))
    with capsys.disabled():
        print(f"\ntest_random_traffic_keeps_every_timing seed={seed}")
    rng = random.Random(seed)
    sim, dram, done = memory("ddr5-4800", refresh_at=None, channels=2, ranks=ranks)
    d = dram.device
    arrivals = {}
    t = 0
    for i in range(3000):
        t += rng.randrange(0, 4_000)
        line = rng.randrange(1 << 24)
        if rng.random() < 0.3:
            dram.write(t, line)
        else:
            arrivals[i] = t
            dram.access(t, line, done, i)
    sim.run()
    assert set(done.times) == set(arrivals), f"seed {seed}: reads lost"
    for i, arrive in arrivals.items():
        assert done.times[i] >= arrive + d.t_cl + d.burst, f"seed {seed}: read {i} too fast"
    for controller in dram.controllers:
        assert controller.in_flight() == 0
    assert dram.counters()["reads"] + dram.counters()["writes"] == 3000
