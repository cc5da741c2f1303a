"""Isolation attacks on the timed fabric: a ``type1`` device behind a switch sends translated
CXL.cache requests its host's IOMMU did not grant, and the host (``params.iommu_policy``)
checks them at its door (``components/translation_agent.py``) or trusts them.

The device works on two 4 KiB pages of host memory: page A (``BASE``), granted read-write, and
the victim page V (``BASE + 4 KiB``), whose grant each scenario sets. Its workload walks A then
V line by line. Two kinds of misbehaving device:

- a *forging* device ignores its ATC and sends its workload's addresses as translated HPAs
  (``device.atc = None`` after elaboration): what any device can do, since the AT field of a
  request is the device's to set;
- a *lying* ATC answers Invalidate Requests without dropping the translation, so the device
  keeps using the HPA after the host received the completion.

What the bench looks at: the D2H requests to V that reached the home agent (recorded at its
door), the lines of V the device holds at the end with their values, and a value the host keeps
in V's memory (``SECRET``). A refused request is answered with an error (GO-Err; GO_ERR_WritePull
for a write, its data dropped), so under ``check`` the device's operations on V complete as
failed and its program runs to the end; the run ends when nothing else can move.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slugsim.ats.atc import AtcOutputs, InvalidateCompletion, InvalidationDone
from slugsim.ats.iommu import Denial, Policy
from slugsim.ats.isolation import Outcome, unbound_ld
from slugsim.coherence.device import DeviceState
from slugsim.components import DeviceWorkloadParams, HostParams, Type1Params
from slugsim.components.coherent_params import DeviceAtsParams
from slugsim.cxl import D2HReq
from slugsim.fabric import SystemBuilder
from slugsim.fabric.params import LinkParams, RunOptions, SwitchParams
from slugsim.kernel.units import NS
from slugsim.sim import elaborate
from slugsim.sim.runner import simulate

BASE = 4 << 30  # page A; V follows it
PAGE = 4096
LINES = PAGE // 64  # lines per page
SECRET = 0x5EC2E7  # what host memory holds in V's lines


def v_lines() -> range:
    first = (BASE + PAGE) >> 6
    return range(first, first + LINES)


@dataclass
class Bench:
    """One timed system, with the evidence recorded at the home agent's door."""

    system: Any
    host: Any
    device: Any
    to_victim: list[tuple[int, int, str]] = field(default_factory=list)  # (time, line, opcode)


def build(policy: Policy, kind: str, passes: int = 1, atc: bool = True) -> Bench:
    workload = DeviceWorkloadParams(
        kind=kind,  # type: ignore[arg-type]
        base=BASE,
        footprint=2 * PAGE,
        requests=2 * LINES * passes,
    )
    builder = SystemBuilder(RunOptions(seed=1))
    builder.host("host0", HostParams(iommu_policy=policy.value))
    builder.switch("sw0", SwitchParams(ports=4)).link("host0", "sw0")
    params = Type1Params(
        cache_size=4 << 10,  # 64 lines: a pass over both pages evicts the first one
        cache_ways=4,
        workload=workload,
        ats=DeviceAtsParams(atc_entries=8, atc_ways=2),
    )
    builder.component("acc0", "type1", params).link("sw0", "acc0", LinkParams())
    system = elaborate(builder.build())
    bench = Bench(system, system.components["host0"], system.components["acc0"])
    if not atc:
        bench.device.atc = None  # a forging device: its addresses go out as HPAs
    agent = bench.host.home_agent
    for line in v_lines():
        agent.agent.entry(line).memory = SECRET
    receive, victim = agent.receive, set(v_lines())

    def door(msg: Any, refused: str | None = None) -> None:
        # admitted requests only: a refused one is answered with an error, the line untouched
        if msg.__class__ is D2HReq and msg.addr >> 6 in victim and refused is None:
            bench.to_victim.append((bench.system.sim.now, msg.addr >> 6, msg.opcode.name))
        receive(msg, refused)

    agent.receive = door
    return bench


def grant_victim(bench: Bench, *, granted: bool = True, w: bool = True, io: bool = False) -> None:
    """The device's grants: A read-write, V as given (replacing what the host mapped)."""
    iommu, pid = bench.host.iommu, bench.device.pid or 0
    del iommu.devices[pid]
    iommu.attach(pid)
    iommu.map(pid, BASE, BASE)
    if granted:
        iommu.map(pid, BASE + PAGE, BASE + PAGE, w=w, io=io)


def run(bench: Bench) -> Any:
    """Run until nothing can move; the simulator's outcome (``collect`` takes its info)."""
    bench.system.start()
    return simulate(bench.system, False, None)


def held(bench: Bench) -> dict[int, tuple[str, int]]:
    """V's lines the device holds at the end: line -> (state, value)."""
    cache = bench.device.cache
    out = {}
    for line in v_lines():
        state = cache.line_state(line)
        if state in (DeviceState.S, DeviceState.E, DeviceState.M):
            out[line] = (state.name, cache.line_value(line))
    return out


def _outcome(name: str, policy: Policy, bench: Bench, leaked: bool, evidence: str) -> Outcome:
    iommu = bench.host.iommu
    denials: tuple[Denial, ...] = tuple(iommu.denials)
    blocked = iommu.counters.blocked
    agent = bench.host.home_agent.agent
    kept = all(agent.entry(line).memory == SECRET for line in v_lines())
    program = bench.device.program
    errored = sum(bench.device.errored.values())
    evidence += (
        f"; {len(bench.to_victim)} requests to V reached the home agent, {blocked} blocked; "
        f"V's memory {'unchanged' if kept else 'changed'}; the device completed "
        f"{program.completed} of {program.requests} operations, {errored} requests "
        f"answered with an error"
    )
    return Outcome(name, policy, leaked, evidence, denials)


def _read_attack(name: str, policy: Policy, **grant: bool) -> Outcome:
    bench = build(policy, "stream_read", atc=False)
    grant_victim(bench, **grant)
    run(bench)
    got = held(bench)
    secrets = sum(1 for _, value in got.values() if value == SECRET)
    return _outcome(
        name, policy, bench, bool(got), f"device holds {len(got)} lines of V, {secrets} = secret"
    )


def never_granted(policy: Policy) -> Outcome:
    """A forging device reads V, which it was never granted."""
    return _read_attack("address never granted", policy, granted=False)


def cache_on_io_only(policy: Policy) -> Outcome:
    """A forging device caches V, granted for CXL.io only."""
    return _read_attack("CXL.cache request to a CXL.io-only page", policy, io=True)


def write_read_only(policy: Policy) -> Outcome:
    """A forging device increments every line of V, granted read-only."""
    bench = build(policy, "read_modify_write", atc=False)
    grant_victim(bench, w=False)
    run(bench)
    got = held(bench)
    owned = {line: v for line, (state, v) in got.items() if state in ("E", "M")}
    changed = sum(1 for v in owned.values() if v != SECRET)
    return _outcome(
        "write to a read-only page",
        policy,
        bench,
        bool(owned),
        f"device owns {len(owned)} lines of V, {changed} changed",
    )


def stale_translation(policy: Policy) -> Outcome:
    """The device's ATC acknowledges the invalidation of V without forgetting it; the device
    goes on reading V after the host received the completion (3 passes over A and V; the host
    unmaps V once the first pass is done)."""
    bench = build(policy, "stream_read", passes=3)
    device, host = bench.device, bench.host
    atc = device.atc

    def lying(inv: Any) -> AtcOutputs:
        atc.counters.invalidations += 1
        done = InvalidationDone(InvalidateCompletion(inv.itag), atc.responses_out)
        return AtcOutputs(invalidations=[done])

    atc.invalidate = lying
    iommu, pid, sim = host.iommu, device.pid or 0, bench.system.sim
    completed_at: list[int] = []
    complete = iommu.invalidation_complete

    def recorded(dev: int, cpl: Any) -> Any:
        completed_at.append(sim.now)
        return complete(dev, cpl)

    iommu.invalidation_complete = recorded
    unmap_at: list[int] = []

    def probe() -> None:
        program = device.program
        if program is not None and program.completed >= 2 * LINES:
            unmap_at.append(sim.now)
            host.translation.unmap(pid, BASE + PAGE)
            return
        sim.schedule(100 * NS, probe)

    sim.schedule(100 * NS, probe)
    run(bench)
    assert completed_at, "the invalidation never completed"
    after = [r for r in bench.to_victim if r[0] > completed_at[0]]
    got = held(bench)
    return _outcome(
        "translation used after its invalidation completed",
        policy,
        bench,
        bool(after),
        f"{len(after)} requests to V reached the home agent after the completion "
        f"({completed_at[0] / 1000:.0f} ns), device holds {len(got)} lines of V",
    )


def pooled_ld(policy: Policy) -> Outcome:
    """A host reaching a pooled Type-3 LD it is not bound to (already on the timed fabric)."""
    return unbound_ld(policy)


ATTACKS: tuple[Callable[[Policy], Outcome], ...] = (
    never_granted,
    stale_translation,
    write_read_only,
    cache_on_io_only,
    pooled_ld,
)
