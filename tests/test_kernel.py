"""Kernel behaviour: ordering, determinism, processes, links, credits and errors."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slugsim.kernel import (
    Component,
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


def test_rng_streams_are_independent_of_other_components():
    a = Simulator(seed=7)
    first = [Component(a, "host0").rng.random() for _ in range(1)]
    b = Simulator(seed=7)
    Component(b, "extra")  # adding a component must not shift host0's stream
    assert [Component(b, "host0").rng.random()] == first
    assert Simulator(seed=8).rng("host0").random() != first[0]


def _pair(sim, **link):
    src = Component(sim, "src")
    dst = Component(sim, "dst")
    out = src.add_port("out")
    got = []
    inp = dst.add_port("in", handler=lambda m: got.append((sim.now, m)))
    Link(sim, out, inp, **link)
    return out, inp, got


class Msg:
    def __init__(self, wire_bytes):
        self.wire_bytes = wire_bytes


def test_link_latency_and_flit_serialisation():
    sim = Simulator()
    # 64 B flits at 64 GB/s: one flit per ns.
    out, _, got = _pair(sim, latency=ns(10), bandwidth=64 * 10**9, flit_bytes=64)
    small, big = Msg(10), Msg(130)  # 1 flit and 3 flits
    out.send(small)
    out.send(big)
    out.send(small)
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
    inp.handler = lambda m: arrivals.append((sim.now, m))
    Link(sim, out, inp, latency=ns(10), credits=2)
    for i in range(4):
        out.send(i)
    sim.run()
    assert [m for _, m in arrivals] == [0, 1]  # out of credits: 2 and 3 wait
    assert not out.can_send()
    sim.schedule(ns(5), inp.release)  # frees one buffer at t=15; the credit lands at t=25
    sim.run()
    assert arrivals[2] == (ns(35), 2)
    assert len(arrivals) == 3


def test_lazy_credit_returns_are_reclaimed():
    sim = Simulator()
    out, _, got = _pair(sim, latency=ns(10), credits=1)
    for i in range(5):
        sim.schedule(ns(100 * i), out.send, i)
    sim.run()
    assert [m for _, m in got] == [0, 1, 2, 3, 4]
    # Back-to-back sends with one credit: the last credit is still in flight (it left the
    # receiver at delivery, now), so each message waits one full credit round trip.
    for i in range(3):
        out.send(i)
    start = sim.now
    sim.run()
    assert [t - start for t, _ in got[5:]] == [ns(20), ns(40), ns(60)]


def test_handler_and_auto_release_changed_after_linking():
    """The channel chooses how to deliver when a message is sent; a change of the port's
    handler or auto_release applies to messages sent after it."""
    sim = Simulator()
    out, inp, got = _pair(sim, latency=ns(10), credits=1)
    out.send("a")
    later = []
    inp.handler = lambda m: later.append((sim.now, m))  # "a" is already on the wire
    out.send("b")  # waits for a's credit: back at 20, so b arrives at 30
    sim.run()
    assert got == [(ns(10), "a")] and later == [(ns(30), "b")]
    inp.auto_release = False  # from now on the receiver holds its buffer
    out.send("c")
    out.send("d")
    sim.run()
    assert [m for _, m in later] == ["b", "c"]  # "d" waits for the credit "c" holds
    assert inp.handler is not None and not inp.auto_release
    inp.release()
    sim.run()
    assert [m for _, m in later] == ["b", "c", "d"]
    inp.handler = None  # back to the inbox, for a process
    out.send("e")
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
            got.append((sim.now, m))
            if not prepaid:
                inp.release()

        inp.handler = handler
        Link(sim, out, inp, latency=ns(latency), bandwidth=10**9, flit_bytes=16, credits=credits)
        when = 0
        for i, gap in enumerate(gaps):
            when += ns(gap)
            sim.schedule_at(when, out.send, Msg(16 * (1 + i % 3)))
        sim.run()
        assert out.tx._prepaid is prepaid  # the two runs really take the two paths
        return [t for t, _ in got]

    assert arrivals(True) == arrivals(False)


def test_the_pipeline_runs_while_a_message_waits_for_a_credit():
    """A sender's pipeline (a switch's port-to-port latency) is work done before the link
    layer: a message that waits for a credit has finished it by the time the credit comes."""
    sim = Simulator()
    out, _, got = _pair(sim, latency=ns(10), bandwidth=10**9, flit_bytes=16, credits=1)
    out.tx.pipeline = ns(100)
    out.send(Msg(16))  # serialises from 100 to 116, arrives at 126; its credit is back at 136
    out.send(Msg(16))  # pipeline done at 100, then waits for that credit
    sim.run()
    assert [t for t, _ in got] == [ns(126), ns(136 + 16 + 10)]


def test_a_held_buffer_stalls_the_upstream_sender_until_released():
    """src -> mid -> dst, one credit per link. mid forwards each message; while mid's egress is
    out of credits the message keeps its buffer on the src link (hold_upstream), so src cannot
    send again until the message moves on: back-pressure reaches src."""
    sim = Simulator()
    src, mid, dst = (Component(sim, n) for n in ("src", "mid", "dst"))
    out = src.add_port("out")
    inp = mid.add_port("in")
    fwd = mid.add_port("fwd")
    sink = dst.add_port("in", auto_release=False)  # dst keeps its one buffer until told
    got = []
    sink.handler = lambda m: got.append((sim.now, m))

    def forward(msg):
        fwd.tx.send(msg)
        if fwd.tx.queue:
            fwd.tx.hold_upstream(inp.rx)

    inp.handler = forward
    Link(sim, out, inp, latency=ns(10), credits=1)
    Link(sim, fwd, sink, latency=ns(10), credits=1)
    for m in "abc":
        out.send(m)
    sim.run()
    # a reaches dst at 20 and keeps dst's buffer; b reaches mid at 30 (a's src credit was back
    # at 20) and waits there holding its src buffer, so c cannot leave src: the run goes quiet
    # at 40, when the src credit recorded for b would have come back had b not been held.
    assert sim.now == ns(40) and got == [(ns(20), "a")]
    assert [*out.tx.queue] == ["c"] and not out.can_send()
    sink.release()  # at 40: dst's credit is back at 50, b leaves mid then and frees its src
    sim.run()  # buffer, whose credit is back at 60: c leaves src at 60, waits at mid from 70
    assert got == [(ns(20), "a"), (ns(60), "b")]
    assert not out.tx.queue and sim.now == ns(70)
    sink.release()
    sim.run()
    assert got[-1] == (ns(90), "c")


def test_channel_counters():
    sim = Simulator()
    out, _, _ = _pair(sim, latency=ns(1), bandwidth=10**9, flit_bytes=64, credits=4)
    for size in (10, 64, 65, 200):  # 1, 1, 2 and 4 flits of 64 ns each at 1 GB/s
        out.send(Msg(size))
    sim.run()
    tx = out.tx
    assert (tx.messages, tx.flits, tx.busy_ps) == (4, 8, ns(8 * 64))
    assert tx.busy_until == ns(8 * 64)


def test_releasing_a_buffer_not_held_is_an_error():
    """A receiver that frees buffers itself may free only those it holds: one more release
    than messages received would invent a credit."""
    sim = Simulator()
    out = Component(sim, "src").add_port("out")
    inp = Component(sim, "dst").add_port("in", auto_release=False)
    inp.handler = lambda m: None
    Link(sim, out, inp, latency=ns(10), credits=2)
    out.send("a")
    sim.run()
    inp.release()
    with pytest.raises(SimulationError, match=r"dst\.in released a receive buffer it does not"):
        inp.release()


def test_credits_held_and_freed_in_any_pattern_are_conserved():
    """Four buffers, released one at a time with gaps: the sender never has more than four
    messages unreleased, and every message gets through once all are released."""
    sim = Simulator()
    out = Component(sim, "src").add_port("out")
    inp = Component(sim, "dst").add_port("in", auto_release=False)
    got = []
    inp.handler = got.append
    Link(sim, out, inp, latency=ns(3), credits=4)
    for i in range(10):
        out.send(i)
    released = 0
    while released < 10:
        sim.run()
        assert len(got) - released <= 4
        assert len(got) == min(10, released + 4)
        inp.release()
        released += 1
        sim.schedule(ns(7 * released % 5), lambda: None)  # uneven gaps between releases
    sim.run()
    assert got == list(range(10)) and out.can_send()


def test_port_errors():
    sim = Simulator()
    host = Component(sim, "host0")
    port = host.add_port("up")
    with pytest.raises(PortError, match=r"host0\.up: it is not connected"):
        port.send("x")
    with pytest.raises(PortError, match="already has a port"):
        host.add_port("up")
    with pytest.raises(PortError, match="no port 'down'"):
        host.port("down")
    other = Component(sim, "sw0").add_port("p0")
    Link(sim, port, other, latency=0)
    with pytest.raises(PortError, match="already connected"):
        Link(sim, port, Component(sim, "x").add_port("p"), latency=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"latency": -1}, "latency must be a non-negative"),
        ({"latency": 0, "bandwidth": 0}, "bandwidth must be a positive"),
        ({"latency": 0, "credits": 0}, "credits must be a positive"),
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
            got.append((yield inp.recv()))

    for i in range(3):
        out.send(i)
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
