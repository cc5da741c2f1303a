"""A CXL Type-2 device: an accelerator with a coherent cache and memory of its own (HDM-D).

The cache is the Type-1 device's (``coherent_device.CoherentDevice``). By default its memory
is in host bias: the host reaches it over CXL.mem as it reaches a Type-3 device's (an HDM window
names the device; ``MemRd`` gets a DRS ``MemData``, ``MemWr`` an NDR ``Cmp``, CXL_REFERENCE.md
§2.4), and the device's own cache reaches it through the host: its D2H requests go to the home
agent, which reads the line over CXL.mem like any other HDM line. With ``coherence: hdm_d`` the
memory is HDM-D instead (issue 12, ``devmem_timing.TimedBias``): a bias table, predictor
flips, and the device's own accesses local in device bias or through the host (D2H RdCurr /
WOWrInv completed by MemRdFwd / MemWrFwd, §3.1) in host bias. Memory is a bandwidth server
(``components/dram.py``) behind the controller, with the Type-3 defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..contract import UPSTREAM, PortSpec, component
from ..cxl import S2MDRS, S2MNDR, M2SReq, S2MDRSOpcode, S2MNDROpcode
from ..fabric.params import doc
from ..kernel import NS, Port
from .coherent_device import CoherentDevice, coherent_device_schema
from .coherent_params import Type1Params, coherent_device_issues
from .dram import DramChannel

if TYPE_CHECKING:
    from .devmem_timing import TimedBias

_drs = S2MDRS.unchecked("opcode", "tag", "dpid")
_ndr = S2MNDR.unchecked("opcode", "tag", "dpid")
_MEMDATA = S2MDRSOpcode.MEMDATA
_CMP = S2MNDROpcode.CMP


@dataclass(frozen=True)
class Type2Params(Type1Params):
    capacity: int = field(default=16 << 30, metadata=doc("device memory", unit="size", ge=1))
    # The Type-3 defaults (components/type3.py): Vistara's expander datapath, 75 ns each way,
    # and 55 ns of DRAM (CXL_REFERENCE.md §7b); the Type-2 device's memory controller is
    # assumed to be alike.
    controller_latency: int = field(
        default=75 * NS, metadata=doc("memory controller/PHY latency each way", unit="time")
    )
    dram_latency: int = field(default=55 * NS, metadata=doc("device DRAM access", unit="time"))
    # Two DDR4-2400 channels, as the Type-3 default (§7b).
    dram_bandwidth: int = field(
        default=38_400 * 10**6, metadata=doc("device DRAM bandwidth", unit="bandwidth", ge=1)
    )
    # Issue 12: HDM-D, device-coherent memory with bias (CXL_REFERENCE.md §3.1), one host
    # (components/devmem_timing.py). The device's own accesses are the device_* engine's.
    coherence: Literal["host_bias", "hdm_d"] = field(
        default="host_bias",
        metadata=doc("memory always in host bias (CXL.cache path), or HDM-D with bias flips"),
    )
    page_lines: int = field(default=64, metadata=doc("HDM-D: lines per bias page", ge=1))
    # Assumption: 64 x 4 pages of bias cache (no public figure).
    bias_sets: int = field(
        default=64, metadata=doc("HDM-D: bias cache sets (a power of two)", ge=1, le=1 << 20)
    )
    bias_ways: int = field(
        default=4, metadata=doc("HDM-D: bias cache ways (a power of two)", ge=1, le=64)
    )
    predictor: int = field(
        default=0,
        metadata=doc(
            "HDM-D: flip a page to device bias after this many accesses through the "
            "host (0: never, the page stays in host bias)",
            ge=0,
        ),
    )
    device_ops: int = field(
        default=0, metadata=doc("HDM-D: accesses the device makes to its memory", ge=0)
    )
    device_op_interval: int = field(
        default=100 * NS,
        metadata=doc("HDM-D: time between the device's accesses", unit="time", ge=1),
    )
    device_store_ratio: float = field(
        default=0.5,
        metadata=doc("HDM-D: fraction of the device's accesses that are stores", ge=0.0, le=1.0),
    )
    device_footprint: int = field(
        default=64 << 10,
        metadata=doc("HDM-D: the lines the device accesses (from line 0)", unit="size", ge=64),
    )


def _type2_schema() -> dict[str, Any]:
    from ..stats.schema import INT, NUM, described

    schema = coherent_device_schema(
        "one Type-2 device",
        {
            "mem_reads": described(INT, "CXL.mem MemRd received (host bias)"),
            "mem_writes": described(INT, "CXL.mem MemWr received"),
            "dram_utilisation": described(NUM, "busy fraction of the device DRAM"),
        },
    )
    from .devmem_timing import bias_schema

    schema["properties"]["bias"] = bias_schema()  # HDM-D devices only
    return schema


@component(
    "type2",
    params=Type2Params,
    ports=(PortSpec("usp", UPSTREAM, {"mem", "cache", "io"}, max_links=1, doc="upstream port"),),
    section="devices",
    stats_schema=_type2_schema,  # type: ignore[arg-type]
    memory=True,
)
class Type2Device(CoherentDevice):
    """A CXL Type-2 accelerator: a coherent cache and device memory in host bias."""

    def build(self) -> None:
        super().build()
        params: Type2Params = self.params
        self.dram = DramChannel(params.dram_latency, params.dram_bandwidth)
        self.mem_reads = 0
        self.mem_writes = 0
        self.mem_ports: dict[int, Port] = {}  # host PID -> the port its responses leave by
        self.bias: TimedBias | None = None  # HDM-D: the DCOH, from connect()

    def connect(self) -> None:
        super().connect()
        if self.params.coherence == "hdm_d" and self.home is not None:
            from .devmem_timing import TimedBias

            self.bias = TimedBias(self, self.home)

    def start(self) -> None:
        super().start()
        if self.bias is not None:
            self.bias.start()

    def on_memory(self, msg: Any) -> None:
        """An M2S request from a host: a read is answered with MemData, a write with Cmp
        (HDM-D: it crosses the controller to the DCOH instead)."""
        if self.bias is not None:
            self.sim.schedule(self.params.controller_latency, self.bias.arrive, msg)
            return
        host = msg.spid
        port = self.mem_ports.get(host)
        if port is None:
            port = self.mem_ports[host] = self.fabric.port_towards_pid(self.name, host)
        latency = self.params.controller_latency
        arrived = self.sim.now + latency
        if msg.__class__ is M2SReq:
            self.mem_reads += 1
            ready = self.dram.access(arrived) + latency
            self.sim.schedule_at(ready, port.send, _drs(_MEMDATA, msg.tag, host))
        else:
            self.mem_writes += 1
            accepted = self.dram.write(arrived) + latency
            self.sim.schedule_at(accepted, port.send, _ndr(_CMP, msg.tag, host))

    def stats(self, elapsed: int) -> dict[str, Any]:
        bias = {} if self.bias is None else {"bias": self.bias.stats(elapsed)}
        return {
            **bias,
            **super().stats(elapsed),
            "mem_reads": self.mem_reads,
            "mem_writes": self.mem_writes,
            "dram_utilisation": round(self.dram.busy_ps / elapsed, 6) if elapsed else 0.0,
        }

    @classmethod
    def check(cls, graph: Any, name: str, params: Any, place: Callable[[tuple], Any]) -> list[Any]:
        issues = coherent_device_issues(graph, name, params, place)
        if params.coherence == "hdm_d":
            from .devmem_timing import hdm_d_device_issues

            issues += hdm_d_device_issues(graph, name, params, place)
        return issues
