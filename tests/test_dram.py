"""DramChannel: a FIFO bandwidth server whose bus pays a turnaround per batch of posted writes."""

import pytest
from slugsim.components import Type3Params
from slugsim.components.dram import DramChannel

LATENCY = 50_000  # ps
SERVICE = 1_000  # ps per 64 B line at 64 GB/s
TURN = 20_000  # ps per read->write->read turnaround


def channel(turnaround: int = TURN, write_batch: int = 4) -> DramChannel:
    ch = DramChannel(LATENCY, 64 * 10**9, turnaround=turnaround, write_batch=write_batch)
    assert ch.service == SERVICE
    return ch


def test_default_channel_is_the_plain_fifo_server():
    ch = DramChannel(LATENCY, 64 * 10**9)
    assert ch.access(0) == SERVICE + LATENCY
    # A write takes the next slot in order and completes at its end; a read queues behind it.
    assert ch.write(0) == 2 * SERVICE
    assert ch.access(0) == 3 * SERVICE + LATENCY
    assert ch.turnaround_ps == 0 and ch.wq == 0 and ch.busy_ps == 3 * SERVICE


def test_idle_read_latency_is_unchanged_by_the_turnaround():
    ch = channel()
    assert ch.access(5_000) == 5_000 + SERVICE + LATENCY
    assert ch.queued_ps == 0 and ch.turnaround_ps == 0


def test_an_all_reads_stream_never_pays_a_turnaround():
    ch = channel()
    done = [ch.access(0) for _ in range(100)]
    assert done[-1] == 100 * SERVICE + LATENCY  # back to back, nothing lost
    assert ch.turnaround_ps == 0 and ch.drains == 0


@pytest.mark.parametrize(("batch", "drains"), [(1, 10), (5, 2)])
def test_write_batches_amortise_the_turnaround(batch, drains):
    """Ten reads and ten writes alternating, all at once: batches of one pay a turnaround per
    write; batches of five, one per five writes."""
    ch = channel(write_batch=batch)
    for _ in range(10):
        ch.access(0)
        ch.write(0)
    # Saturated: 20 lines of data plus one turnaround per drained batch.
    assert ch.free_at == 20 * SERVICE + drains * TURN
    assert ch.drains == drains and ch.turnaround_ps == drains * TURN and ch.wq == 0


def test_a_full_batch_drains_ahead_of_later_reads():
    ch = channel(write_batch=4)
    for _ in range(3):
        assert ch.write(0) == 0  # posted: accepted on arrival, nothing on the bus yet
    assert ch.free_at == 0 and ch.wq == 3
    ch.write(0)  # the fourth fills the batch: the bus drains it
    assert ch.free_at == TURN + 4 * SERVICE
    # A read arriving during the drain waits for it (write-drain mode).
    assert ch.access(1_000) == TURN + 5 * SERVICE + LATENCY


def test_queued_writes_drain_in_idle_time_without_delaying_a_read():
    ch = channel(write_batch=8)
    for _ in range(3):
        ch.write(0)
    # The bus idled from 0 to 100 ns, room for the turnaround and all 3 writes: the read
    # finds the queue empty and the bus free.
    assert ch.access(100_000) == 100_000 + SERVICE + LATENCY
    assert ch.wq == 0 and ch.drains == 1 and ch.busy_ps == 4 * SERVICE


def test_an_idle_gap_too_short_for_the_turnaround_drains_nothing():
    ch = channel(write_batch=8)
    ch.write(0)
    assert ch.access(TURN) == TURN + SERVICE + LATENCY  # gap = TURN: no room for a write
    assert ch.wq == 1 and ch.drains == 0
    # A gap with room for the turnaround and two writes drains two of three.
    ch.write(TURN + SERVICE)
    ch.write(TURN + SERVICE)
    ch.access(2 * TURN + 3 * SERVICE)  # idle since TURN + SERVICE: TURN + 2 lines fit
    assert ch.wq == 1 and ch.drains == 1


def test_writes_wait_for_queue_room_while_a_batch_awaits_the_bus():
    ch = channel(write_batch=2)
    for _ in range(10):
        ch.access(0)  # the bus is busy until 10 lines from now
    ch.write(0)
    ch.write(0)  # batch full: it drains once the reads are done
    drain_start = 10 * SERVICE
    assert ch.free_at == drain_start + TURN + 2 * SERVICE
    # The next write is accepted only when that batch starts leaving the queue.
    assert ch.write(0) == drain_start
    assert ch.write(drain_start + 1) == drain_start + 1


def test_a_saturated_mix_delivers_lines_over_data_plus_turnarounds():
    # 3 reads : 1 write, as a 3:1 memory-traffic mix, saturating the bus.
    ch = channel(write_batch=4)
    lines = 0
    for _ in range(400):
        for _ in range(3):
            ch.access(0)
        ch.write(0)
        lines += 4
    assert ch.free_at == lines * SERVICE + (400 // 4) * TURN


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="turnaround"):
        DramChannel(LATENCY, 64 * 10**9, turnaround=-1)
    with pytest.raises(ValueError, match="batch"):
        DramChannel(LATENCY, 64 * 10**9, write_batch=0)
    with pytest.raises(ValueError, match="bandwidth"):
        DramChannel(LATENCY, 0)


def test_device_defaults_are_ddr4_2400_clocks():
    params = Type3Params()
    clock_ps = 10**12 // (1200 * 10**6)  # DDR4-2400: 1200 MHz, 833 ps
    # read->write 2 + tWTR 5 + CL 17 clocks (Type3Params comments).
    assert params.dram_turnaround == pytest.approx(24 * clock_ps, abs=24)
    assert params.dram_write_batch >= 1
