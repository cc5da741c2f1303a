"""Isolation attacks: a device sends translated requests it was not granted, and the host either
checks them (``Policy.CHECK``) or trusts them (``Policy.TRUST_TRANSLATED``).

The attacks run on the real protocol: the untimed coherent system (``slugsim.coherence``:
the host's home agent with its memory and cores, a device cache speaking CXL.cache) with the
host's :class:`~slugsim.ats.iommu.Iommu` gating every D2H request at the host's door
(:class:`GuardedScenario`). A refused request is logged (device, HPA, reason), counted and
handed to the home agent marked refused, which answers it with an error (GO-Err, all-ones data
flagged GO-Err for a read; CXL_REFERENCE.md §1.3/§1.4) without touching the line; the device's
operation completes as failed. The bench looks at what the device *obtained* and what the host
*kept*.

Addresses: the untimed system numbers its hot lines 0, 1, ...; the bench places hot line ``i``
at the start of its own 4 KiB HPA page, :func:`hpa_of` (so a grant of one page covers exactly
one hot line). Each attack returns an :class:`Outcome` with the evidence: the value the device
read or the value memory holds afterwards.

The fifth scenario, a host reaching a pooled Type-3's LD it is not bound to, is refused by the
Type-3 itself (MemData-NXM, ``components/type3.py``), whatever the host's IOMMU policy: it runs
on the timed fabric and reads the device's and the host's violation counters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from slugsim.ats.atc import Atc, AtcRequest, InvalidateRequest, TranslationCompletion
from slugsim.ats.iommu import PAGE_SHIFT, Denial, Iommu, Policy
from slugsim.coherence.device import DeviceEvent as Dev
from slugsim.coherence.ops import CoreOp
from slugsim.coherence.scenario import Scenario, op
from slugsim.coherence.spec import LINE_BYTES
from slugsim.coherence.system import SystemConfig
from slugsim.cxl import AtsTranslationReq, D2HReq, D2HReqOpcode, Message

HOT_BASE = 0x1_0000_0000  # HPA of hot line 0 (bench placement)
DEVICE = 0  # the attacking device, ``dev0``
DEVICE_IOVA = 0x40_0000  # where the device's buffer sits in its own address space


def hpa_of(line: int) -> int:
    """The HPA the bench gives hot line ``line``: the first line of its own 4 KiB page."""
    return HOT_BASE + (line << PAGE_SHIFT)


class GuardedScenario(Scenario):
    """A directed scenario whose host checks every D2H request with ``iommu``."""

    def __init__(self, iommu: Iommu, config: SystemConfig | None = None, **programs: list) -> None:
        super().__init__(config or SystemConfig(devices=1, cores=1, lines=2), **programs)
        self.iommu = iommu
        self.blocked: list[D2HReq] = []
        home = self.system.home
        receive = home.receive

        def guarded(device: int, msg: Message) -> None:
            if isinstance(msg, D2HReq) and msg.opcode is not D2HReqOpcode.CACHEFLUSHED:
                line, offset = divmod(msg.addr, LINE_BYTES)
                verdict = iommu.check(device, hpa_of(line) + offset, msg.opcode)
                if not verdict.allowed:  # answered with an error (GO-Err), the line untouched
                    self.blocked.append(msg)
                    receive(device, msg, verdict.reason)
                    return
            receive(device, msg)

        home.receive = guarded  # type: ignore[method-assign]


@dataclass(frozen=True)
class Outcome:
    scenario: str
    policy: Policy
    leaked: bool
    evidence: str
    denials: tuple[Denial, ...] = ()

    @property
    def verdict(self) -> str:
        return "leaked" if self.leaked else "blocked"


def _iommu(policy: Policy) -> Iommu:
    iommu = Iommu(policy=policy)
    iommu.attach(DEVICE)
    iommu.map(DEVICE, DEVICE_IOVA, hpa_of(0))  # the device's own buffer: hot line 0
    return iommu


def _read(sc: GuardedScenario, line: int) -> int | None:
    got = [v for name, v in sc.completions(f"dev{DEVICE}") if name.endswith(f"({line})")]
    return got[-1] if got else None


def never_granted(policy: Policy) -> Outcome:
    """The device reads a host line whose page it was never granted (RdCurr)."""
    iommu = _iommu(policy)
    secret = op(CoreOp.Store, 1)
    sc = GuardedScenario(iommu, core0=[secret])
    sc.run()
    sc.add("dev0", op(Dev.LoadCur, 1))
    sc.finish()  # nothing hangs: a refused load completes, as failed
    got = _read(sc, 1)
    leaked = got == secret.value
    failed = sum(1 for c in sc.done if c.agent == "dev0" and c.failed)
    evidence = (
        f"device read {got}"
        if got is not None
        else f"no data reached the device ({failed} load failed with GO-Err)"
    )
    return Outcome("address never granted", policy, leaked, evidence, tuple(iommu.denials))


def stale_translation(policy: Policy) -> Outcome:
    """The device keeps using an HPA after its invalidation completed and the host reused the
    frame for a secret (a device that ignores its ATC's invalidation)."""
    iommu = _iommu(policy)
    iova = DEVICE_IOVA + 0x1000
    iommu.map(DEVICE, iova, hpa_of(1))
    atc = Atc()
    atc.request(AtcRequest(0, iova >> PAGE_SHIFT, 0, 1))
    cpl = iommu.translate(DEVICE, AtsTranslationReq(requester_id=DEVICE, addr=iova)).completion
    stale_hpa = atc.complete(TranslationCompletion.from_message(cpl)).responses[0].page
    inv = iommu.unmap(DEVICE, iova)
    assert inv is not None
    done = atc.invalidate(InvalidateRequest.from_message(inv)).invalidations[0]
    iommu.invalidation_complete(DEVICE, done.completion.to_message(DEVICE))
    assert not atc.translations()  # the ATC forgot it; the device uses the HPA anyway
    line = ((stale_hpa << PAGE_SHIFT) - HOT_BASE) >> PAGE_SHIFT
    secret = op(CoreOp.Store, line)  # the host reuses the frame
    sc = GuardedScenario(iommu, core0=[secret])
    sc.run()
    sc.add("dev0", op(Dev.LoadCur, line))
    sc.run()
    got = _read(sc, line)
    evidence = f"device read {got}" if got is not None else "no data reached the device"
    return Outcome(
        "translation used after its invalidation completed",
        policy,
        got == secret.value,
        evidence,
        tuple(iommu.denials),
    )


def write_read_only(policy: Policy) -> Outcome:
    """The device writes (WrCur) a page it was granted read-only."""
    iommu = _iommu(policy)
    iommu.map(DEVICE, DEVICE_IOVA + 0x1000, hpa_of(1), w=False)
    kept = op(CoreOp.Store, 1)
    sc = GuardedScenario(iommu, core0=[kept, op(CoreOp.Evict, 1)])
    sc.run()
    sc.add("dev0", op(Dev.StoreWrCur, 1))
    sc.run()
    memory = sc.system.home.entry(1).memory
    return Outcome(
        "write to a read-only page",
        policy,
        memory != kept.value,
        f"memory holds {memory} (host wrote {kept.value})",
        tuple(iommu.denials),
    )


def cache_on_io_only(policy: Policy) -> Outcome:
    """The device caches (RdShared) a page whose translation has the CXL.io-only bit."""
    iommu = _iommu(policy)
    iommu.map(DEVICE, DEVICE_IOVA + 0x1000, hpa_of(1), io=True)
    secret = op(CoreOp.Store, 1)
    sc = GuardedScenario(iommu, core0=[secret])
    sc.run()
    sc.add("dev0", op(Dev.LoadShared, 1))
    sc.run()
    got, state = _read(sc, 1), sc.state("dev0", 1)
    core = sc.state("core0", 1)
    return Outcome(
        "CXL.cache request to a CXL.io-only page",
        policy,
        got == secret.value or state in ("S", "E", "M") or core != "M",
        f"device line {state} holding {got}, host core line {core}",
        tuple(iommu.denials),
    )


def unbound_ld(policy: Policy) -> Outcome:
    """A host forges the LD-ID of a pooled Type-3 LD bound to another host (timed fabric)."""
    from slugsim.components import HostParams, LogicalDevice, Type3Params
    from slugsim.fabric import SystemBuilder
    from slugsim.fabric.params import HdmWindow, WorkloadParams
    from slugsim.sim import elaborate, run_system
    from slugsim.sim.graphs import CXL_BASE, GIB

    window = HdmWindow(base=CXL_BASE, size=GIB, targets=("mem0",))
    workload = WorkloadParams(kind="pointer_chase", footprint=GIB, requests=50)
    lds = (LogicalDevice(0, "host0", 32 * GIB), LogicalDevice(1, "host1", 32 * GIB))
    f = SystemBuilder().switch("sw0").type3("mem0", Type3Params(lds=lds))
    for h in ("host0", "host1"):
        f.host(h, HostParams(hdm=(window,), workload=workload)).link(h, "sw0")
    system = elaborate(f.link("sw0", "mem0").build())
    system.components["host1"].targets[0].ld_id = 0  # host1 claims host0's LD
    stats, _ = run_system(system)
    refused = system.components["mem0"].violations
    seen = system.components["host1"].violations
    forged = stats["hosts"]["host1"]["issued"]
    return Outcome(
        "host reaching a pooled LD it is not bound to",
        policy,
        refused != forged,
        f"Type-3 refused {refused}/{forged} forged reads with poisoned MemData-NXM, host1 "
        f"counted {seen}; enforced by the Type-3's LD binding, not the IOMMU policy",
    )


ATTACKS: tuple[Callable[[Policy], Outcome], ...] = (
    never_granted,
    stale_translation,
    write_read_only,
    cache_on_io_only,
)
"""The IOMMU attacks of this bench; ``unbound_ld`` (timed already) is in ``isolation_timed``."""
