"""The host's translation agent in time: ``slugsim.ats.iommu.Iommu`` inside a ``host``.

A host builds one when a coherent device it is home to translates (``params.ats``). The untimed
``Iommu`` decides; this part schedules its answers and is the host's door for translated
requests:

- **Grants.** Each translating device is attached with its Invalidate Queue Depth and its
  workload span mapped one to one (IOVA = HPA), read-write, with 4 KiB or 2 MiB pages. With
  ``fault_every`` n, every n-th 4 KiB page is only reserved: the device's first touch gets a
  Translation Completion with R = W = 0, sends a Page Request, and the agent makes the page
  resident in its own frame after the fault latency (PRG Response Success).
- **Answers.** Translation Completions and PRG Responses leave after the latency the
  ``Iommu`` returns (IOTLB lookup, walk, fault service); an Invalidate Completion retires its
  ITags at once and sends queued Invalidate Requests.
- **Software unmap/remap.** With ``unmap_interval``, host software unmaps ``unmap_batch``
  mappings of the device's span every interval, round robin, while the device's program runs:
  each unmap sends an Invalidate Request (or waits for a free slot of the device's queue); a
  4 KiB page stays in the device's space, not resident (a touch meanwhile takes a PRI fault),
  and is made resident again in the same frame when its completion arrives. The time from the
  unmap to the completion is the invalidation latency (queue wait included).
- **Translated requests.** Every D2H request of an attached device is checked
  (``Iommu.check``) before the home agent sees it. A refused one is dropped, logged (device,
  HPA, reason, opcode, time) and counted per device and per host; under ``trust_translated``
  every one passes. The refused request goes to the home agent marked refused, which answers
  it with an error (CXL_REFERENCE.md §1.3/§1.4: GO-Err, with all-ones data flagged GO-Err for
  a read; GO_ERR_WritePull for a write, whose data it drops) without touching the line; the
  device completes the operation as failed and goes on.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..ats.iommu import LARGE_SHIFT, PAGE_SHIFT, Iommu, Mapping
from ..cxl import AtsInvalidationCpl, AtsPageReq, AtsTranslationReq, D2HReqOpcode
from ..stats.histogram import LatencyHistogram

CACHEFLUSHED = D2HReqOpcode.CACHEFLUSHED
DENIAL_LOG = 16  # refusals kept with their details in stats.json (all are counted)


class TimedTranslationAgent:
    def __init__(self, host: Any, devices: list[Any]) -> None:
        self.host = host
        self.sim = host.sim
        self.iommu = Iommu(policy=host.params.iommu_policy, denial_log=DENIAL_LOG)
        self.ports: dict[int, Any] = {}
        self.names: dict[int, str] = {}
        self.devices: dict[int, Any] = {}
        self.churn: dict[int, list[int]] = {}  # pid -> IOVA pages of its mappings, in order
        self.cursor: dict[int, int] = {}
        self.unmapped_at: dict[tuple[int, int], int] = {}  # (pid, IOVA page) -> unmap time
        self.invalidation_latency = LatencyHistogram()
        self.denied_at: list[int] = []  # time of each logged denial
        self.refused_by: dict[int, Counter[str]] = {}  # pid -> refusals by reason
        for device in devices:
            self._attach(device)

    def _attach(self, device: Any) -> None:
        pid = device.pid or 0
        ats = device.params.ats
        iommu = self.iommu
        iommu.attach(pid, ats.invalidate_queue_depth)
        self.refused_by[pid] = Counter()
        self.ports[pid] = self.host.fabric.port_towards(self.host.name, device.name)
        self.names[pid] = device.name
        self.devices[pid] = device
        workload = device.params.workload
        if workload is None:
            return
        shift = LARGE_SHIFT if ats.large_pages else PAGE_SHIFT
        first = workload.base >> shift
        last = (workload.base + workload.footprint - 1) >> shift
        pages = []
        for number, page in enumerate(range(first, last + 1)):
            addr = page << shift
            pages.append(addr >> PAGE_SHIFT)
            if ats.fault_every and shift == PAGE_SHIFT and number % ats.fault_every == 0:
                iommu.reserve(pid, addr, hpa=addr)  # swapped out; PRI reads it back in place
            else:
                iommu.map(pid, addr, addr, large=shift == LARGE_SHIFT)
        if ats.unmap_interval:
            self.churn[pid] = pages
            self.cursor[pid] = 0

    def start(self) -> None:
        for pid in self.churn:
            interval = self.devices[pid].params.ats.unmap_interval
            self.sim.schedule(interval, self._unmap_some, pid)

    # -- software ------------------------------------------------------------------------------

    def _unmap_some(self, pid: int) -> None:
        device = self.devices[pid]
        if not device.running():
            return
        ats = device.params.ats
        ctx = self.iommu.devices[pid]
        pages = self.churn[pid]
        for _ in range(min(ats.unmap_batch, len(pages))):
            page = pages[self.cursor[pid]]
            self.cursor[pid] = (self.cursor[pid] + 1) % len(pages)
            mapping = ctx.table.get(page)
            if mapping is None or not mapping.resident or (pid, page) in self.unmapped_at:
                continue  # not resident yet (PRI), or its last unmap is still outstanding
            self.unmapped_at[pid, page] = self.sim.now
            self.unmap(pid, page << PAGE_SHIFT)
            # the page stays in the space, not resident: a touch meanwhile takes a PRI fault
            # (4 KiB pages only: the parameter check refuses unmap_interval with large_pages)
            self.iommu.reserve(pid, page << PAGE_SHIFT, hpa=mapping.hpa << PAGE_SHIFT)
        self.sim.schedule(ats.unmap_interval, self._unmap_some, pid)

    def unmap(self, pid: int, iova: int) -> None:
        """Software unmaps the mapping holding ``iova``: its Invalidate Request goes now or
        when the device's queue has room."""
        request = self.iommu.unmap(pid, iova)
        if request is not None:
            self.ports[pid].send(request)

    # -- the devices' messages -----------------------------------------------------------------

    def receive(self, msg: Any) -> None:
        iommu = self.iommu
        pid = msg.requester_id
        port = self.ports[pid]
        cls = msg.__class__
        if cls is AtsTranslationReq:
            done = iommu.translate(pid, msg)
            self.sim.schedule(done.latency, port.send, done.completion)
        elif cls is AtsPageReq:
            answer = iommu.page_request(pid, msg)
            self.sim.schedule(answer.latency, port.send, answer.response)
        elif cls is AtsInvalidationCpl:
            ctx = iommu.devices[pid]
            retired: list[Mapping] = [
                ctx.inflight[t].mapping
                for t in range(32)
                if msg.itag_vector >> t & 1 and t in ctx.inflight
            ]
            for request in iommu.invalidation_complete(pid, msg):
                port.send(request)
            for mapping in retired:
                started = self.unmapped_at.pop((pid, mapping.iova), None)
                if started is None:
                    continue  # not ours (a script's unmap): software maps it again, or not
                self.invalidation_latency.record(self.sim.now - started)
                iova = mapping.iova << PAGE_SHIFT
                if not ctx.table[mapping.iova].resident:  # not faulted back in meanwhile
                    iommu.make_resident(pid, iova)
        else:
            raise AssertionError(f"{self.host.name}: unexpected {cls.__name__}")

    def admit(self, msg: Any) -> bool:
        """Whether a D2H request may reach the home agent (False: refused, logged, counted)."""
        pid = msg.spid
        if pid not in self.iommu.devices or msg.opcode is CACHEFLUSHED:
            return True  # a device that does not translate; CacheFlushed has no address
        logged = len(self.iommu.denials)
        verdict = self.iommu.check(pid, msg.addr, msg.opcode)
        if verdict.allowed:
            return True
        if len(self.iommu.denials) > logged:
            self.denied_at.append(self.sim.now)
        self.refused_by[pid][verdict.reason] += 1
        # answered, not dropped: the home agent sends the error response (GO-Err)
        self.host.home_agent.receive(msg, refused=verdict.reason)
        return False

    # -- stats ---------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        iommu = self.iommu
        c = iommu.counters
        latency = self.invalidation_latency
        return {
            "policy": iommu.policy.value,
            "translations": c.translations,
            "iotlb_hits": c.iotlb_hits,
            "walks": c.walks,
            "unsupported": c.unsupported,
            "page_requests": c.page_requests,
            "prg_success": c.prg_success,
            "prg_invalid": c.prg_invalid,
            "prg_failure": c.prg_failure,
            "invalidations_sent": c.invalidations_sent,
            "invalidations_queued": c.invalidations_queued,
            "invalidations_completed": c.invalidations_completed,
            "invalidation_latency_ns": round(latency.mean() / 1000, 3) if latency else 0.0,
            "checked": c.checked,
            "blocked": c.blocked,
            "trusted": c.trusted,
            "devices": {
                self.names[pid]: {
                    "checked": ctx.checked,
                    "blocked": ctx.blocked,
                    "blocked_by_reason": dict(sorted(self.refused_by[pid].items())),
                }
                for pid, ctx in sorted(iommu.devices.items(), key=lambda x: self.names[x[0]])
            },
            "denials": [
                {
                    "device": self.names[d.device],
                    "addr": f"{d.addr:#x}",
                    "reason": d.reason,
                    "opcode": d.opcode,
                    "time_ns": round(t / 1000, 3),
                }
                for d, t in zip(iommu.denials, self.denied_at, strict=False)
            ],
        }


def translation_agent_schema() -> dict[str, Any]:
    from ..stats.schema import INT, NUM, STRING, described, map_of, obj

    denial = obj(
        {
            "device": described(STRING, "the device that sent it"),
            "addr": described(STRING, "its HPA (hex)"),
            "reason": described(STRING, "ungranted, read_only, io_only or write_only"),
            "opcode": described(STRING, "its D2H opcode"),
            "time_ns": described(NUM, "when the host refused it"),
        },
        "one refused translated request",
    )
    return obj(
        {
            "policy": described(STRING, "check or trust_translated"),
            "translations": described(INT, "Translation Requests answered"),
            "iotlb_hits": described(INT, "... from the IOTLB"),
            "walks": described(INT, "... by a page walk"),
            "unsupported": described(INT, "... with Unsupported Request (no mapping)"),
            "page_requests": described(INT, "Page Requests (PRI) answered"),
            "prg_success": described(INT, "... with PRG Response Success"),
            "prg_invalid": described(INT, "... with Invalid Request"),
            "prg_failure": described(INT, "... with Response Failure"),
            "invalidations_sent": described(INT, "Invalidate Requests sent"),
            "invalidations_queued": described(
                INT, "... that waited for a slot of the device's Invalidate Queue Depth"
            ),
            "invalidations_completed": described(INT, "Invalidate Completions received"),
            "invalidation_latency_ns": described(
                NUM, "mean time from a software unmap to its completion (unmap_interval)"
            ),
            "checked": described(INT, "translated D2H requests checked"),
            "blocked": described(INT, "... refused (policy check)"),
            "trusted": described(INT, "... let through unchecked (policy trust_translated)"),
            "devices": map_of(
                obj(
                    {
                        "checked": described(INT, "its D2H requests checked"),
                        "blocked": described(INT, "... refused (answered with GO-Err)"),
                        "blocked_by_reason": map_of(
                            described(INT, "requests"),
                            "... by reason: ungranted, read_only, io_only, write_only",
                        ),
                    },
                    "one translating device",
                ),
                "by device",
            ),
            "denials": described(
                {"type": "array", "items": denial},
                f"the first {DENIAL_LOG} refused requests",
            ),
        },
        "the host's translation agent (only when a device it is home to uses ATS)",
    )
