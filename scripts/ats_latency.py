#!/usr/bin/env python3
"""Invalidation latency in a timed run, and the PRI fault latency composed from the IOMMU model
and the measured CXL.io round trip.

    PYTHONPATH=models python scripts/ats_latency.py

Invalidation: a host, a switch and ``acc0`` (type1, 16 KiB cache, ATS with a 64-entry ATC,
4 KiB pages) streaming once over 64 pages (4096 line reads). Every 2 µs the script has the host
unmap a page the device has finished with (two pages behind the one it is reading, so no
operation still uses it): the IOMMU sends an Invalidate Request, the device's ATC drops the
entry and, once every response made before it has left the ATC, the device sends the Invalidate
Completion. Measured: host sends the Invalidate Request -> the host receives its completion,
while the device's CXL.cache stream loads the same links. Also measured: the Translation
Request -> Completion time at the device for a translation that hits the host's IOTLB, which is
the CXL.io round trip plus 3 ns.

PRI fault (the timed model has no PRI yet: a fault there is an error): composed from the
untimed ``Iommu``: Translation Request on a reserved page (completion R = W = 0), Page Request
(PRG Response Success), Translation Request again, each with one CXL.io round trip as measured
above (assumption: a Page Request / PRG Response pair crosses the fabric like a Translation
Request / Completion pair). Figures printed last.
"""

from __future__ import annotations

from statistics import mean

from slugsim.ats.iommu import Iommu
from slugsim.components import DeviceWorkloadParams, Type1Params
from slugsim.components.coherent_params import DeviceAtsParams
from slugsim.cxl import AtsPageReq, AtsTranslationReq
from slugsim.fabric import SystemBuilder
from slugsim.fabric.params import LinkParams, RunOptions, SwitchParams
from slugsim.kernel.units import NS
from slugsim.sim import elaborate
from slugsim.sim.runner import collect, simulate

BASE = 4 << 30
PAGES = 64
PROBE = 2000 * NS


def run(invalidate: bool) -> tuple[list[float], dict]:
    workload = DeviceWorkloadParams(
        kind="stream_read", base=BASE, footprint=PAGES * 4096, requests=PAGES * 64
    )
    ats = DeviceAtsParams(atc_entries=64, atc_ways=4)
    builder = SystemBuilder(RunOptions(seed=1))
    builder.host("host0").switch("sw0", SwitchParams(ports=8)).link("host0", "sw0")
    params = Type1Params(cache_size=16 << 10, workload=workload, ats=ats)
    builder.component("acc0", "type1", params).link("sw0", "acc0", LinkParams())
    system = elaborate(builder.build())
    system.start()
    sim = system.sim
    host, device = system.components["host0"], system.components["acc0"]
    iommu, pid = host.iommu, device.pid or 0
    port = host.ats_ports[pid]
    sent: dict[int, int] = {}
    latencies: list[float] = []
    unmapped: set[int] = set()
    complete = iommu.invalidation_complete

    def on_complete(dev, cpl):  # the host's handler of the device's Invalidate Completion
        for itag in range(32):
            if cpl.itag_vector >> itag & 1 and itag in sent:
                latencies.append((sim.now - sent.pop(itag)) / NS)
        return complete(dev, cpl)

    iommu.invalidation_complete = on_complete

    def probe() -> None:
        program = device.program
        if program is None or program.issued >= program.requests:
            return
        page = (program.base_line + program.position) >> 6
        victim = page - 2
        if victim >= BASE >> 12 and victim not in unmapped:
            unmapped.add(victim)
            req = iommu.unmap(pid, victim << 12)
            assert req is not None
            sent[req.itag] = sim.now
            port.send(req)
        sim.schedule(PROBE, probe)

    if invalidate:
        sim.schedule(PROBE, probe)
    outcome = simulate(system, False, None)
    stats = collect(system, outcome.info)
    return latencies, stats


def pri_fault(round_trip_ns: float) -> dict[str, float]:
    iommu = Iommu()
    iommu.attach(1)
    iommu.add_frames(0x1_0000, 1)
    iova = 0x7000_0000
    iommu.reserve(1, iova)
    first = iommu.translate(1, AtsTranslationReq(requester_id=1, tag=0, addr=iova))
    assert first.completion.read == 0 and first.completion.write == 0
    fault = iommu.page_request(1, AtsPageReq(requester_id=1, addr=iova, read=1, write=1))
    assert fault.response.code == 0, fault.response
    second = iommu.translate(1, AtsTranslationReq(requester_id=1, tag=1, addr=iova))
    assert second.completion.read == 1
    steps = {
        "translation (R = W = 0), at the IOMMU": first.latency / NS,
        "Page Request -> PRG Response, at the IOMMU": fault.latency / NS,
        "translation again, at the IOMMU": second.latency / NS,
        "3 CXL.io round trips": 3 * round_trip_ns,
    }
    steps["PRI fault, total"] = sum(steps.values())
    return steps


def main() -> None:
    _, quiet = run(invalidate=False)
    latencies, stats = run(invalidate=True)
    for name, result in (("without invalidations", quiet), ("with invalidations", stats)):
        print(f"{name}: device ats {result['devices']['acc0']['ats']}")
        print(f"{name}: host ats {result['hosts']['host0']['ats']}")
    print(f"invalidation latencies (ns): {[round(x, 1) for x in latencies]}")
    # Without invalidations the stream's misses all walk (64-entry ATC, one pass): miss wait =
    # 523 ns at the IOMMU + the CXL.io round trip.
    ats = quiet["devices"]["acc0"]["ats"]
    round_trip = ats["miss_latency_ns"] - (3 + 4 * 130)
    busy = stats["devices"]["acc0"]["ats"]
    pri = pri_fault(round_trip)
    print()
    print("| figure | ns |")
    print("|---|---|")
    print(
        f"| invalidation, host sends Invalidate Request -> receives the Completion "
        f"({len(latencies)} under a CXL.cache stream): mean / min / max | "
        f"{mean(latencies):.1f} / {min(latencies):.1f} / {max(latencies):.1f} |"
    )
    wait = ats["miss_latency_ns"]
    print(f"| translation miss wait at the device (walk at the host) | {wait:.1f} |")
    print(
        f"| ... the same run with the invalidations ({busy['translation_requests']} "
        f"Translation Requests instead of {ats['translation_requests']}) | "
        f"{busy['miss_latency_ns']:.1f} |"
    )
    print(f"| CXL.io round trip (miss wait - 523 ns IOMMU) | {round_trip:.1f} |")
    for name, value in pri.items():
        print(f"| PRI: {name} | {value:.1f} |")


if __name__ == "__main__":
    main()
