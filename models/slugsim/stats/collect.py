"""Gather the counters of an elaborated, simulated system into the ``stats.json`` dict.

Everything here is deterministic for a given seed and topology (no wall-clock time), and floats
are rounded (ns to the picosecond, fractions to 6 digits) so the JSON is byte-identical run to run.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

from .latency import ns, summarise
from .schema import SCHEMA_ID

_LINE = 64


@dataclass(frozen=True)
class RunInfo:
    seed: int
    sim_time: int  # ps the statistics cover
    stop: str  # "quiescent" | "requests" | "stop_time" | "deadlock"
    events: int


def _frac(value: float) -> float:
    return round(value, 6)


def _gbps(lines: int, elapsed_ps: int) -> float:
    # bytes per ps * 1000 = GB/s (10^9 B/s)
    return round(lines * _LINE * 1000 / elapsed_ps, 3) if elapsed_ps > 0 else 0.0


def latency_samples(system: Any) -> dict[str, dict[str, array[int]]]:
    """class -> path -> samples merged over hosts (hosts in name order, so merges are stable)."""
    merged: dict[str, dict[str, array[int]]] = {}
    for name in sorted(system.hosts):
        for (cls, path), samples in system.hosts[name].samples.items():
            if samples:
                merged.setdefault(cls, {}).setdefault(path, array("q")).extend(samples)
    return merged


def collect(system: Any, info: RunInfo) -> dict[str, Any]:
    elapsed = info.sim_time
    latency: dict[str, Any] = {}
    cxl_reads = local_reads = 0
    for cls, paths in sorted(latency_samples(system).items()):
        for path, samples in paths.items():
            if path.startswith("cxl:"):
                cxl_reads += len(samples)
            elif path == "local":
                local_reads += len(samples)
        everything = array("q")
        for samples in paths.values():
            everything.extend(samples)
        latency[cls] = {
            "all": summarise(everything),
            "paths": {path: summarise(samples) for path, samples in sorted(paths.items())},
        }

    hosts: dict[str, Any] = {}
    cxl_writes = completed = 0
    for name, host in sorted(system.hosts.items()):
        completed += host.completed
        cxl_writes += sum(host.target_writebacks)
        hosts[name] = {
            "issued": host.issued,
            "completed": host.completed,
            "llc_hits": host.llc.hits,
            "llc_misses": host.llc.misses,
            "llc_writebacks": host.llc.writebacks,
            "local_reads": host.local_reads,
            "local_rfo": host.local_writes,
            "local_writebacks": host.local_writebacks,
            "local_dram_utilisation": _frac(host.dram.busy_ps / elapsed) if elapsed else 0.0,
            "violations": host.violations,
            "cxl": {
                t.name: {
                    "reads": host.target_reads[i],
                    "rfo": host.target_rfo[i],
                    "writebacks": host.target_writebacks[i],
                }
                for i, t in sorted(enumerate(host.targets), key=lambda it: it[1].name)
            },
        }

    devices: dict[str, Any] = {}
    for name, dev in sorted(system.devices.items()):
        dram = dev.dram
        devices[name] = {
            "reads": dev.reads,
            "writes": dev.writes,
            "violations": dev.violations,
            "dram_utilisation": _frac(dram.busy_ps / elapsed) if elapsed else 0.0,
            "dram_mean_queue_ns": ns(dram.queued_ps / dram.accesses) if dram.accesses else 0.0,
            "dram_turnaround": _frac(dram.turnaround_ps / elapsed) if elapsed else 0.0,
            "lds": {
                str(ld): {"reads": dev.ld_reads[ld], "writes": dev.ld_writes[ld]}
                for ld in range(len(dev.ld_reads))
                if dev.ld_reads[ld] or dev.ld_writes[ld]
            },
        }

    switches: dict[str, Any] = {}
    for name, switch in sorted(system.switches.items()):
        switches[name] = {
            "ports": {
                sp.name: {
                    "neighbour": sp.neighbour,
                    "received": sp.port.rx.messages,
                    "sent": sp.tx.messages,
                    "queued": sp.waited,
                    "mean_queue_ns": ns(sp.wait_ps / sp.tx.messages) if sp.tx.messages else 0.0,
                    "max_queue_ns": ns(sp.max_wait_ps),
                    "credit_stalls": sp.credit_stalls,
                    "max_backlog": sp.max_backlog,
                }
                for sp in sorted(switch.switch_ports, key=lambda sp: sp.name)
            }
        }

    links: dict[str, Any] = {}
    for name, link in sorted(system.links.items()):
        links[name] = {
            "ab": _channel(link.ab, elapsed),
            "ba": _channel(link.ba, elapsed),
        }

    return {
        "schema": SCHEMA_ID,
        "run": {
            "seed": info.seed,
            "sim_time_ns": ns(elapsed),
            "stop": info.stop,
            "requests": completed,
            "events": info.events,
            "unmodelled": sorted(system.unmodelled),
        },
        "latency": latency,
        "bandwidth": {
            "cxl_read_gbps": _gbps(cxl_reads, elapsed),
            "cxl_write_gbps": _gbps(cxl_writes, elapsed),
            "local_read_gbps": _gbps(local_reads, elapsed),
        },
        "hosts": hosts,
        "devices": devices,
        "switches": switches,
        "links": links,
    }


def _channel(channel: Any, elapsed: int) -> dict[str, Any]:
    return {
        "from": channel.src.owner.name,
        "to": channel.dst.owner.name,
        "messages": channel.messages,
        "bytes": channel.flits * channel.flit_bytes,
        "utilisation": _frac(channel.busy_ps / elapsed) if elapsed else 0.0,
    }
