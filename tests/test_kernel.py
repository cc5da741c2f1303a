"""Kernel behaviour: ordering, determinism, processes, links, virtual channels, credits, probes
and errors."""

import random
import re
from enum import IntEnum
from functools import cache
from pathlib import Path

import pytest
import slugsim.kernel
from hypothesis import example, given, settings
from hypothesis import strategies as st
from slugsim.kernel import (
    Component,
    Crossing,
    Link,
    PortError,
    ProcessError,
    SchedulingError,
    Simulator,
    ns,
)
from slugsim.kernel.errors import ConfigurationError, SimulationError


def test_events_run_in_time_then_fifo_order():
    sim = Simulator()
    seen = []
    sim.schedule(ns(2), seen.append, "b")
    sim.schedule(ns(1), seen.append, "a")
    sim.schedule(ns(2), seen.append, "c")

    def now_and_later():
        seen.append("d")
        sim.schedule(0, seen.append, "e")  # same time: runs after everything already queued

    sim.schedule(ns(2), now_and_later)
    sim.schedule(ns(2), seen.append, "f")
    assert sim.run() == 6
    assert seen == ["a", "b", "c", "d", "f", "e"]
    assert sim.now == ns(2)


def test_run_until_excludes_the_boundary_and_resumes():
    sim = Simulator()
    seen = []
    for t in (1, 2, 3):
        sim.schedule(ns(t), seen.append, t)
    sim.run(until=ns(2))
    assert seen == [1]
    assert sim.now == ns(2)
    sim.run(until=ns(10))
    assert seen == [1, 2, 3]
    assert sim.now == ns(10)


def test_stop_when_and_stop():
    sim = Simulator()
    count = [0]

    def tick():
        count[0] += 1
        sim.schedule(ns(1), tick)

    sim.schedule(0, tick)
    sim.run(stop_when=lambda: count[0] >= 5)
    assert count[0] == 5

    def stopper():
        sim.stop()

    sim.schedule(ns(3), stopper)
    sim.run()
    # Ticks at 5, 6 and 7 ns; the t=7 tick runs too, since stop() finishes the timestamp.
    assert count[0] == 8
    assert sim.now == ns(7)


def test_scheduling_errors_name_the_problem():
    sim = Simulator()
    sim.schedule(ns(5), lambda: None)
    sim.run()
    with pytest.raises(SchedulingError, match="in the past"):
        sim.schedule_at(ns(1), lambda: None)
    with pytest.raises(SchedulingError, match="non-negative"):
        sim.schedule(-1, lambda: None)
    with pytest.raises(SchedulingError, match="int of picoseconds"):
        sim.schedule(1.5, lambda: None)
    with pytest.raises(SchedulingError, match="in the past"):
        sim.run(until=ns(1))


def test_exception_in_callback_propagates_and_keeps_the_rest():
    sim = Simulator()
    seen = []

    def boom():
        raise RuntimeError("model bug")

    sim.schedule(ns(1), boom)
    sim.schedule(ns(1), seen.append, "after")
    with pytest.raises(RuntimeError, match="model bug"):
        sim.run()
    sim.run()
    assert seen == ["after"]


def test_generator_and_async_processes():
    sim = Simulator()
    log = []

    def gen():
        yield ns(5)
        log.append(("gen", sim.now))
        value = yield sim.timeout(ns(1), "v")
        log.append(("gen", sim.now, value))
        return 42

    async def coro(other):
        result = await other
        log.append(("coro", sim.now, result))

    p = sim.process(gen())
    sim.process(coro(p))
    sim.run()
    assert log == [("gen", ns(5)), ("gen", ns(6), "v"), ("coro", ns(6), 42)]


def test_process_yielding_garbage_is_an_error():
    sim = Simulator()

    def bad():
        yield "soon"

    sim.process(bad())
    with pytest.raises(ProcessError, match="yield an int delay"):
        sim.run()
    with pytest.raises(ProcessError, match="call the function"):
        sim.process(bad)

    def backwards():
        yield -1

    sim.process(backwards())
    with pytest.raises(ProcessError, match="not negative"):
        sim.run()


def test_rng_streams_are_independent_of_other_components():
    a = Simulator(seed=7)
    first = [Component(a, "host0").rng.random() for _ in range(1)]
    b = Simulator(seed=7)
    Component(b, "extra")  # adding a component must not shift host0's stream
    assert [Component(b, "host0").rng.random()] == first
    assert Simulator(seed=8).rng("host0").random() != first[0]


# -- links ------------------------------------------------------------------------------------


@cache
def kind(vc: int, wire_bytes: int) -> type:
    """A message class of virtual channel ``vc`` and ``wire_bytes`` bytes on the wire."""

    class Msg:
        __slots__ = ("value",)
        VC = vc

        def __init__(self, value=None):
            self.value = value

        def __repr__(self):
            return f"Msg{vc}({self.value!r})"

    Msg.wire_bytes = wire_bytes
    return Msg


def msg(value=None, vc=0, wire_bytes=16):
    return kind(vc, wire_bytes)(value)


def _pair(sim, **link):
    src = Component(sim, "src")
    dst = Component(sim, "dst")
    out = src.add_port("out")
    got = []
    inp = dst.add_port("in", handler=lambda m: got.append((sim.now, m.value)))
    Link(sim, out, inp, **link)
    return out, inp, got


def test_link_latency_and_flit_serialisation():
    sim = Simulator()
    # 64 B flits at 64 GB/s: one flit per ns.
    out, _, got = _pair(sim, latency=ns(10), bandwidth=64 * 10**9, flit_bytes=64)
    out.send(msg("small", wire_bytes=10))  # 1 flit
    out.send(msg("big", wire_bytes=130))  # 3 flits
    out.send(msg("small", wire_bytes=10))
    sim.run()
    assert [t for t, _ in got] == [ns(11), ns(14), ns(15)]
    assert out.tx.flits == 5
    assert out.tx.utilisation(ns(5)) == pytest.approx(1.0)


def test_credits_throttle_the_sender():
    sim = Simulator()
    src = Component(sim, "src")
    dst = Component(sim, "dst")
    out = src.add_port("out")
    inp = dst.add_port("in", auto_release=False)  # the receiver holds its buffers
    arrivals = []
    inp.handler = lambda m: arrivals.append((sim.now, m.value))
    Link(sim, out, inp, latency=ns(10), credits=2)
    for i in range(4):
        out.send(msg(i))
    sim.run()
    assert [m for _, m in arrivals] == [0, 1]  # out of credits: 2 and 3 wait
    assert not out.can_send(0) and out.backlog(0) == 2
    sim.schedule(ns(5), inp.release, 0)  # frees one buffer at t=15; the credit lands at t=25
    sim.run()
    assert arrivals[2] == (ns(35), 2)
    assert len(arrivals) == 3 and out.backlog(0) == 1


def test_lazy_credit_returns_are_reclaimed():
    sim = Simulator()
    out, _, got = _pair(sim, latency=ns(10), credits=1)
    for i in range(5):
        sim.schedule(ns(100 * i), out.send, msg(i))
    sim.run()
    assert [m for _, m in got] == [0, 1, 2, 3, 4]
    # Back-to-back sends with one credit: the last credit is still in flight (it left the
    # receiver at delivery, now), so each message waits one full credit round trip.
    for i in range(3):
        out.send(msg(i))
    start = sim.now
    sim.run()
    assert [t - start for t, _ in got[5:]] == [ns(20), ns(40), ns(60)]


def test_handler_and_auto_release_changed_after_linking():
    """The channel chooses how to deliver when a message is sent; a change of the port's
    handler or auto_release applies to messages sent after it."""
    sim = Simulator()
    out, inp, got = _pair(sim, latency=ns(10), credits=1)
    out.send(msg("a"))
    later = []
    inp.handler = lambda m: later.append((sim.now, m.value))  # "a" is already on the wire
    out.send(msg("b"))  # waits for a's credit: back at 20, so b arrives at 30
    sim.run()
    assert got == [(ns(10), "a")] and later == [(ns(30), "b")]
    inp.auto_release = False  # from now on the receiver holds its buffer
    out.send(msg("c"))
    out.send(msg("d"))
    sim.run()
    assert [m for _, m in later] == ["b", "c"]  # "d" waits for the credit "c" holds
    assert inp.handler is not None and not inp.auto_release
    inp.release(0)
    sim.run()
    assert [m for _, m in later] == ["b", "c", "d"]
    inp.handler = None  # back to the inbox, for a process
    out.send(msg("e"))
    sim.run()
    assert [m for _, m in later] == ["b", "c", "d"]


@settings(max_examples=60, derandomize=True)
@given(
    gaps=st.lists(st.integers(0, 30), min_size=1, max_size=40),
    credits=st.integers(1, 4),
    latency=st.integers(0, 12),
)
def test_credit_returns_recorded_at_send_match_a_release_at_delivery(gaps, credits, latency):
    """A port that frees its buffer as its handler returns has its credit return recorded when
    the message is sent (the fast path); a handler that calls release() itself takes the
    general path. Both describe the same hardware, so every arrival must be at the same time."""

    def arrivals(prepaid):
        sim = Simulator()
        out = Component(sim, "src").add_port("out")
        inp = Component(sim, "dst").add_port("in", auto_release=prepaid)
        got = []

        def handler(m):
            got.append((sim.now, m.value))
            if not prepaid:
                inp.release(m.VC)

        inp.handler = handler
        Link(sim, out, inp, latency=ns(latency), bandwidth=10**9, flit_bytes=16, credits=credits)
        when = 0
        for i, gap in enumerate(gaps):
            when += ns(gap)
            sim.schedule_at(when, out.send, msg(i, wire_bytes=16 * (1 + i % 3)))
        sim.run()
        assert out.tx.virtual_channel(0)._prepaid is prepaid  # the runs take the two paths
        return [t for t, _ in got]

    assert arrivals(True) == arrivals(False)


def test_the_pipeline_runs_while_a_message_waits_for_a_credit():
    """A sender's pipeline (a switch's port-to-port latency) is work done before the link
    layer: a message that waits for a credit has finished it by the time the credit comes."""
    sim = Simulator()
    out, _, got = _pair(sim, latency=ns(10), bandwidth=10**9, flit_bytes=16, credits=1)
    out.pipeline = ns(100)
    assert out.pipeline == ns(100)
    out.send(msg(1))  # serialises from 100 to 116, arrives at 126; its credit is back at 136
    assert out.egress_wait() == ns(16)  # a next message's pipeline ends as this one starts
    out.send(msg(2))  # pipeline done at 100, then waits for that credit
    sim.run()
    assert [t for t, _ in got] == [ns(126), ns(136 + 16 + 10)]
    with pytest.raises(ConfigurationError, match="pipeline must be a non-negative int"):
        out.pipeline = -1


def test_egress_wait_is_the_wire_time_ahead_after_the_pipeline():
    sim = Simulator()
    out, _, _ = _pair(sim, latency=ns(10), bandwidth=10**9, flit_bytes=16)
    out.pipeline = ns(5)
    assert out.egress_wait() == 0
    for _ in range(3):
        out.send(msg())  # on the wire 5-21, 21-37, 37-53
    assert out.tx.busy_until == ns(53)
    assert out.egress_wait() == ns(53 - 5)
    sim.run(until=ns(30))
    assert out.egress_wait() == ns(53 - 30 - 5)
    sim.run(until=ns(50))
    assert out.egress_wait() == 0


def _chain(sim, credits, held=0):
    """src -> mid -> dst; mid forwards what arrives with ``forward``; dst holds its buffers of
    class ``held`` until told and frees the others as its handler returns."""
    src, mid, dst = (Component(sim, n) for n in ("src", "mid", "dst"))
    out = src.add_port("out")
    inp = mid.add_port("in")
    fwd = mid.add_port("fwd")
    sink = dst.add_port("in", auto_release=False)
    got = []
    waited = []

    def arrive(m):
        got.append((sim.now, m.value))
        if held != m.VC:
            sink.release(m.VC)

    sink.handler = arrive
    inp.handler = lambda m: waited.append(fwd.forward(m, inp))
    Link(sim, out, inp, latency=ns(10), credits=credits)
    Link(sim, fwd, sink, latency=ns(10), credits=credits)
    return out, fwd, sink, got, waited


def test_a_held_buffer_stalls_the_upstream_sender_until_released():
    """src -> mid -> dst, one credit per link. mid forwards each message; while mid's egress is
    out of credits the message keeps its buffer on the src link (forward), so src cannot send
    again until the message moves on: back-pressure reaches src."""
    sim = Simulator()
    out, fwd, sink, got, waited = _chain(sim, credits=1)
    for m in "abc":
        out.send(msg(m))
    sim.run()
    # a reaches dst at 20 and keeps dst's buffer; b reaches mid at 30 (a's src credit was back
    # at 20) and waits there holding its src buffer, so c cannot leave src: the run goes quiet
    # at 40, when the src credit recorded for b would have come back had b not been held.
    assert sim.now == ns(40) and got == [(ns(20), "a")]
    assert waited == [False, True]
    assert [m.value for m in out.tx.virtual_channel(0).backlog] == ["c"]
    assert not out.can_send(0) and fwd.backlog(0) == 1
    sink.release(0)  # at 40: dst's credit is back at 50, b leaves mid then and frees its src
    sim.run()  # buffer, whose credit is back at 60: c leaves src at 60, waits at mid from 70
    assert got == [(ns(20), "a"), (ns(60), "b")]
    assert out.backlog(0) == 0 and sim.now == ns(70)
    sink.release(0)
    sim.run()
    assert got[-1] == (ns(90), "c")


@pytest.mark.parametrize("held", [0, 1])
def test_forward_holds_the_ingress_buffer_of_the_messages_own_class(held):
    """A message of the class dst holds, waiting at mid, holds src's buffer of its class only:
    the other class keeps flowing from src to dst past it, and src's held class stays blocked
    until the message moves on. (Names: a0, b0, c0 are of the held class, x* of the other.)"""
    other = 1 - held
    sim = Simulator()
    out, fwd, sink, got, waited = _chain(sim, credits={0: 1, 1: 1}, held=held)
    out.send(msg("a0", vc=held))  # takes dst's only buffer of the class, which dst keeps
    sim.schedule(ns(25), out.send, msg("b0", vc=held))  # reaches mid at 35, waits there
    for i in range(3):  # the other class throughout, one buffer per link, freed on arrival
        sim.schedule(ns(40 + 50 * i), out.send, msg(f"x{i}", vc=other))
    sim.schedule(ns(50), out.send, msg("c0", vc=held))  # src's buffer is held by b0
    sim.run()
    assert [m for _, m in got] == ["a0", "x0", "x1", "x2"]
    assert got[1:] == [(ns(60), "x0"), (ns(110), "x1"), (ns(160), "x2")]
    assert waited == [False, True, False, False, False]
    assert out.backlog(held) == 1 and fwd.backlog(held) == 1 and out.backlog(other) == 0
    assert not out.can_send(held) and out.can_send(other)
    assert out.tx.virtual_channel(held).credit_returns() == [slugsim.kernel.port.HELD]
    assert out.tx.virtual_channel(other).credit_returns() == [ns(160)]  # x2 reached mid at 150
    sink.release(held)  # at 160: b0 leaves mid at 170 and frees src's buffer, back at 180
    sim.run()
    assert got[4] == (ns(180), "b0")
    assert [m for _, m in got] == ["a0", "x0", "x1", "x2", "b0"]  # c0 now waits at mid
    assert out.backlog(held) == 0 and fwd.backlog(held) == 1
    sink.release(held)
    sim.run()
    assert got[-1][1] == "c0"


def test_channel_counters():
    sim = Simulator()
    out, _, _ = _pair(sim, latency=ns(1), bandwidth=10**9, flit_bytes=64, credits=4)
    for size in (10, 64, 65, 200):  # 1, 1, 2 and 4 flits of 64 ns each at 1 GB/s
        out.send(msg(wire_bytes=size))
    sim.run()
    tx = out.tx
    assert (tx.messages, tx.flits, tx.busy_ps) == (4, 8, ns(8 * 64))
    assert tx.busy_until == ns(8 * 64)
    assert tx.class_messages() == {0: 4} and tx.class_flits() == {0: 8}


def test_virtual_channels_are_made_on_first_use():
    sim = Simulator()
    out, inp, _ = _pair(sim, latency=ns(1), credits=2)
    assert out.tx.class_messages() == {} and inp.tx.class_messages() == {}
    out.send(msg(vc=5))
    out.send(msg(vc=5))
    out.send(msg(vc=2))
    sim.run()
    assert out.tx.class_messages() == {2: 1, 5: 2}
    assert inp.tx.class_messages() == {}


def test_releasing_a_buffer_not_held_is_an_error():
    """A receiver that frees buffers itself may free only those it holds: one more release
    than messages received would invent a credit."""
    sim = Simulator()
    out = Component(sim, "src").add_port("out")
    inp = Component(sim, "dst").add_port("in", auto_release=False)
    inp.handler = lambda m: None
    Link(sim, out, inp, latency=ns(10), credits=2)
    out.send(msg("a"))
    sim.run()
    with pytest.raises(SimulationError, match=r"dst\.in released a receive buffer of class 1"):
        inp.release(1)  # a class that received nothing
    inp.release(0)
    with pytest.raises(SimulationError, match=r"dst\.in released a receive buffer of class 0"):
        inp.release(0)
    with pytest.raises(PortError, match="no message class 16; a class"):
        inp.release(16)


def test_credits_held_and_freed_in_any_pattern_are_conserved():
    """Four buffers, released one at a time with gaps: the sender never has more than four
    messages unreleased, and every message gets through once all are released."""
    sim = Simulator()
    out = Component(sim, "src").add_port("out")
    inp = Component(sim, "dst").add_port("in", auto_release=False)
    got = []
    inp.handler = lambda m: got.append(m.value)
    Link(sim, out, inp, latency=ns(3), credits=4)
    for i in range(10):
        out.send(msg(i))
    released = 0
    while released < 10:
        sim.run()
        assert len(got) - released <= 4
        assert len(got) == min(10, released + 4)
        inp.release(0)
        released += 1
        sim.schedule(ns(7 * released % 5), lambda: None)  # uneven gaps between releases
    sim.run()
    assert got == list(range(10)) and out.can_send(0)


# -- virtual channels -------------------------------------------------------------------------


def test_credits_are_per_class():
    """Class 0 has 2 buffers, class 1 has 3, class 2 is unlimited; the receiver holds every
    buffer. Exhausting one class leaves the others' untouched, and release(vc) returns the
    credit of that class only."""
    sim = Simulator()
    out = Component(sim, "src").add_port("out")
    inp = Component(sim, "dst").add_port("in", auto_release=False)
    got = []
    inp.handler = lambda m: got.append((m.VC, m.value))
    Link(sim, out, inp, latency=ns(10), credits={0: 2, 1: 3})
    for vc in (0, 1, 2):
        for i in range(5):
            out.send(msg(i, vc=vc))
    sim.run()
    by_class = {vc: [v for c, v in got if c == vc] for vc in (0, 1, 2)}
    assert by_class == {0: [0, 1], 1: [0, 1, 2], 2: [0, 1, 2, 3, 4]}
    assert (out.backlog(0), out.backlog(1), out.backlog(2)) == (3, 2, 0)
    assert not out.can_send(0) and not out.can_send(1) and out.can_send(2) and out.can_send(3)
    inp.release(1)
    sim.run()
    assert [v for c, v in got if c == 1] == [0, 1, 2, 3]
    assert [v for c, v in got if c == 0] == [0, 1]  # class 0 got nothing from that
    inp.release(0)
    inp.release(0)
    sim.run()
    assert [v for c, v in got if c == 0] == [0, 1, 2, 3]
    assert [v for c, v in got if c == 1] == [0, 1, 2, 3]
    inp.release(2)  # an unlimited class has no buffers to free: nothing happens
    assert out.tx.class_messages() == {0: 4, 1: 4, 2: 5}


def _stalled_class_run(with_backlog):
    """64 GB/s, 64 B flits: 1 ns per flit, 10 ns latency, 2 buffers per class. Class 0 (1 flit)
    takes both its buffers at t=0 and the receiver keeps them; with ``with_backlog`` 5 more
    class-0 messages wait for credits that never come. Class 1 (2 flits) is freed on arrival."""
    sim = Simulator()
    out = Component(sim, "src").add_port("out")
    inp = Component(sim, "dst").add_port("in", auto_release=False)
    arrivals = {0: [], 1: []}

    def arrive(m):
        arrivals[m.VC].append(sim.now)
        if m.VC == 1:
            inp.release(1)

    inp.handler = arrive
    Link(sim, out, inp, latency=ns(10), bandwidth=64 * 10**9, flit_bytes=64, credits=2)
    out.send(msg("a0", vc=0, wire_bytes=64))
    out.send(msg("a1", vc=0, wire_bytes=64))
    if with_backlog:
        for i in range(5):
            out.send(msg(f"stalled{i}", vc=0, wire_bytes=64))
    for when in (0, 0, 0, 50, 50, 50):
        sim.schedule_at(ns(when), out.send, msg(vc=1, wire_bytes=128))
    sim.run()
    return out, arrivals


def test_classes_may_be_int_enums():
    class MemClass(IntEnum):
        REQ = 0
        RSP = 3

    sim = Simulator()
    out = Component(sim, "src").add_port("out")
    inp = Component(sim, "dst").add_port("in", auto_release=False)
    inp.handler = lambda m: None
    Link(sim, out, inp, latency=ns(1), credits={MemClass.RSP: 1})
    out.send(msg(vc=MemClass.RSP))
    out.send(msg(vc=MemClass.RSP))
    out.send(msg(vc=MemClass.REQ))
    sim.run()
    assert out.backlog(MemClass.RSP) == 1 and out.tx.class_messages() == {0: 1, 3: 1}
    inp.release(MemClass.RSP)
    sim.run()
    assert out.tx.class_messages() == {MemClass.REQ: 1, MemClass.RSP: 2}


def test_a_class_stalled_for_credits_never_delays_another():
    out, stalled = _stalled_class_run(with_backlog=True)
    _, free = _stalled_class_run(with_backlog=False)
    # Class 1 by hand: on the wire 2-4 and 4-6 (after a0, a1), arriving at 14 and 16; the
    # third waits for the first buffer's credit (freed at 14, back at 24): 24-26, arrives 36.
    # At 50: 50-52 -> 62 and 52-54 -> 64 on the credits back at 26 and 46; the sixth waits for
    # the one freed at 62, back at 72: 72-74 -> 84.
    expected = [ns(t) for t in (14, 16, 36, 62, 64, 84)]
    assert stalled[1] == expected and free[1] == expected
    assert stalled[0] == free[0] == [ns(11), ns(12)]
    assert out.backlog(0) == 5
    # The waiting class-0 messages took no wire time.
    assert out.tx.busy_ps == ns(2 * 1 + 6 * 2)
    assert out.tx.class_messages() == {0: 2, 1: 6}


@settings(max_examples=40, derandomize=True)
@given(
    plan=st.lists(
        st.tuples(st.integers(0, 3), st.integers(1, 300), st.integers(0, 20)),
        min_size=1,
        max_size=60,
    ),
    credits=st.one_of(st.none(), st.integers(1, 3)),
)
@example(plan=[(vc, 100, 0) for vc in (0, 1, 2, 3)] * 5, credits=None)
def test_classes_share_the_wire_bandwidth(plan, credits):
    """Several classes keep one wire busy: each message is serialised for its flits at the link
    bandwidth, in the order accepted, never overlapping another; the busy time is the sum of
    the serialisation, throughput is the bandwidth, and per-class counters add up."""
    flit_bytes, bandwidth, latency = 32, 32 * 10**9, ns(7)  # one flit per ns
    sim = Simulator()
    out = Component(sim, "src").add_port("out")
    seen = []
    inp = Component(sim, "dst").add_port("in", handler=lambda m: seen.append((sim.now, m)))
    Link(sim, out, inp, latency, bandwidth, flit_bytes, credits)
    accepted = []
    out.add_probe(lambda port, m, direction, time: accepted.append((time, m)))
    when = 0
    for vc, size, gap in plan:
        when += gap * 100  # mostly back to back: the wire stays saturated
        sim.schedule_at(when, out.send, msg(vc=vc, wire_bytes=size))
    sim.run()

    def flits(m):
        return max(1, -(-m.wire_bytes // flit_bytes))

    assert len(seen) == len(plan) == len(accepted)
    # Delivery order is acceptance order (one FIFO wire), and each message's last flit left
    # exactly its serialisation after its first.
    assert [m for _, m in seen] == [m for _, m in accepted]
    wire_end = 0
    for (start, m), (arrival, _) in zip(accepted, seen, strict=True):
        assert start >= wire_end  # no overlap on the wire
        wire_end = arrival - latency
        assert wire_end - start == ns(flits(m))
    total_flits = sum(flits(m) for _, m in seen)
    tx = out.tx
    assert tx.busy_ps == ns(total_flits) and tx.flits == total_flits
    assert tx.messages == len(plan)
    assert sum(tx.class_messages().values()) == tx.messages
    assert sum(tx.class_flits().values()) == tx.flits
    for vc in tx.class_messages():
        assert tx.class_flits()[vc] == sum(flits(m) for _, m in seen if vc == m.VC)
    if all(gap == 0 for _, _, gap in plan) and credits is None:
        # Everything offered at t=0: the wire never idles, so throughput is the bandwidth.
        assert tx.busy_until == ns(total_flits)
        assert total_flits * flit_bytes * 10**12 // tx.busy_until == bandwidth


# -- probes -----------------------------------------------------------------------------------


def test_probes_see_each_crossing_in_order_with_direction_and_time():
    sim = Simulator()
    out, inp, got = _pair(sim, latency=ns(10), bandwidth=10**9, flit_bytes=16, credits=1)
    out.pipeline = ns(100)
    log = []

    def probe(port, m, direction, time):
        log.append((port.path, m.value, direction, time))

    out.add_probe(probe)
    inp.add_probe(probe)
    out.send(msg("a"))  # pipeline to 100, wire 100-116, arrives at 126, credit back at 136
    out.send(msg("b"))  # waits for that credit: accepted at 136, on the wire at once
    assert log == [("src.out", "a", Crossing.OUT, ns(100))]
    sim.run()
    assert log == [
        ("src.out", "a", Crossing.OUT, ns(100)),
        ("dst.in", "a", Crossing.IN, ns(126)),
        ("src.out", "b", Crossing.OUT, ns(136)),
        ("dst.in", "b", Crossing.IN, ns(136 + 16 + 10)),
    ]
    assert [t for t, _ in got] == [ns(126), ns(162)]
    # The IN call comes just before the handler.
    order = []
    inp.handler = lambda m: order.append("handler")
    inp.add_probe(lambda *_: order.append("probe"))
    out.send(msg("c"))
    sim.run()
    assert order == ["probe", "handler"]


def test_probes_read_when_an_outgoing_message_was_ready_for_the_wire():
    """``port.tx.ready_at``: sent and through the pipeline. What a message waited after that,
    behind another on the wire or for a credit, is its first flit's time less ``ready_at``
    (what the EMC records as ``queued``)."""
    sim = Simulator()
    out, _, _ = _pair(sim, latency=ns(10), bandwidth=10**9, flit_bytes=16, credits=1)
    out.pipeline = ns(100)
    seen = []
    out.add_probe(lambda port, m, direction, time: seen.append((m.value, time, port.tx.ready_at)))
    out.send(msg("a"))  # ready at 100, on the wire at once (100-116); credit back at 136
    out.send(msg("b"))  # ready at 100 too, but waits for that credit: on the wire at 136
    sim.run()
    assert seen == [("a", ns(100), ns(100)), ("b", ns(136), ns(100))]
    seen.clear()
    sim2 = Simulator()
    out2, _, _ = _pair(sim2, latency=ns(10), bandwidth=10**9, flit_bytes=16, credits=4)
    out2.add_probe(lambda port, m, direction, time: seen.append((m.value, time, port.tx.ready_at)))
    for name in "xyz":
        out2.send(msg(name))  # credits enough: each waits for the wire (16 ns per message)
    sim2.run()
    assert seen == [("x", 0, 0), ("y", ns(16), 0), ("z", ns(32), 0)]


def test_probes_and_pipeline_set_before_linking_apply_once_linked():
    sim = Simulator()
    out = Component(sim, "src").add_port("out")
    inp = Component(sim, "dst").add_port("in", handler=lambda m: None)
    log = []
    for port in (out, inp):
        port.add_probe(lambda port, m, direction, time: log.append((port.name, direction, time)))
    out.pipeline = ns(4)
    Link(sim, out, inp, latency=ns(1), credits=1)
    out.send(msg())
    sim.run()
    assert log == [("out", Crossing.OUT, ns(4)), ("in", Crossing.IN, ns(5))]


def test_without_probes_delivery_goes_straight_to_the_handler():
    sim = Simulator()
    out, inp, _ = _pair(sim, latency=ns(1), credits=2)
    out.send(msg())
    vc = out.tx.virtual_channel(0)
    handler = inp.handler
    assert vc._deliver is handler and not out.tx._observed

    def probe(*_):
        pass

    inp.add_probe(probe)
    out.add_probe(probe)
    assert vc._deliver is not handler and out.tx._observed
    inp.remove_probe(probe)
    out.remove_probe(probe)
    assert vc._deliver is handler and not out.tx._observed
    with pytest.raises(PortError, match="no probe"):
        out.remove_probe(probe)


def test_a_send_kept_from_before_a_probe_was_added_is_observed():
    """Models keep ``port.send`` (a bound method) at connect time; an EMC probe added later
    must still see every message."""
    sim = Simulator()
    out, _, _ = _pair(sim, latency=ns(1))
    send = out.send
    seen = []
    out.add_probe(lambda port, m, direction, time: seen.append(m.value))
    send(msg("kept"))
    assert seen == ["kept"]


def _random_fabric(seed, probed):
    """A random three-hop chain with several classes, random credits, holding and forwarding;
    returns every delivery (port, time, message) and what the probes saw."""
    rng = random.Random(seed)
    sim = Simulator()
    names = ("a", "b", "c", "d")
    comps = [Component(sim, n) for n in names]
    deliveries = []
    seen = []
    ports = []
    hops = []
    for i in range(3):
        left = comps[i].add_port("right")
        right = comps[i + 1].add_port("left", auto_release=rng.random() < 0.7)
        credits = rng.choice([None, 1, 2, {0: 1, 2: 3}, {1: 2}])
        Link(sim, left, right, ns(rng.randint(0, 9)), rng.choice([None, 10**9, 8 * 10**9]), 16,
             credits)  # fmt: skip
        left.pipeline = ns(rng.randint(0, 5))
        ports += [left, right]
        hops.append((left, right))
    for i, (_, right) in enumerate(hops):
        nxt = hops[i + 1][0] if i + 1 < len(hops) else None

        def arrive(m, right=right, nxt=nxt):
            deliveries.append((right.path, sim.now, m.value))
            if nxt is not None:
                nxt.forward(m, right)
            if not right.auto_release:
                sim.schedule(ns(rng.randint(0, 20)), right.release, m.VC)

        right.handler = arrive
    if probed:
        for port in ports:
            port.add_probe(lambda p, m, d, t: seen.append((p.path, m.value, d, t)))
    first = hops[0][0]
    for i in range(40):
        sim.schedule_at(
            ns(rng.randint(0, 100)),
            first.send,
            msg(i, vc=rng.randint(0, 3), wire_bytes=rng.choice([8, 16, 40, 80])),
        )
    sim.run()
    return deliveries, seen


@pytest.mark.parametrize("seed", [random.Random(9).randrange(10**6) for _ in range(12)])
def test_probes_change_no_delivery_time(seed):
    print(f"seed={seed}")
    plain, nothing = _random_fabric(seed, probed=False)
    observed, seen = _random_fabric(seed, probed=True)
    assert nothing == []
    assert observed == plain
    # Every delivery was seen coming in, and every message went out of each hop it crossed.
    ins = [(p, t, v) for p, v, d, t in seen if d is Crossing.IN]
    assert ins == plain
    outs = [v for p, v, d, _ in seen if d is Crossing.OUT]
    assert len(outs) == len(plain)


# -- errors and structure ---------------------------------------------------------------------


def test_port_errors():
    sim = Simulator()
    host = Component(sim, "host0")
    port = host.add_port("up")
    with pytest.raises(PortError, match=r"host0\.up: it is not connected"):
        port.send(msg())
    with pytest.raises(PortError, match="already has a port"):
        host.add_port("up")
    with pytest.raises(PortError, match="no port 'down'"):
        host.port("down")
    other = Component(sim, "sw0").add_port("p0")
    Link(sim, port, other, latency=0)
    with pytest.raises(PortError, match="already connected"):
        Link(sim, port, Component(sim, "x").add_port("p"), latency=0)
    with pytest.raises(PortError, match="needs a VC class attribute"):
        port.send("x")
    with pytest.raises(PortError, match="needs a VC class attribute"):
        port.send(msg(vc=16))
    with pytest.raises(PortError, match="needs a wire_bytes class attribute"):
        port.send(type("Bare", (), {"VC": 3})())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"latency": -1}, "latency must be a non-negative"),
        ({"latency": 0, "bandwidth": 0}, "bandwidth must be a positive"),
        ({"latency": 0, "credits": 0}, "credits must be a positive"),
        ({"latency": 0, "credits": True}, "credits must be a positive"),
        ({"latency": 0, "credits": {16: 2}}, r"an int from 0 to 15\) to its receive buffers"),
        ({"latency": 0, "credits": {1: 0}}, "credits for class 1 must be a positive int"),
        ({"latency": 0, "flit_bytes": 0}, "flit size"),
    ],
)
def test_link_parameter_errors(kwargs, message):
    sim = Simulator()
    a = Component(sim, "a").add_port("p")
    b = Component(sim, "b").add_port("p")
    with pytest.raises(ConfigurationError, match=message):
        Link(sim, a, b, **kwargs)


def test_recv_from_process_inbox():
    sim = Simulator()
    out, inp, _ = _pair(sim, latency=ns(3), credits=1)
    inp.handler = None
    got = []

    def reader():
        for _ in range(3):
            got.append((yield inp.recv()).value)

    for i in range(3):
        out.send(msg(i))
    sim.process(reader())
    sim.run()
    assert got == [0, 1, 2]


def test_same_seed_same_trajectory():
    def trajectory(seed):
        sim = Simulator(seed=seed)
        comp = Component(sim, "gen")
        log = []

        def step():
            log.append((sim.now, comp.rng.randrange(1000)))
            if len(log) < 50:
                sim.schedule(comp.rng.randrange(1, 100), step)

        sim.schedule(0, step)
        sim.run()
        return log

    assert trajectory(3) == trajectory(3)
    assert trajectory(3) != trajectory(4)


def test_only_the_simulator_touches_the_event_queue():
    """One scheduling path: everything else goes through schedule, schedule_at or _post."""
    package = Path(slugsim.kernel.__file__).parent
    offenders = [
        path.name
        for path in sorted(package.glob("*.py"))
        if path.name != "simulator.py" and re.search(r"_heap|_buckets", path.read_text())
    ]
    assert offenders == []
    assert not (package / "link.py").exists()
