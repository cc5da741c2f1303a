#!/usr/bin/env python3
"""Benchmark slugsim's kernel against SimPy on the same workloads, in one process.

(a) producer -> link -> consumer: N one-flit messages, one per 2 ns (about half the link's
    bandwidth), over a link with 10 ns latency, 64 GB/s, 68 B flits and 32 credits. SimPy: a
    producer process, credits in a Container, delivery and credit return as timeout callbacks
    (the leanest SimPy form we know). slugsim runs it twice: callback-driven producer (how
    models are written) and a generator-process producer.
(b) P processes each doing T timeouts of pseudo-random length.
(c) (a) with the messages spread round-robin over 4 message classes (virtual channels), each
    with its own 32 credits, and (a) with a probe on both ports: what classes and probes cost.

The last line is ``kernel_vs_simpy=<slugsim msgs/s on (a), callback producer / SimPy msgs/s>``.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))

import simpy
from slugsim.kernel import Component, Crossing, Link, Port, Simulator, ns

LATENCY_PS = ns(10)
PERIOD_PS = ns(2)
BANDWIDTH = 64 * 10**9
FLIT_BYTES = 68
CREDITS = 32


def best_of(repeats: int, fn: Callable[[], float]) -> float:
    return max(fn() for _ in range(repeats))


def message_class(vc: int) -> type:
    """A one-flit message class on virtual channel ``vc``. The producers resend a few
    instances, as SimPy's sends ints: making messages is the models' work, not the kernel's."""

    class Flit:
        __slots__ = ("seq",)
        VC = vc
        wire_bytes = 64

        def __init__(self, seq: int) -> None:
            self.seq = seq

    return Flit


FLIT = message_class(0)(0)


# -- (a) producer -> link -> consumer ---------------------------------------------------------


def slugsim_link_callbacks(n: int, classes: int = 1, probed: bool = False) -> float:
    messages = itertools.cycle([message_class(vc)(vc) for vc in range(classes)])
    sim = Simulator(seed=1)
    producer = Component(sim, "producer")
    consumer = Component(sim, "consumer")
    out = producer.add_port("out")
    received = [0]

    def on_msg(msg: Any) -> None:
        received[0] += 1

    inp = consumer.add_port("in", handler=on_msg)
    Link(sim, out, inp, LATENCY_PS, BANDWIDTH, FLIT_BYTES, CREDITS)
    seen = [0]
    if probed:

        def probe(port: Port, msg: Any, direction: Crossing, time: int) -> None:
            seen[0] += 1

        out.add_probe(probe)
        inp.add_probe(probe)
    sent = [0]

    def tick() -> None:
        out.send(next(messages))
        sent[0] += 1
        if sent[0] < n:
            sim.schedule(PERIOD_PS, tick)

    sim.schedule(PERIOD_PS, tick)
    start = time.perf_counter()
    sim.run()
    elapsed = time.perf_counter() - start
    assert received[0] == n, received
    assert out.tx.class_messages() == {vc: len(range(vc, n, classes)) for vc in range(classes)}
    assert seen[0] == (2 * n if probed else 0)
    return n / elapsed


def slugsim_link_process(n: int) -> float:
    sim = Simulator(seed=1)
    producer = Component(sim, "producer")
    consumer = Component(sim, "consumer")
    out = producer.add_port("out")
    inp = consumer.add_port("in")
    Link(sim, out, inp, LATENCY_PS, BANDWIDTH, FLIT_BYTES, CREDITS)
    received = [0]

    def produce():
        for _ in range(n):
            yield PERIOD_PS
            out.send(FLIT)

    def consume():
        while received[0] < n:
            yield inp.recv()
            received[0] += 1

    sim.process(produce())
    sim.process(consume())
    start = time.perf_counter()
    sim.run()
    elapsed = time.perf_counter() - start
    assert received[0] == n, received
    return n / elapsed


def simpy_link(n: int) -> float:
    """The same link in idiomatic lean SimPy: credits in a Container, delivery by callback."""
    env = simpy.Environment()
    credits = simpy.Container(env, capacity=CREDITS, init=CREDITS)
    ser_ps = -(-FLIT_BYTES * 10**12 // BANDWIDTH)
    received = [0]

    def credit_back(_event: simpy.Event) -> None:
        credits.put(1)

    def deliver(_event: simpy.Event) -> None:
        received[0] += 1
        env.timeout(LATENCY_PS).callbacks.append(credit_back)

    def produce():
        busy = 0
        for i in range(n):
            yield env.timeout(PERIOD_PS)
            yield credits.get(1)
            now = env.now
            start = busy if busy > now else now
            busy = start + ser_ps
            env.timeout(busy - now + LATENCY_PS, i).callbacks.append(deliver)

    env.process(produce())
    start = time.perf_counter()
    env.run()
    elapsed = time.perf_counter() - start
    assert received[0] == n, received
    return n / elapsed


# -- (b) many processes doing timeouts --------------------------------------------------------


def _delays(procs: int, steps: int) -> list[list[int]]:
    rng = random.Random(7)
    return [[rng.randrange(1, 1000) for _ in range(steps)] for _ in range(procs)]


def slugsim_timeouts(procs: int, steps: int) -> float:
    sim = Simulator(seed=1)
    plan = _delays(procs, steps)

    def worker(delays: list[int]):
        yield from delays

    for delays in plan:
        sim.process(worker(delays))
    start = time.perf_counter()
    sim.run()
    return procs * steps / (time.perf_counter() - start)


def simpy_timeouts(procs: int, steps: int) -> float:
    env = simpy.Environment()
    plan = _delays(procs, steps)

    def worker(delays: list[int]):
        for d in delays:
            yield env.timeout(d)

    for delays in plan:
        env.process(worker(delays))
    start = time.perf_counter()
    env.run()
    return procs * steps / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000, help="messages in (a)")
    parser.add_argument("--procs", type=int, default=1000, help="processes in (b)")
    parser.add_argument("--steps", type=int, default=200, help="timeouts per process in (b)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    parser.add_argument(
        "--no-classes",
        action="store_true",
        help="skip (c), to time the whole process against a kernel without virtual channels",
    )
    args = parser.parse_args()
    if min(args.messages, args.procs, args.steps, args.repeats) <= 0:
        parser.error("all counts must be positive")

    r = args.repeats
    a_cb = best_of(r, lambda: slugsim_link_callbacks(args.messages))
    a_proc = best_of(r, lambda: slugsim_link_process(args.messages))
    a_simpy = best_of(r, lambda: simpy_link(args.messages))
    b_ours = best_of(r, lambda: slugsim_timeouts(args.procs, args.steps))
    b_simpy = best_of(r, lambda: simpy_timeouts(args.procs, args.steps))

    print(f"(a) link, slugsim callbacks : {a_cb:12,.0f} msgs/s")
    print(f"(a) link, slugsim processes : {a_proc:12,.0f} msgs/s")
    print(f"(a) link, SimPy             : {a_simpy:12,.0f} msgs/s")
    print(f"(b) timeouts, slugsim       : {b_ours:12,.0f} timeouts/s")
    print(f"(b) timeouts, SimPy         : {b_simpy:12,.0f} timeouts/s")
    if not args.no_classes:
        c_classes = best_of(r, lambda: slugsim_link_callbacks(args.messages, classes=4))
        c_probed = best_of(r, lambda: slugsim_link_callbacks(args.messages, probed=True))
        print(f"(c) link, 4 classes         : {c_classes:12,.0f} msgs/s")
        print(f"(c) link, probes on both    : {c_probed:12,.0f} msgs/s")
        print(f"four_classes_vs_one={c_classes / a_cb:.2f}")
        print(f"probed_vs_plain={c_probed / a_cb:.2f}")
    print(f"processes_vs_simpy={a_proc / a_simpy:.2f}")
    print(f"timeouts_vs_simpy={b_ours / b_simpy:.2f}")
    print(f"kernel_vs_simpy={a_cb / a_simpy:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
